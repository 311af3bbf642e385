// The price list (get_price, fmt=3) to rows with history: zones, per-operator codes and the
// e-mail price. Pure: no IO. An unreadable zone or code is refused on its own; the rest apply.
// A zone or code given twice is one entry when the prices agree, refused when they do not.
import { decimal, exactJson, storableJson, isPlainObject, optionalText, RowRejected, text } from '../values.ts';

export interface ZoneRow {
  readonly zone: string;
  readonly name: string | null;
  readonly api: string | null;
  readonly mass: string | null;
  readonly mms: string | null;
  readonly hlr: string | null;
  readonly call: string | null;
  readonly raw: string;
}

export interface CodeRow {
  readonly mccmnc: string;
  readonly mcc: string;
  readonly mnc: string;
  readonly cost: string;
  readonly raw: string;
}

export interface PriceSnapshot {
  readonly zones: readonly ZoneRow[];
  readonly codes: readonly CodeRow[];
  readonly mail: string | null;
  /** Keys of entries that could not be read: their current rows stay open. */
  readonly unreadableZones: readonly string[];
  readonly unreadableCodes: readonly string[];
  readonly rejected: readonly { readonly raw: string; readonly reason: string }[];
}

const price = (v: unknown, field: string) => (v === undefined || v === null || v === '' ? null : decimal(v, field));

export function normalizePrices(answer: unknown): PriceSnapshot {
  if (!isPlainObject(answer)) throw new RowRejected(`get_price: expected an object, got ${typeof answer}`);
  const rejected: { raw: string; reason: string }[] = [];
  const zones: ZoneRow[] = [];
  const codes: CodeRow[] = [];
  const unreadableZones: string[] = [];
  const unreadableCodes: string[] = [];
  for (const z of Array.isArray(answer.zones) ? answer.zones : []) {
    try {
      if (!isPlainObject(z)) throw new RowRejected('zone: expected an object');
      zones.push({
        zone: text(z.zone, 'zone').trim(),
        name: optionalText(z.name, 'name'),
        api: price(z.api, 'api'),
        mass: price(z.mass, 'mass'),
        mms: price(z.mms, 'mms'),
        hlr: price(z.hlr, 'hlr'),
        call: price(z.call, 'call'),
        raw: storableJson(z),
      });
    } catch (error) {
      if (!(error instanceof RowRejected)) throw error;
      const key = isPlainObject(z) && z.zone !== undefined ? String(z.zone) : undefined;
      if (key !== undefined) unreadableZones.push(key);
      rejected.push({ raw: exactJson(z), reason: `zone ${key ?? '?'}: ${error.message}` });
    }
  }
  for (const c of Array.isArray(answer.codes) ? answer.codes : []) {
    try {
      if (!isPlainObject(c)) throw new RowRejected('code: expected an object');
      const mccmnc = text(c.mccmnc, 'mccmnc').trim();
      if (!/^\d{5,6}$/.test(mccmnc)) throw new RowRejected(`mccmnc: expected 5 or 6 digits, got "${mccmnc.slice(0, 20)}"`);
      codes.push({ mccmnc, mcc: mccmnc.slice(0, 3), mnc: mccmnc.slice(3), cost: decimal(c.cost, 'cost'), raw: storableJson(c) });
    } catch (error) {
      if (!(error instanceof RowRejected)) throw error;
      const key = isPlainObject(c) && c.mccmnc !== undefined ? String(c.mccmnc) : undefined;
      if (key !== undefined) unreadableCodes.push(key);
      rejected.push({ raw: exactJson(c), reason: `code ${key ?? '?'}: ${error.message}` });
    }
  }
  const zoneEntries = distinctEntries(zones, (z) => z.zone, (z) => [z.name, z.api, z.mass, z.mms, z.hlr, z.call], 'zone', rejected);
  const codeEntries = distinctEntries(codes, (c) => c.mccmnc, (c) => [c.cost], 'code', rejected);
  unreadableZones.push(...zoneEntries.conflicting);
  unreadableCodes.push(...codeEntries.conflicting);
  let mail: string | null = null;
  try {
    mail = price(answer.mail, 'mail');
  } catch (error) {
    if (!(error instanceof RowRejected)) throw error;
    rejected.push({ raw: exactJson({ mail: answer.mail }), reason: error.message });
  }
  return { zones: zoneEntries.kept, codes: codeEntries.kept, mail, unreadableZones, unreadableCodes, rejected };
}

/**
 * One entry per key: a price list naming a zone (or an operator code) twice would open two
 * current rows for it, which the history's unique index refuses, failing the stream every
 * day. Repeats with the same prices are one entry; repeats that disagree cannot say which
 * price is right, so all of them go to rejected_rows and the key's current row stays open.
 */
function distinctEntries<T extends { readonly raw: string }>(
  entries: readonly T[],
  key: (e: T) => string,
  values: (e: T) => readonly (string | null)[],
  kind: string,
  rejected: { raw: string; reason: string }[],
): { kept: T[]; conflicting: string[] } {
  const byKey = new Map<string, T[]>();
  for (const e of entries) byKey.set(key(e), [...(byKey.get(key(e)) ?? []), e]);
  const kept: T[] = [];
  const conflicting: string[] = [];
  for (const [k, group] of byKey) {
    const distinct = new Set(group.map((e) => JSON.stringify(values(e))));
    if (distinct.size === 1) {
      kept.push(group[0]!);
      continue;
    }
    conflicting.push(k);
    for (const e of group) rejected.push({ raw: e.raw, reason: `${kind} ${k}: given ${group.length} times in one price list with different prices; the price held is kept` });
  }
  return { kept, conflicting };
}
