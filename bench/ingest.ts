// Ingest benchmark: a million outbound messages from the emulator through the client, the
// normalizer and the page commits into PostgreSQL, against the physical limit measured in
// the same run: a raw COPY FROM STDIN of the same rows into the same table.
//   (a) new rows: an empty warehouse, a first sync from --since;
//   (b) update path: the newest fifth again, every row already held and changed (status, err
//       and cost patched on the wire), the cursor reset so that the sync reads it all again.
// The emulator and the measured sync run in processes of their own (bench/emulator.ts,
// bench/pipeline.ts); the sync's peak RSS is its own.
//
//   npm run bench   (BENCH_MESSAGES=1000000, BENCH_DATABASE_URL=postgres://root@127.0.0.1:5432/postgres)
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { NODE_FLAGS } from '../bin/node-flags.js';
import { OUTBOUND_COLUMNS } from '../src/streams/store.ts';
import { openWarehouse } from '../src/warehouse/database.ts';
import { migrateToLatest } from '../src/warehouse/migrate.ts';
import type { Warehouse } from '../src/warehouse/schema.ts';
import { adminQuery, type Emulator, line, startEmulator, temporaryDatabase, writeResult } from './support.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
// Sends are at least a second apart in the emulator: 20 days keep a million well below that.
const DAYS = 20;
/** The update path re-reads this many newest days (about a fifth). */
const UPDATE_DAYS = 4;

export async function benchIngest(): Promise<Record<string, unknown>> {
  const start = Math.floor(Date.now() / 1000) * 1000;
  // A generated send is ~1.2 messages on average (some go to several numbers).
  const emulator = await startEmulator({ seed: 1, start, speed: 0, historyDays: DAYS, futureDays: 0, messagesPerDay: Math.ceil(MESSAGES / 1.2 / DAYS), unlimited: true });
  const database = await temporaryDatabase('ingest');
  const workDir = mkdtempSync(join(tmpdir(), 'smsc-bench-'));
  try {
    const warehouse = await openWarehouse<Warehouse>({ databaseUrl: database.url });
    await migrateToLatest(warehouse.db);
    const since = start - DAYS * 86_400_000;
    line(`ingest: ${emulator.messages.toLocaleString('en')} messages in the emulator over ${DAYS} days; PostgreSQL ${await adminQuery(database.url, 'SHOW server_version')}`);

    // (a) A first sync into the empty warehouse.
    const fresh = await runPipeline(emulator, database.url, since);
    const rows = fresh.inserted;
    if (rows < emulator.messages * 0.99) throw new Error(`the sync inserted ${rows} of ${emulator.messages} messages: ${JSON.stringify(fresh)}`);

    // The ceiling: the same rows, dumped as COPY text, copied raw into the same, emptied table.
    const copyFile = join(workDir, 'outbound.copy');
    await dumpRows(database.url, copyFile);
    await sql`TRUNCATE smsc.outbound_messages, smsc.outbound_status_changes`.execute(warehouse.db);
    const copySeconds = await copyRaw(database.url, copyFile);
    const ceiling = rows / copySeconds;
    line(`  raw COPY into outbound_messages (ceiling)  ${rate(rows, copySeconds)} rows/s  ${copySeconds.toFixed(1).padStart(6)} s               1.00`);
    line(`  sync, new rows                             ${rate(rows, fresh.seconds)} rows/s  ${fresh.seconds.toFixed(1).padStart(6)} s  ${String(fresh.peakRssMb).padStart(4)} MB RSS  ${(rows / fresh.seconds / ceiling).toFixed(2)}`);

    // (b) The newest days again, every row held and changed on the wire (the cursor forgotten,
    // so that the sync reads them all). A fifth of the million: rewriting every row of a
    // table eight times the size of shared_buffers is a disk benchmark, and a long one.
    await emulator.control('POST', '/__sandbox/faults', { kind: 'corruptRows', endpoint: 'get_messages', patch: { status: 20, err: 1, cost: '9.99' }, every: 1, rate: 1 });
    await sql`DELETE FROM smsc_internal.sync_state`.execute(warehouse.db);
    const updateSince = start - UPDATE_DAYS * 86_400_000;
    const expected = Number(await adminQuery(database.url, `SELECT count(*) FROM smsc.outbound_messages WHERE sent_at >= '${new Date(updateSince).toISOString()}'::timestamptz - interval '1 day'`));
    const changed = await runPipeline(emulator, database.url, updateSince);
    const updated = changed.updated;
    if (updated < expected * 0.8 || changed.inserted !== 0) throw new Error(`the update pass updated ${updated} rows (about ${expected} expected): ${JSON.stringify(changed)}`);
    line(`  sync, ${updated.toLocaleString('en')} rows held and changed      ${rate(updated, changed.seconds)} rows/s  ${changed.seconds.toFixed(1).padStart(6)} s  ${String(changed.peakRssMb).padStart(4)} MB RSS  ${(updated / changed.seconds / ceiling).toFixed(2)}`);
    await warehouse.close();
    return {
      rows,
      rawCopy: { rowsPerSecond: Math.round(ceiling), seconds: copySeconds },
      newRows: { rowsPerSecond: Math.round(rows / fresh.seconds), seconds: fresh.seconds, peakRssMb: fresh.peakRssMb, ratio: rows / fresh.seconds / ceiling, pages: fresh.pages },
      updatePath: { rows: updated, rowsPerSecond: Math.round(updated / changed.seconds), seconds: changed.seconds, peakRssMb: changed.peakRssMb, ratio: updated / changed.seconds / ceiling, pages: changed.pages },
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    await emulator.stop();
    await database.drop();
  }
}

const rate = (rows: number, seconds: number) => String(Math.round(rows / seconds)).padStart(8);
// (sent_day is written by the merge beside the API's columns: the raw COPY carries it too.)
const COPY_COLUMNS = ['account', ...OUTBOUND_COLUMNS, 'sent_day', 'first_seen_at', 'updated_at'];

/** The warehouse's history rows as COPY text. */
async function dumpRows(url: string, file: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await pipeline(client.query(copyTo(`COPY smsc.outbound_messages (${COPY_COLUMNS.join(', ')}) TO STDOUT`)), createWriteStream(file));
  } finally {
    await client.end();
  }
}

/** Seconds a raw COPY of the file into outbound_messages takes. */
async function copyRaw(url: string, file: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = performance.now();
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), client.query(copyFrom(`COPY smsc.outbound_messages (${COPY_COLUMNS.join(', ')}) FROM STDIN`)));
    return (performance.now() - t0) / 1000;
  } finally {
    await client.end();
  }
}

interface PipelineResult {
  readonly outcome: string;
  readonly inserted: number;
  readonly updated: number;
  readonly pages: number;
  readonly seconds: number;
  readonly peakRssMb: number;
}

async function runPipeline(emulator: Emulator, databaseUrl: string, since: number): Promise<PipelineResult> {
  // With the V8 flags the CLI runs with (bin/smsc-sync.js).
  const child = spawn(process.execPath, [...NODE_FLAGS, new URL('./pipeline.ts', import.meta.url).pathname, JSON.stringify({ sandboxUrl: emulator.url, databaseUrl, since })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`bench/pipeline.ts exited ${code}: ${out}`);
  const result = JSON.parse(out) as PipelineResult;
  if (result.outcome !== 'succeeded') throw new Error(`the measured sync did not succeed: ${out}`);
  return result;
}

if (import.meta.main) await writeResult('ingest', await benchIngest());
