// Short-link counters (tinyurls.php?get=1, fmt=3) to a daily snapshot row. Pure: no IO.
import { storableJson, int32, int64, isPlainObject, type Normalized, normalizeWith, optionalText, RowRejected } from '../values.ts';

export interface ShortLinkRow {
  readonly link_id: string;
  readonly day: string;
  readonly link: string | null;
  readonly cnt: number;
  readonly cnt_day: number;
  readonly cnt_yes: number;
  readonly cnt_mon: number;
  readonly cnt_pmon: number;
  readonly raw: string;
}

export function normalizeShortLink(raw: unknown, day: string): Normalized<ShortLinkRow> {
  return normalizeWith(() => {
    if (!isPlainObject(raw)) throw new RowRejected(`expected an object, got ${typeof raw}`);
    return {
      link_id: int64(raw.id, 'id'),
      day,
      link: optionalText(raw.link, 'link'),
      cnt: int32(raw.cnt, 'cnt'),
      cnt_day: int32(raw.cnt_day, 'cnt_day'),
      cnt_yes: int32(raw.cnt_yes, 'cnt_yes'),
      cnt_mon: int32(raw.cnt_mon, 'cnt_mon'),
      cnt_pmon: int32(raw.cnt_pmon, 'cnt_pmon'),
      raw: storableJson(raw),
    };
  });
}
