// Quota-efficiency benchmark: a simulated week of a busy account under the default outbound
// schedule (every 5 minutes), SMSC's quotas as they are (30 history requests an hour), the
// emulator's clock moved run by run. It reports:
//   - history requests spent, and how many were needed: a page is needed when it brought a
//     new or changed row into the warehouse, and each run needs one page per channel to see
//     that nothing is new (so: new rows ÷ 1000 per run, rounded up, plus the refresh pages
//     that found a change); efficiency = needed ÷ spent;
//   - error-9 answers and quota violations (must be 0);
//   - the lag between each event of a message (sent, every status change, every cost change)
//     and the first run after which the warehouse held it (from outbound_status_changes),
//     p50/p95/p99/max; events never held by the end count with their lag so far.
//
//   npm run bench   (BENCH_QUOTA_MESSAGES_PER_DAY=10000)
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { configWithDefaults } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { money } from '../src/sandbox/endpoints.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import { runSync } from '../src/sync/sync.ts';
import { openWarehouse } from '../src/warehouse/database.ts';
import { migrateToLatest } from '../src/warehouse/migrate.ts';
import type { Warehouse } from '../src/warehouse/schema.ts';
import { line, temporaryDatabase, writeResult } from './support.ts';

const PER_DAY = Number(process.env.BENCH_QUOTA_MESSAGES_PER_DAY ?? 10_000);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** (BENCH_QUOTA_DAYS shortens the week when trying changes.) */
const WEEK = Number(process.env.BENCH_QUOTA_DAYS ?? 7) * DAY;
const EVERY = 5 * MINUTE;

interface PageRecord {
  readonly runId: string;
  readonly channel: string;
  readonly walk: string;
  readonly written: number;
}

export async function benchQuota(): Promise<Record<string, unknown>> {
  // 1 June 2026, 00:00 Moscow: a fixed, reproducible week.
  const start = Date.UTC(2026, 4, 31, 21, 0);
  const clock = new SandboxClock({ start, speed: 0 });
  const sandbox = await startSandbox({ clock, seed: 7, world: { historyDays: 3, futureDays: 9, messagesPerDay: Math.round(PER_DAY / 1.3) } });
  const database = await temporaryDatabase('quota', { asyncCommit: true });
  const warehouse = await openWarehouse<Warehouse>({ databaseUrl: database.url });
  const pages: PageRecord[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        for (const text of String(chunk).split('\n')) {
          if (!text.includes('"page committed"')) continue;
          const r = JSON.parse(text) as PageRecord & { msg: string };
          pages.push({ runId: r.runId, channel: r.channel, walk: r.walk, written: r.written });
        }
        done();
      },
    }),
  });
  const config = configWithDefaults([{ name: 'busy', login: 'demo', password: 'demo', baseUrl: sandbox.url, timezone: 'Europe/Moscow' }], {
    databaseUrl: database.url,
    logLevel: 'debug',
  });
  const sync = () => runSync({ config, warehouse, logger, streams: ['outbound'], clock, since: new Date(start - 3 * DAY), client: { minBackoffMs: 5, maxBackoffMs: 50 } });
  try {
    await migrateToLatest(warehouse.db);
    // The first sync (3 days of history) is set-up, not measured.
    for (let i = 0; (await sync())[0]!.outcome !== 'succeeded'; i++) {
      if (i > 20) throw new Error('the first sync did not complete');
      clock.advance(10 * MINUTE);
    }
    // The week starts once the first sync's requests have left the rolling hour.
    const from = Math.ceil((clock.now() + HOUR) / EVERY) * EVERY;
    const until = from + WEEK;
    const requestsBefore = sandbox.requests.length;
    pages.length = 0;
    const t0 = performance.now();
    let runs = 0;
    let deferred = 0;
    for (let at = from; at < until; at += EVERY) {
      clock.set(at);
      const [run] = await sync();
      runs += 1;
      if (run!.outcome === 'deferred') deferred += 1;
      if (run!.outcome === 'failed') throw new Error(`run at ${new Date(at).toISOString()} failed: ${run!.error}`);
    }
    const seconds = (performance.now() - t0) / 1000;

    // Requests: spent, needed, refused.
    const history = sandbox.requests.slice(requestsBefore).filter((r) => r.endpoint === 'get_messages');
    const spent = history.length;
    const firstOfRun = new Set<string>();
    let needed = 0;
    for (const p of pages) {
      const key = `${p.runId}|${p.channel}`;
      const first = p.walk === 'top' && !firstOfRun.has(key);
      if (p.walk === 'top') firstOfRun.add(key);
      if (first || p.written > 0) needed += 1;
    }
    const byWalk: Record<string, { pages: number; written: number }> = {};
    for (const p of pages) {
      const k = `${p.channel} ${p.walk}`;
      byWalk[k] ??= { pages: 0, written: 0 };
      byWalk[k].pages += 1;
      if (p.written > 0) byWalk[k].written += 1;
    }
    const error9 = sandbox.requests.filter((r) => r.outcome === 'error 9').length;
    const times = history.map((r) => r.at);
    let busiestHour = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[j]! <= times[i]! - HOUR) j++;
      busiestHour = Math.max(busiestHour, i - j + 1);
    }

    // Lag of every event of the week (but its last hour) until the warehouse held it.
    const lags = await eventLags(sandbox.world.account('demo')!.messages, warehouse, from, until);
    const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]! / MINUTE;
    const figures = {
      messagesPerDay: PER_DAY,
      messagesInWeek: sandbox.world.account('demo')!.messages.filter((m) => m.sendTs >= from && m.sendTs < until).length,
      runs,
      deferredRuns: deferred,
      pagesByWalk: byWalk,
      historyRequests: { spent, needed, efficiency: needed / spent, busiestRollingHour: busiestHour, perHourAverage: spent / (WEEK / HOUR) },
      error9,
      quotaViolations: sandbox.quotas.violations.length,
      statusLagMinutes: { events: lags.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: lags.at(-1)! / MINUTE },
      simulationSeconds: seconds,
    };
    line(`quota: ${WEEK / DAY} days of a ${PER_DAY.toLocaleString('en')}-messages-a-day account, outbound every 5 minutes (${runs} runs, ${deferred} deferred, ${seconds.toFixed(0)} s)`);
    line(`  history requests: ${spent} spent, ${needed} needed, efficiency ${(needed / spent).toFixed(3)}; busiest rolling hour ${busiestHour}/30`);
    line(`  pages by walk (pages, with a write): ${Object.entries(byWalk).map(([k, v]) => `${k} ${v.pages}/${v.written}`).join(', ')}`);
    line(`  error 9: ${error9}; quota violations: ${sandbox.quotas.violations.length}`);
    line(`  status lag over ${lags.length.toLocaleString('en')} events: p50 ${q(0.5).toFixed(1)} min, p95 ${q(0.95).toFixed(1)} min, p99 ${q(0.99).toFixed(1)} min, max ${(lags.at(-1)! / MINUTE).toFixed(0)} min`);
    return figures;
  } finally {
    await warehouse.close();
    await sandbox.stop();
    await database.drop();
  }
}

/** Sorted lags (ms) of the events in [from, until − 1 h): sending, status and cost changes. */
async function eventLags(
  messages: readonly import('../src/sandbox/world.ts').WorldMessage[],
  warehouse: { db: import('kysely').Kysely<Warehouse> },
  from: number,
  until: number,
): Promise<number[]> {
  const seen = new Map<string, { status: number; cost: string; at: number }[]>();
  const rows = await sql<{ int_id: string; status: number; cost: string; seen_at: Date }>`
    SELECT int_id, status, cost::text AS cost, seen_at FROM smsc.outbound_status_changes WHERE account = 'busy' ORDER BY seen_at`.execute(warehouse.db);
  for (const r of rows.rows) {
    const list = seen.get(r.int_id) ?? [];
    list.push({ status: r.status, cost: r.cost, at: new Date(r.seen_at).getTime() });
    seen.set(r.int_id, list);
  }
  const end = until - HOUR;
  const lags: number[] = [];
  for (const m of messages) {
    if (m.sendTs >= end) break;
    const held = seen.get(m.intId.toString()) ?? [];
    // A status is held once the warehouse shows it or a later one.
    m.timeline.forEach((step, i) => {
      if (step.at < from || step.at >= end) return;
      const later = new Set(m.timeline.slice(i).map((s) => s.status));
      const arrival = held.find((h) => h.at >= step.at && later.has(h.status))?.at ?? until;
      lags.push(arrival - step.at);
    });
    m.costs.forEach((step, i) => {
      if (i === 0 || step.at < from || step.at >= end || step.cost === m.costs[i - 1]!.cost) return;
      const later = new Set(m.costs.slice(i).map((c) => money(c.cost)));
      const arrival = held.find((h) => h.at >= step.at && later.has(h.cost))?.at ?? until;
      lags.push(arrival - step.at);
    });
  }
  return lags.sort((a, b) => a - b);
}

if (import.meta.main) writeResult('quota', await benchQuota());
