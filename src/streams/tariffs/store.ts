// Tariff history: a snapshot closes the current row of every price that changed or vanished
// (valid_to = the snapshot's time) and opens a row for every price without a current one,
// so "the price on day D" is `valid_from <= D AND (valid_to IS NULL OR valid_to > D)`.
import { type Kysely, sql } from 'kysely';
import type { Warehouse } from '../../warehouse/schema.ts';
import type { CodeRow, PriceSnapshot, ZoneRow } from './normalize.ts';

export interface SnapshotCounts {
  /** Rows opened (new prices). */
  readonly opened: number;
  /** Rows closed (prices that changed or vanished). */
  readonly closed: number;
}

interface HistoryTable<Row> {
  readonly table: string;
  /** Column that tells entries apart; null for a table with one price per account. */
  readonly key: (keyof Row & string) | null;
  /** Columns whose change opens a new row. */
  readonly values: readonly (keyof Row & string)[];
  /** Columns stored but not compared. */
  readonly extra: readonly (keyof Row & string)[];
  readonly types: Readonly<Record<string, string>>;
}

const ZONES: HistoryTable<ZoneRow> = {
  table: 'smsc.tariff_zones',
  key: 'zone',
  values: ['name', 'api', 'mass', 'mms', 'hlr', 'call'],
  extra: ['raw'],
  types: { zone: 'text', name: 'text', api: 'numeric', mass: 'numeric', mms: 'numeric', hlr: 'numeric', call: 'numeric', raw: 'jsonb' },
};

const CODES: HistoryTable<CodeRow> = {
  table: 'smsc.tariff_operator_prices',
  key: 'mccmnc',
  values: ['cost'],
  extra: ['mcc', 'mnc', 'raw'],
  types: { mccmnc: 'text', mcc: 'text', mnc: 'text', cost: 'numeric', raw: 'jsonb' },
};

const EMAIL: HistoryTable<{ price: string }> = { table: 'smsc.tariff_email_prices', key: null, values: ['price'], extra: [], types: { price: 'numeric' } };

export async function applyPriceSnapshot(db: Kysely<Warehouse>, account: string, snapshot: PriceSnapshot, at: Date): Promise<SnapshotCounts> {
  const results = [
    await applyHistory(db, ZONES, account, snapshot.zones, snapshot.unreadableZones, at),
    await applyHistory(db, CODES, account, snapshot.codes, snapshot.unreadableCodes, at),
    // No e-mail price in the answer (or an unreadable one) closes nothing.
    snapshot.mail === null ? { opened: 0, closed: 0 } : await applyHistory(db, EMAIL, account, [{ price: snapshot.mail }], [], at),
  ];
  return { opened: results.reduce((s, r) => s + r.opened, 0), closed: results.reduce((s, r) => s + r.closed, 0) };
}

async function applyHistory<Row extends object>(
  db: Kysely<Warehouse>,
  t: HistoryTable<Row>,
  account: string,
  rows: readonly Row[],
  keep: readonly string[],
  at: Date,
): Promise<SnapshotCounts> {
  const columns = [...(t.key ? [t.key] : []), ...t.values, ...t.extra];
  const input = sql`SELECT * FROM unnest(${sql.join(columns.map((c) => sql`${rows.map((r) => (r as Record<string, unknown>)[c])}::${sql.raw(t.types[c]!)}[]`))}) AS i(${sql.raw(columns.join(', '))})`;
  const table = sql.raw(t.table);
  const sameKey = t.key ? sql`i.${sql.raw(t.key)} = t.${sql.raw(t.key)}` : sql`true`;
  const sameValues = sql.join(t.values.map((v) => sql`i.${sql.raw(v)} IS NOT DISTINCT FROM t.${sql.raw(v)}`), sql` AND `);
  const kept = t.key ? sql`AND t.${sql.raw(t.key)} <> ALL(${[...keep]}::text[])` : sql``;
  const closed = await sql`
    UPDATE ${table} t SET valid_to = ${at}
    WHERE t.account = ${account} AND t.valid_to IS NULL ${kept}
      AND NOT EXISTS (SELECT 1 FROM (${input}) i WHERE ${sameKey} AND ${sameValues})`.execute(db);
  const current = t.key ? sql`AND t.${sql.raw(t.key)} = i.${sql.raw(t.key)}` : sql``;
  const opened = await sql`
    INSERT INTO ${table} (account, ${sql.raw(columns.join(', '))}, valid_from)
    SELECT ${account}, i.*, ${at}::timestamptz FROM (${input}) i
    WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.account = ${account} AND t.valid_to IS NULL ${current})`.execute(db);
  return { opened: Number(opened.numAffectedRows ?? 0), closed: Number(closed.numAffectedRows ?? 0) };
}
