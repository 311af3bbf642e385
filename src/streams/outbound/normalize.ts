// Sent-message history rows (get_messages, fmt=3) to warehouse rows. Pure: no IO.
import { hash } from 'node:crypto';
import { EMAIL_FORMAT, isFinalStatus } from '../../smsc/codes.ts';
import { id64, instant, int32, isPlainObject, type Normalized, normalizeWith, optionalCount, optionalDecimal, optionalInstant, optionalInt32, optionalInt64, optionalText, RowRejected, storableJson, text } from '../values.ts';

/** A normalized history row, ready for `upsertOutbound`. */
export interface OutboundRow {
  readonly int_id: string;
  readonly message_id: string | null;
  readonly channel: 'sms' | 'email';
  readonly phone: string;
  readonly status: number;
  readonly status_name: string | null;
  readonly is_final: boolean;
  readonly err: number | null;
  readonly sent_at: Date;
  readonly status_changed_at: Date | null;
  readonly mccmnc: string | null;
  readonly mcc: string | null;
  readonly mnc: string | null;
  readonly country: string | null;
  readonly operator: string | null;
  readonly region: string | null;
  /** Null when SMSC gave no cost (unknown, not free). */
  readonly cost: string | null;
  readonly sender_id: string | null;
  readonly message: string;
  readonly type: number | null;
  readonly sms_cnt: number | null;
  readonly format: number;
  readonly crc: string | null;
  /** The API object as JSON text (64-bit integers exact). */
  readonly raw: string;
  /** SHA-1 of `raw` (hex). */
  readonly raw_sha1: string;
}


/**
 * Normalizes one history row. Dates are read in `timeZone` where no Unix timestamp is given;
 * `mccmnc` splits into MCC (3 digits) and MNC (the rest, as text); empty or 0 become nulls.
 * Fields the documentation does not list (`flag`, …) are kept in `raw` and never refuse a row.
 */
export function normalizeOutbound(raw: unknown, timeZone: string): Normalized<OutboundRow> {
  return normalizeWith(() => {
    if (!isPlainObject(raw)) throw new RowRejected(`expected an object, got ${Array.isArray(raw) ? 'a list' : typeof raw}`);
    const status = int32(raw.status, 'status');
    const format = optionalInt32(raw.format, 'format') ?? 0;
    const mccmnc = optionalText(raw.mccmnc, 'mccmnc')?.trim() ?? '';
    if (mccmnc !== '' && mccmnc !== '0' && !/^\d{5,6}$/.test(mccmnc)) throw new RowRejected(`mccmnc: expected 5 or 6 digits, got "${mccmnc.slice(0, 20)}"`);
    const known = mccmnc !== '' && mccmnc !== '0';
    const phone = text(raw.phone, 'phone').trim();
    if (phone === '') throw new RowRejected('phone: missing');
    return {
      int_id: id64(raw.int_id, 'int_id'),
      message_id: optionalInt64(raw.id, 'id'),
      channel: format === EMAIL_FORMAT ? 'email' : 'sms',
      phone,
      status,
      status_name: optionalText(raw.status_name, 'status_name'),
      is_final: isFinalStatus(status),
      err: optionalInt32(raw.err, 'err'),
      sent_at: instant(raw.send_timestamp, raw.send_date, timeZone, 'send_date'),
      status_changed_at: optionalInstant(raw.last_timestamp, raw.last_date, timeZone, 'last_date'),
      mccmnc: known ? mccmnc : null,
      mcc: known ? mccmnc.slice(0, 3) : null,
      mnc: known ? mccmnc.slice(3) : null,
      country: emptyToNull(optionalText(raw.country, 'country')),
      operator: emptyToNull(optionalText(raw.operator, 'operator')),
      region: emptyToNull(optionalText(raw.region, 'region')),
      // A missing cost is unknown, not a free message: NULL, so that sums and the
      // reconciliation do not count it as 0.
      cost: optionalDecimal(raw.cost, 'cost'),
      sender_id: optionalText(raw.sender_id, 'sender_id'),
      message: optionalText(raw.message, 'message') ?? '',
      type: optionalInt32(raw.type, 'type'),
      sms_cnt: optionalCount(raw.sms_cnt, 'sms_cnt'),
      format,
      crc: optionalInt64(raw.crc, 'crc'),
      // Last, so that a bad value in a field that is read is refused with the field's name.
      ...rawWithDigest(storableJson(raw)),
    };
  });
}

function rawWithDigest(raw: string): { raw: string; raw_sha1: string } {
  return { raw, raw_sha1: hash('sha1', raw) };
}

function emptyToNull(value: string | null): string | null {
  return value === null || value.trim() === '' ? null : value;
}
