// `smsc-sync demo`: the one-command trial. Starts the emulator, syncs every stream of its
// demo account into a warehouse of its own (embedded; DATABASE_URL only when the user asks), and
// prints a short report read back from the warehouse with SQL, and writes the HTML report.
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { type Config, configWithDefaults } from '../config.ts';
import type { Logger } from '../logger.ts';
import { writeReport } from '../report/write-report.ts';
import { SandboxClock } from '../sandbox/clock.ts';
import { startSandbox } from '../sandbox/server.ts';
import { STREAM_NAMES } from '../streams/names.ts';
import type { RunSummary } from '../sync/run-stream.ts';
import { runSync } from '../sync/sync.ts';
import { openWarehouse } from '../warehouse/database.ts';
import { migrateToLatest } from '../warehouse/migrate.ts';
import type { Warehouse } from '../warehouse/schema.ts';

/** The account name demo rows carry, so they never mix with a real account's. */
export const DEMO_ACCOUNT = 'sandbox-demo';

export interface DemoOptions {
  readonly config: Pick<Config, 'databaseUrl' | 'dataDir'>;
  readonly logger: Logger;
  readonly seed?: number;
  readonly out?: (line: string) => void;
}

export async function runDemo(options: DemoOptions): Promise<RunSummary[]> {
  const out = options.out ?? ((line: string) => console.log(line));
  const sandbox = await startSandbox({ clock: new SandboxClock(), seed: options.seed ?? 1, world: { historyDays: 30, futureDays: 30 } });
  const dataDir = join(options.config.dataDir, 'demo');
  const warehouse = await openWarehouse<Warehouse>({ databaseUrl: options.config.databaseUrl, dataDir });
  try {
    await migrateToLatest(warehouse.db);
    out(`SMSC emulator at ${sandbox.url}; warehouse: ${warehouse.kind === 'pglite' ? `embedded PGlite in ${dataDir}` : 'DATABASE_URL'}`);
    const summaries = await runSync({
      config: configWithDefaults(
        [
          {
            name: DEMO_ACCOUNT,
            login: 'demo',
            password: 'demo',
            baseUrl: sandbox.url,
            timezone: 'Europe/Moscow',
            shortLinks: [{ id: 145142 }, { link: 'https://clinic.example/visit' }],
          },
        ],
        { databaseUrl: options.config.databaseUrl, dataDir, logLevel: 'warn' },
      ),
      warehouse,
      logger: options.logger,
      streams: STREAM_NAMES,
    });
    out('\nSync:');
    for (const s of summaries) {
      out(`  ${s.stream.padEnd(12)} ${s.outcome.padEnd(9)} +${s.inserted} new, ${s.updated} updated, ${s.rejected} rejected, ${s.requests} requests`);
    }
    await report(warehouse.db, out);
    // The month so far as the page `smsc-sync report` writes, beside the demo's warehouse.
    const [page] = await writeReport(warehouse.db, { account: DEMO_ACCOUNT, dir: dataDir });
    out(`\nReport of this month (charts and tables): ${page}`);
    return summaries;
  } finally {
    await warehouse.close();
    await sandbox.stop();
  }
}

async function report(db: Kysely<Warehouse>, out: (line: string) => void): Promise<void> {
  const byStatus = await sql<{ status: string; messages: number; cost: string }>`
    SELECT coalesce(s.name, m.status::text) AS status, count(*)::int AS messages, sum(m.cost)::text AS cost
    FROM smsc.outbound_messages m LEFT JOIN smsc.status_codes s ON s.code = m.status
    WHERE m.account = ${DEMO_ACCOUNT} GROUP BY 1 ORDER BY 2 DESC`.execute(db);
  out('\nMessages by status:');
  for (const r of byStatus.rows) out(`  ${String(r.messages).padStart(6)}  ${r.status.padEnd(24)} ${r.cost.padStart(10)} RUB`);

  const perDay = await sql<{ day: string; messages: number; parts: number; cost: string }>`
    SELECT to_char(sent_at AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD') AS day, count(*)::int AS messages,
           sum(sms_cnt)::int AS parts, sum(cost)::text AS cost
    FROM smsc.outbound_messages WHERE account = ${DEMO_ACCOUNT} GROUP BY 1 ORDER BY 1 DESC LIMIT 7`.execute(db);
  out('\nCost per day (Moscow):');
  for (const r of perDay.rows) out(`  ${r.day}  ${String(r.messages).padStart(5)} messages  ${String(r.parts).padStart(5)} parts  ${r.cost.padStart(9)} RUB`);

  const replies = await sql<{ replies: number; senders: number; last: string | null }>`
    SELECT count(*)::int AS replies, count(DISTINCT phone)::int AS senders,
           to_char(max(received_at) AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') AS last
    FROM smsc.inbound_messages WHERE account = ${DEMO_ACCOUNT}`.execute(db);
  const r = replies.rows[0]!;
  out(`\nReplies: ${r.replies} from ${r.senders} numbers, the last at ${r.last ?? '-'}`);

  const stats = await sql<{ login: string; messages: number; credit: string; currency: string }>`
    SELECT login, sum(messages)::int AS messages, sum(credit)::text AS credit, min(currency) AS currency
    FROM smsc.daily_stats WHERE account = ${DEMO_ACCOUNT} GROUP BY login ORDER BY login`.execute(db);
  out('\nSpending per login (days read so far):');
  for (const s of stats.rows) out(`  ${s.login.padEnd(12)} ${String(s.messages).padStart(6)} messages  ${s.credit.padStart(10)} ${s.currency}`);
}
