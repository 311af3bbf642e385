// A balance.php answer (fmt=3, cur=1) to a balance_history row. Pure: no IO.
import { decimal, isPlainObject, type Normalized, normalizeWith, RowRejected, storableJson, text } from '../values.ts';

export interface BalanceRow {
  readonly sampled_at: Date;
  readonly balance: string;
  /** Null when SMSC left it out (cur=1 asks for it). */
  readonly currency: string | null;
  readonly raw: string;
}

export function normalizeBalance(raw: unknown, sampledAt: Date): Normalized<BalanceRow> {
  return normalizeWith(() => {
    if (!isPlainObject(raw)) throw new RowRejected(`expected an object, got ${typeof raw}`);
    let currency: string | null = null;
    if (raw.currency !== undefined && raw.currency !== null && raw.currency !== '') {
      currency = text(raw.currency, 'currency').trim().toUpperCase();
      if (!/^[A-Z]{3}$/.test(currency)) throw new RowRejected(`currency: expected a three-letter code, got "${currency.slice(0, 10)}"`);
    }
    return { sampled_at: sampledAt, balance: decimal(raw.balance, 'balance'), currency, raw: storableJson(raw) };
  });
}
