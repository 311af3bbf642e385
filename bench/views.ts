// Views benchmark: the reporting views on two million messages (a 10,000-a-day account over
// 200 days, with its status history, replies, statistics and balance samples), each filtered
// to the last 30 days as a dashboard tile is, timed three ways in the same run:
//   view     — the view as shipped (smsc.*), `WHERE day >= current_date - 30`;
//   baseline — the same figures written by hand against outbound_messages with a plain
//              indexed range on sent_at (account = … AND sent_at >= the 30 days' first instant);
//   before   — the view as migration 2026-12-04-13 left it (the day counted per row through
//              smsc.account_timezone()), recreated in schema bench_old beside the new ones.
// Each figure is the median of 5 runs after one warm-up (the "before" views: the better of 2).
// It also says whether the planner, left to itself, reads outbound_messages whole for a view.
//
//   npm run bench:views   (BENCH_VIEW_MESSAGES=2000000, BENCH_DATABASE_URL=postgres://root@127.0.0.1:5432/postgres)
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import pg from 'pg';
import { MIGRATIONS_DIR, migrateToLatest, SCHEMA } from '../src/warehouse/migrate.ts';
import { adminQuery, line, temporaryDatabase, writeResult } from './support.ts';

const MESSAGES = Number(process.env.BENCH_VIEW_MESSAGES ?? 2_000_000);
const PER_DAY = 10_000;
const ZONE = 'Europe/Moscow';
const BEFORE = '2026-12-04-13-column-comments';
const VIEWS = ['delivery_daily', 'delivery_latency_daily', 'reply_rate_daily', 'completeness_daily', 'cost_reconciliation_daily', 'cost_reconciliation_monthly'] as const;
type View = (typeof VIEWS)[number];

const FROM_DAY = 'current_date - 30';
const FROM_MONTH = `date_trunc('month', current_date - 30)::date`;
/** The first instant of a day given as an SQL date, for the baseline's range on sent_at. */
const instant = (day: string) => `((${day})::timestamp AT TIME ZONE '${ZONE}')`;
const LOCAL_DAY = `(m.sent_at AT TIME ZONE '${ZONE}')::date`;

function viewQuery(schema: string, view: View): string {
  return view === 'cost_reconciliation_monthly'
    ? `SELECT * FROM ${schema}.${view} WHERE month >= ${FROM_MONTH}`
    : `SELECT * FROM ${schema}.${view} WHERE day >= ${FROM_DAY}`;
}

/** The same figures, by hand, on the (account, sent_at) index. */
const BASELINE: Record<View, string> = {
  delivery_daily: `
    SELECT ${LOCAL_DAY} AS day, m.account, m.country, m.operator, m.sender_id, m.channel, count(*)::int AS sent,
           count(*) FILTER (WHERE m.status IN (1, 2, 4))::int AS delivered,
           count(*) FILTER (WHERE m.is_final AND m.status NOT IN (1, 2, 4))::int AS failed,
           count(*) FILTER (WHERE NOT m.is_final)::int AS pending, coalesce(sum(m.sms_cnt), 0)::int AS parts,
           sum(m.cost) AS cost, count(*) FILTER (WHERE m.cost IS NULL)::int AS cost_unknown, 'RUB' AS currency
    FROM smsc.outbound_messages m WHERE m.account = 'bench' AND m.sent_at >= ${instant(FROM_DAY)}
    GROUP BY 1, 2, 3, 4, 5, 6`,
  delivery_latency_daily: `
    SELECT ${LOCAL_DAY} AS day, m.account, m.channel, count(*)::int AS messages,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)::float8) AS p50_seconds,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)::float8) AS p90_seconds,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM f.final_at - m.sent_at)::float8) AS p99_seconds,
           max(extract(epoch FROM f.final_at - m.sent_at)) AS max_seconds
    FROM smsc.outbound_messages m
    CROSS JOIN LATERAL (SELECT min(c.changed_at) AS final_at FROM smsc.outbound_status_changes c JOIN smsc.status_codes s ON s.code = c.status AND s.is_final
                        WHERE c.account = m.account AND c.int_id = m.int_id) f
    WHERE m.account = 'bench' AND m.sent_at >= ${instant(FROM_DAY)} AND f.final_at IS NOT NULL
    GROUP BY 1, 2, 3`,
  reply_rate_daily: `
    SELECT ${LOCAL_DAY} AS day, m.account, m.sender_id, count(*)::int AS sent,
           count(*) FILTER (WHERE r.replies > 0)::int AS replied, coalesce(sum(r.replies), 0)::int AS replies,
           round(100.0 * count(*) FILTER (WHERE r.replies > 0) / count(*), 2) AS reply_rate_pct
    FROM smsc.outbound_messages m
    LEFT JOIN LATERAL (SELECT n.sent_at FROM smsc.outbound_messages n WHERE n.phone = m.phone AND (n.sent_at, n.int_id) > (m.sent_at, m.int_id) AND n.account = m.account
                       ORDER BY n.sent_at, n.int_id LIMIT 1) nx ON true
    CROSS JOIN LATERAL (SELECT count(*) AS replies FROM smsc.inbound_messages i WHERE i.phone = m.phone AND i.received_at >= m.sent_at AND i.account = m.account
                        AND (nx.sent_at IS NULL OR i.received_at < nx.sent_at)) r
    WHERE m.account = 'bench' AND m.sent_at >= ${instant(FROM_DAY)} AND m.channel = 'sms'
    GROUP BY 1, 2, 3`,
  completeness_daily: `
    WITH held AS (SELECT ${LOCAL_DAY} AS day, count(*)::int AS n FROM smsc.outbound_messages m
                  WHERE m.account = 'bench' AND m.sent_at >= ${instant(FROM_DAY)} AND m.sent_at < ${instant('current_date')} GROUP BY 1)
    SELECT s.day, s.account, coalesce(h.n, 0) AS messages_held, sum(s.messages)::int AS messages_reported
    FROM smsc.daily_stats s LEFT JOIN held h ON h.day = s.day
    WHERE s.account = 'bench' AND s.day >= ${FROM_DAY} AND s.day < current_date GROUP BY s.day, s.account, h.n`,
  cost_reconciliation_daily: `
    WITH costs AS (SELECT ${LOCAL_DAY} AS day, sum(m.cost) AS cost, count(*) FILTER (WHERE m.cost IS NULL)::int AS unknown FROM smsc.outbound_messages m
                   WHERE m.account = 'bench' AND m.sent_at >= ${instant(FROM_DAY)} AND m.sent_at < ${instant('current_date')} GROUP BY 1)
    SELECT s.day, s.account, s.login, sum(s.credit) AS stats_credit, c.cost AS messages_cost, sum(s.credit) - c.cost AS difference
    FROM smsc.daily_stats s LEFT JOIN costs c ON c.day = s.day
    WHERE s.account = 'bench' AND s.day >= ${FROM_DAY} AND s.day < current_date GROUP BY s.day, s.account, s.login, c.cost`,
  cost_reconciliation_monthly: `
    WITH costs AS (SELECT date_trunc('month', ${LOCAL_DAY})::date AS month, sum(m.cost) AS cost FROM smsc.outbound_messages m
                   WHERE m.account = 'bench' AND m.sent_at >= ${instant(FROM_MONTH)} AND m.sent_at < ${instant('current_date')} GROUP BY 1)
    SELECT date_trunc('month', s.day)::date AS month, s.account, s.login, sum(s.credit) AS spending, sum(s.debit) AS payments, c.cost AS messages_cost
    FROM smsc.daily_stats s LEFT JOIN costs c ON c.month = date_trunc('month', s.day)::date
    WHERE s.account = 'bench' AND s.day >= ${FROM_MONTH} AND s.day < current_date GROUP BY 1, 2, 3, c.cost`,
};

async function load(client: pg.Client): Promise<void> {
  const days = Math.ceil(MESSAGES / PER_DAY);
  await client.query(`INSERT INTO smsc.accounts (account, login, timezone, updated_at, host, currency) VALUES ('bench', 'bench', '${ZONE}', now(), 'smsc.ru', 'RUB')`);
  // Sends spread evenly over the days up to now; one number in five gets several messages;
  // the last hour's messages are still pending; 1 in 20 undeliverable; 1 in 50 an e-mail.
  await client.query(`
    INSERT INTO smsc.outbound_messages (account, int_id, message_id, channel, phone, status, status_name, is_final, err, sent_at,
      status_changed_at, mccmnc, mcc, mnc, country, operator, region, cost, sender_id, message, type, sms_cnt, format, raw,
      first_seen_at, updated_at, raw_sha1, sent_day)
    SELECT 'bench', 4000000000000000000 + g, g, ch, ph, st, CASE st WHEN 1 THEN 'Delivered' WHEN 20 THEN 'Undeliverable' ELSE 'Queued' END,
           st <> 0, CASE st WHEN 20 THEN 1 END, t, t + interval '30 seconds', '250' || op, '250', op, 'Russia',
           (ARRAY['MTS', 'Beeline', 'Megafon', 'Tele2', 'Yota'])[1 + g % 5], 'Moscow', round(1.5 + (g % 7) * 0.25, 2),
           (ARRAY['Shop', 'Bank', 'Taxi'])[1 + g % 3], 'Your code is ' || (g % 1000000) || ', valid for 10 minutes', 0, 1 + (g % 3 = 0)::int, 0,
           jsonb_build_object('int_id', (4000000000000000000 + g)::text, 'id', g, 'phone', ph, 'status', st, 'last_date', t::text,
                              'send_date', t::text, 'cost', round(1.5 + (g % 7) * 0.25, 2)::text, 'sender_id', 'Shop', 'sms_cnt', 1, 'format', 0),
           t, t, md5(g::text), (t AT TIME ZONE smsc.account_timezone('bench'))::date
    FROM generate_series(1, ${MESSAGES}) g,
         LATERAL (SELECT now() - make_interval(secs => (${MESSAGES} - g) * ${86_400 / PER_DAY}::float8)) s(t),
         LATERAL (SELECT CASE WHEN g % 50 = 0 THEN 'email' ELSE 'sms' END,
                         CASE WHEN g % 50 = 0 THEN 'user' || (g % 20000) || '@example.com'
                              WHEN g % 5 = 0 THEN '7916' || lpad((g % 30000)::text, 7, '0') ELSE '79' || lpad(g::text, 9, '0') END,
                         CASE WHEN t > now() - interval '1 hour' THEN 0 WHEN g % 20 = 0 THEN 20 ELSE 1 END,
                         lpad((1 + g % 20)::text, 2, '0')) x(ch, ph, st, op)`);
  await client.query(`
    INSERT INTO smsc.outbound_status_changes (account, int_id, status, changed_at, seen_at, err, cost, reason)
    SELECT account, int_id, status, sent_at + make_interval(secs => 5 + int_id % 600), sent_at + interval '5 minutes', err, cost, 'first_seen'
    FROM smsc.outbound_messages`);
  // A reply to one SMS in twenty, within an hour.
  await client.query(`
    INSERT INTO smsc.inbound_messages (account, id, phone, to_phone, message, received_at, sent_at, raw, first_seen_at)
    SELECT account, int_id - 4000000000000000000, phone, '79990000000', 'STOP', sent_at + make_interval(secs => 60 + int_id % 3600), NULL,
           jsonb_build_object('id', int_id - 4000000000000000000, 'phone', phone), now()
    FROM smsc.outbound_messages WHERE channel = 'sms' AND int_id % 20 = 7`);
  // SMSC's statistics agree with the messages (main balance), a payment on the 1st of each month;
  // a balance sample every hour.
  await client.query(`
    INSERT INTO smsc.daily_stats (account, login, day, balance, messages, credit, debit, currency, raw, first_seen_at, updated_at)
    SELECT 'bench', 'bench', sent_day, b, CASE b WHEN 'main' THEN count(*)::int ELSE 0 END, CASE b WHEN 'main' THEN sum(cost) ELSE 0 END,
           CASE WHEN b = 'main' AND extract(day FROM sent_day) = 1 THEN 500000 ELSE 0 END, 'RUB', '{}', now(), now()
    FROM smsc.outbound_messages, unnest(ARRAY['main', 'electronic']) b GROUP BY sent_day, b`);
  await client.query(`
    INSERT INTO smsc.balance_history (account, sampled_at, balance, currency, raw)
    SELECT 'bench', h, 1000000 - extract(epoch FROM h - (now() - interval '${days + 1} days')) / 10, 'RUB', '{}'
    FROM generate_series(now() - interval '${days + 1} days', now(), interval '1 hour') h`);
  await client.query('VACUUM ANALYZE');
}

async function timed(client: pg.Client, query: string, runs: number, pick: 'median' | 'min'): Promise<{ ms: number; rows: number }> {
  await client.query(query);
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    rows = (await client.query(query)).rowCount ?? 0;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: pick === 'min' ? times[0]! : times[Math.floor(times.length / 2)]!, rows };
}

/**
 * Whether the planner's own plan (sequential scans allowed) reads outbound_messages whole: a
 * sequential scan of it, or an index scan of it with no condition on the index.
 */
async function readsWhole(client: pg.Client, query: string): Promise<boolean> {
  const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${query}`);
  const whole = (node: any): boolean =>
    node['Relation Name'] === 'outbound_messages' &&
    (node['Node Type'] === 'Seq Scan' || (/Index/.test(node['Node Type']) && node['Index Cond'] === undefined));
  const walk = (node: any): boolean => whole(node) || (node.Plans ?? []).some(walk);
  return walk(rows[0]['QUERY PLAN'][0].Plan);
}

export async function benchViews(): Promise<Record<string, unknown>> {
  const database = await temporaryDatabase('views');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  const client = new pg.Client({ connectionString: database.url });
  try {
    // The warehouse as it was before the stored day, to keep its views for comparison.
    const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }), migrationTableSchema: SCHEMA });
    const { error } = await migrator.migrateTo(BEFORE);
    if (error) throw error;
    await client.connect();
    const before = new Map<View, string>();
    for (const view of VIEWS) before.set(view, (await client.query(`SELECT pg_get_viewdef('smsc.${view}'::regclass) AS d`)).rows[0].d);
    await migrateToLatest(db);
    await client.query('CREATE SCHEMA bench_old');
    for (const view of VIEWS) {
      await client.query(`CREATE VIEW bench_old.${view} AS ${before.get(view)!.replace(/smsc\.cost_reconciliation_daily/g, 'bench_old.cost_reconciliation_daily')}`);
    }

    const t0 = performance.now();
    await load(client);
    const loadSeconds = Math.round((performance.now() - t0) / 1000);
    const size = (await client.query(`SELECT pg_size_pretty(pg_total_relation_size('smsc.outbound_messages')) AS s, (SELECT count(*) FROM smsc.outbound_messages)::int AS n`)).rows[0];
    line(`views: ${size.n.toLocaleString('en')} messages (${size.s} with indexes), loaded in ${loadSeconds} s; PostgreSQL ${await adminQuery(database.url, 'SHOW server_version')}; zone ${ZONE}`);
    await client.query(`SET TimeZone = '${ZONE}'`);

    const figures: Record<string, unknown> = {};
    line('view (30-day filter)           rows   view ms  baseline ms  view/baseline  before ms  before/view  reads whole');
    for (const view of VIEWS) {
      const shipped = await timed(client, viewQuery('smsc', view), 5, 'median');
      const baseline = await timed(client, BASELINE[view], 5, 'median');
      const old = await timed(client, viewQuery('bench_old', view), 2, 'min');
      const whole = await readsWhole(client, viewQuery('smsc', view));
      const wholeBefore = await readsWhole(client, viewQuery('bench_old', view));
      figures[view] = { rows: shipped.rows, viewMs: shipped.ms, baselineMs: baseline.ms, beforeMs: old.ms, readsWhole: whole, readsWholeBefore: wholeBefore };
      line(
        `${view.padEnd(30)} ${String(shipped.rows).padStart(5)} ${shipped.ms.toFixed(1).padStart(9)} ${baseline.ms.toFixed(1).padStart(12)} ` +
          `${(shipped.ms / baseline.ms).toFixed(2).padStart(14)} ${old.ms.toFixed(0).padStart(10)} ${(old.ms / shipped.ms).toFixed(0).padStart(11)}x ` +
          `${(whole ? 'yes' : 'no').padStart(6)} (before: ${wholeBefore ? 'yes' : 'no'})`,
      );
    }
    return { messages: size.n, tableSize: size.s, loadSeconds, zone: ZONE, figures };
  } finally {
    await client.end().catch(() => {});
    await db.destroy();
    // BENCH_KEEP_DATABASE=1 leaves the database for a look at the plans (its URL is printed).
    if (process.env.BENCH_KEEP_DATABASE === '1') line(`kept: ${database.url}`);
    else await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchViews();
  writeResult('views', result);
}
