// Replies (get_answers, fmt=3) to warehouse rows. Pure: no IO.
import { storableJson, instant, id64, isPlainObject, type Normalized, normalizeWith, optionalInstant, optionalText, RowRejected, text } from '../values.ts';

export interface InboundRow {
  readonly id: string;
  readonly phone: string;
  readonly to_phone: string | null;
  readonly message: string;
  readonly received_at: Date;
  readonly sent_at: Date | null;
  readonly raw: string;
}

/**
 * Normalizes one reply; `received`/`sent` may be zone-local dates or Unix timestamps. Incoming
 * calls come as replies whose `message` is `[CALL]`: stored as they come (analysts filter
 * them); unknown fields are kept in `raw`.
 */
export function normalizeInbound(raw: unknown, timeZone: string): Normalized<InboundRow> {
  return normalizeWith(() => {
    if (!isPlainObject(raw)) throw new RowRejected(`expected an object, got ${Array.isArray(raw) ? 'a list' : typeof raw}`);
    const phone = text(raw.phone, 'phone').trim();
    if (phone === '') throw new RowRejected('phone: missing');
    return {
      id: id64(raw.id, 'id'),
      phone,
      to_phone: optionalText(raw.to_phone, 'to_phone'),
      message: optionalText(raw.message, 'message') ?? '',
      received_at: instant(undefined, raw.received, timeZone, 'received'),
      sent_at: optionalInstant(undefined, raw.sent, timeZone, 'sent'),
      // Last, so that a bad value in a field that is read is refused with the field's name.
      raw: storableJson(raw),
    };
  });
}
