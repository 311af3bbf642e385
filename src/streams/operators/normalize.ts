// Operator lookups (info.php?get_operator, fmt=3, one object per number) to phone_operators
// rows. Pure: no IO. A number SMSC does not know is stored as such (found = false).
import { storableJson, isPlainObject, type Normalized, normalizeWith, optionalInt32, optionalText, RowRejected, text } from '../values.ts';

export interface PhoneOperatorRow {
  readonly phone: string;
  readonly found: boolean;
  readonly country: string | null;
  readonly operator: string | null;
  readonly region: string | null;
  readonly mcc: string | null;
  readonly mnc: string | null;
  readonly tz: number | null;
  readonly raw: string;
}

/**
 * Normalizes one entry of a get_operator answer; `asked` is the number as it was asked, when
 * the entry was matched to it (SMSC may echo it as +7…): the row is stored under that number.
 */
export function normalizeOperator(raw: unknown, asked?: string): Normalized<PhoneOperatorRow> {
  return normalizeWith(() => {
    if (!isPlainObject(raw)) throw new RowRejected(`expected an object, got ${typeof raw}`);
    const phone = asked ?? text(raw.phone, 'phone').trim();
    if (!/^\d{7,15}$/.test(phone)) throw new RowRejected(`phone: expected digits, got "${phone.slice(0, 20)}"`);
    if (raw.error_code !== undefined) {
      if (Number(raw.error_code) !== 3) throw new RowRejected(`error_code: ${String(raw.error_code)} for this number`);
      return { phone, found: false, country: null, operator: null, region: null, mcc: null, mnc: null, tz: null, raw: storableJson(raw) };
    }
    // mcc and mnc are text: an MNC sent as the number 1 cannot be told from "01", so it is kept as sent.
    const code = (v: unknown, field: string) => {
      const s = optionalText(v, field)?.trim() ?? '';
      if (s !== '' && !/^\d{1,3}$/.test(s)) throw new RowRejected(`${field}: expected up to 3 digits, got "${s.slice(0, 10)}"`);
      return s === '' ? null : s;
    };
    return {
      phone,
      found: true,
      country: optionalText(raw.country, 'country'),
      operator: optionalText(raw.operator, 'operator'),
      region: optionalText(raw.region, 'region'),
      mcc: code(raw.mcc, 'mcc'),
      mnc: code(raw.mnc, 'mnc'),
      tz: optionalInt32(raw.tz, 'tz'),
      raw: storableJson(raw),
    };
  });
}
