// Statistics rows (get_stat, fmt=3: one per login) to daily_stats rows. Pure: no IO.
import { decimal, storableJson, int32, isPlainObject, type Normalized, normalizeWith, RowRejected, text } from '../values.ts';

export interface DailyStatsRow {
  readonly login: string;
  readonly day: string;
  readonly balance: 'main' | 'electronic';
  readonly messages: number;
  readonly credit: string;
  readonly debit: string;
  readonly currency: string;
  readonly raw: string;
}

export function normalizeStat(raw: unknown, day: string, balance: 'main' | 'electronic'): Normalized<DailyStatsRow> {
  return normalizeWith(() => {
    if (!isPlainObject(raw)) throw new RowRejected(`expected an object, got ${typeof raw}`);
    const login = text(raw.login, 'login').trim();
    if (login === '') throw new RowRejected('login: missing');
    const currency = text(raw.currency ?? '', 'currency').trim().toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) throw new RowRejected(`currency: expected a three-letter code, got "${currency.slice(0, 10)}"`);
    return {
      login,
      day,
      balance,
      messages: int32(raw.sms, 'sms'),
      credit: decimal(raw.credit, 'credit'),
      debit: decimal(raw.debit, 'debit'),
      currency,
      raw: storableJson(raw),
    };
  });
}
