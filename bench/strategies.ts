// Ingest benchmark: how fast normalized history rows reach outbound_messages, per strategy,
// against the physical limit measured in the same run (raw COPY FROM STDIN into the same
// table). Rows come from the emulator through its HTTP API and the normalizer, as in a sync.
//
//   npm run bench:strategies            (BENCH_ROWS=200000, BENCH_DATABASE_URL=postgres://root@127.0.0.1:5432/postgres)
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import { parseExactJson } from '../src/smsc/json.ts';
import { normalizeOutbound, type OutboundRow } from '../src/streams/outbound/normalize.ts';
import { copyText, mergeOutbound, OUTBOUND_COLUMNS, OUTBOUND_TYPES, upsertOutbound } from '../src/streams/store.ts';
import { openWarehouse } from '../src/warehouse/database.ts';
import { migrateToLatest } from '../src/warehouse/migrate.ts';
import type { Warehouse } from '../src/warehouse/schema.ts';
import { ADMIN_URL, adminQuery } from './support.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = 1000;
const ACCOUNT = 'bench';

async function main(): Promise<void> {
  const rows = await fetchRows(ROWS);
  const dbName = `smsc_bench_${randomBytes(3).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const warehouse = await openWarehouse<Warehouse>({ databaseUrl: url.toString() });
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const results: Record<string, { rowsPerSecond: number; seconds: number }> = {};
  try {
    await migrateToLatest(warehouse.db);
    const reset = () => sql`TRUNCATE smsc.outbound_messages, smsc.outbound_status_changes`.execute(warehouse.db);
    const measure = async (name: string, fn: () => Promise<void>) => {
      const t0 = performance.now();
      await fn();
      const seconds = (performance.now() - t0) / 1000;
      results[name] = { rowsPerSecond: Math.round(rows.length / seconds), seconds: Number(seconds.toFixed(2)) };
      console.log(`${name.padEnd(44)} ${String(results[name].rowsPerSecond).padStart(8)} rows/s  ${seconds.toFixed(1)} s`);
    };
    const seen = new Date();
    const later = new Date(seen.getTime() + 60_000);
    const changed = rows.map((r) => ({ ...r, status: r.status === 1 ? 20 : 1, cost: (Number(r.cost) + 0.01).toFixed(2) }));
    await client.query(
      `CREATE UNLOGGED TABLE IF NOT EXISTS smsc.bench_staging (${OUTBOUND_COLUMNS.map((c) => `${c} ${OUTBOUND_TYPES[c]}`).join(', ')})`,
    );

    console.log(`${rows.length} history rows, pages of ${BATCH}, PostgreSQL ${(await client.query('SHOW server_version')).rows[0].server_version}`);
    await reset();
    await measure('raw COPY into outbound_messages (ceiling)', () => copyRaw(client, rows, seen));

    await reset();
    await measure('unnest merge, new rows', () => batches(rows, (b) => warehouse.db.transaction().execute((trx) => upsertOutbound(trx, ACCOUNT, b, seen).then(() => {}))));
    await measure('unnest merge, identical replay', () => batches(rows, (b) => warehouse.db.transaction().execute((trx) => upsertOutbound(trx, ACCOUNT, b, later).then(() => {}))));
    await measure('unnest merge, every row changed', () => batches(changed, (b) => warehouse.db.transaction().execute((trx) => upsertOutbound(trx, ACCOUNT, b, later).then(() => {}))));

    await reset();
    const staged = (b: OutboundRow[], at: Date) => stagingMerge(client, warehouse.db, b, at);
    await measure('COPY to staging + merge, new rows', () => batches(rows, (b) => staged(b, seen)));
    await measure('COPY to staging + merge, identical replay', () => batches(rows, (b) => staged(b, later)));
    await measure('COPY to staging + merge, every row changed', () => batches(changed, (b) => staged(b, new Date(later.getTime() + 60_000))));

    const ceiling = results['raw COPY into outbound_messages (ceiling)']!.rowsPerSecond;
    console.log('\nratio to raw COPY:');
    for (const [name, r] of Object.entries(results)) console.log(`  ${name.padEnd(44)} ${(r.rowsPerSecond / ceiling).toFixed(2)}`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    const file = new URL(`./results/ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
    writeFileSync(file, JSON.stringify({ rows: rows.length, batch: BATCH, results, ratios: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.rowsPerSecond / ceiling])) }, null, 2));
    console.log(`\nwritten to ${file.pathname}`);
  } finally {
    await client.end();
    await warehouse.close();
    await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

/** History rows through the emulator's HTTP API and the normalizer, as a sync reads them. */
async function fetchRows(n: number): Promise<OutboundRow[]> {
  const days = 20;
  const sandbox = await startSandbox({
    clock: new SandboxClock({ speed: 0 }),
    world: { historyDays: days, futureDays: 0, messagesPerDay: Math.ceil((n * 1.12) / days) },
    limits: { historyPerHour: 1e9, identicalPerMinute: 1e9 },
  });
  const rows: OutboundRow[] = [];
  let prevId: string | undefined;
  try {
    while (rows.length < n) {
      const body = new URLSearchParams({ get_messages: '1', login: 'demo', psw: 'demo', fmt: '3', charset: 'utf-8', cnt: '1000', ...(prevId ? { prev_id: prevId } : {}) });
      const page = parseExactJson(await (await fetch(`${sandbox.url}/sys/get.php`, { method: 'POST', body })).text());
      if (!Array.isArray(page) || page.length === 0) break;
      for (const raw of page) {
        const r = normalizeOutbound(raw, 'Europe/Moscow');
        if ('row' in r) rows.push(r.row);
      }
      prevId = String((page.at(-1) as { int_id: string }).int_id);
    }
  } finally {
    await sandbox.stop();
  }
  return rows.slice(0, n);
}

async function batches(rows: readonly OutboundRow[], fn: (batch: OutboundRow[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) await fn(rows.slice(i, i + BATCH));
}

function copyRows(client: pg.Client, statement: string, chunks: Iterable<string>): Promise<void> {
  return pipeline(Readable.from(chunks), client.query(copyFrom(statement)));
}

async function copyRaw(client: pg.Client, rows: readonly OutboundRow[], at: Date): Promise<void> {
  // sent_day (written by the merge) is NOT NULL: the ceiling writes a day too (the UTC one;
  // the value does not change the cost).
  const columns = ['account', ...OUTBOUND_COLUMNS, 'sent_day', 'first_seen_at', 'updated_at'] as const;
  const chunks = (function* () {
    for (let i = 0; i < rows.length; i += BATCH) {
      yield copyText(
        rows.slice(i, i + BATCH).map((r) => ({ ...r, account: ACCOUNT, sent_day: new Date(r.sent_at).toISOString().slice(0, 10), first_seen_at: at, updated_at: at })),
        columns,
      );
    }
  })();
  await copyRows(client, `COPY smsc.outbound_messages (${columns.join(', ')}) FROM STDIN`, chunks);
}

/** One page: COPY into the unlogged staging table, then the same merge as the sync uses. */
async function stagingMerge(client: pg.Client, db: import('kysely').Kysely<Warehouse>, rows: readonly OutboundRow[], at: Date): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('TRUNCATE smsc.bench_staging');
    await copyRows(client, `COPY smsc.bench_staging (${OUTBOUND_COLUMNS.join(', ')}) FROM STDIN`, [copyText(rows, OUTBOUND_COLUMNS)]);
    const compiled = mergeOutbound(ACCOUNT, sql`SELECT * FROM smsc.bench_staging`, at).compile(db);
    await client.query(compiled.sql, compiled.parameters as unknown[]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

await main();
