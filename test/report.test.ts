// `smsc-sync report` on a month loaded from the emulator, run as the user runs it (the CLI, as a
// child process): the CSV files carry the figures SQL written here gives, and those the
// emulator's truth gives; the HTML page opens in a real headless chromium with every chart
// drawn, no error, no request, the same figures in its tables and marks, and a message text
// carrying markup shown as text.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../src/report/write-report.ts';
import type { Sandbox } from '../src/sandbox/server.ts';
import type { MessageView } from '../src/sandbox/world.ts';
import { childEnv, realClockEnv } from './helpers/child-env.ts';
import { type TestDatabase, testServerUrl } from './helpers/database.ts';
import { itNeedsServer } from './helpers/needs-server.ts';
import { daysFromTo, moneyText, zoneDay, zoneDayStart } from './helpers/oracle.ts';
import { T0, testSandbox } from './helpers/sandbox.ts';
import { syncOnce } from './helpers/sync.ts';
import { migratedDatabase } from './helpers/warehouse.ts';

const BIN = new URL('../bin/smsc-sync.js', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const TZ = 'Europe/Moscow';
const MONTH = '2026-06'; // T0 is 15 June 2026
const DAYS = daysFromTo('2026-06-01', '2026-06-30');
const INJECTED = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & "quoted", with a comma';

const INJECTED_SENDS = 200;

let database: TestDatabase;
let sandbox: Sandbox;
let truth: MessageView[];
let lostDay: string;
let work: string;
const db = () => database.warehouse.db;
const rows = async <T,>(query: string) => (await sql.raw<T>(query).execute(db())).rows;

beforeAll(async () => {
  database = await migratedDatabase('report');
  work = mkdtempSync(join(tmpdir(), 'smsc-report-'));
  // History from late May (outside the month: it must stay out) to T0, mid-June.
  sandbox = await testSandbox({ seed: 11, world: { historyDays: 20, futureDays: 0, messagesPerDay: 120 }, limits: { statsPerMinute: 1000, identicalPerMinute: 1000 } });
  // A campaign whose text is markup, sent often enough to be among the texts sent most: the
  // page must show it as text.
  for (let i = 0; i < INJECTED_SENDS; i++) sandbox.world.addMessage('demo', { sendTs: T0 + i * 1000, text: INJECTED });
  sandbox.clock.advance(INJECTED_SENDS * 1000 + 60_000);
  const since = new Date(zoneDayStart('2026-05-27', TZ));
  const config = { statsElectronic: true };
  await syncOnce(sandbox, database.warehouse, { streams: ['outbound'], since, config });
  const [stats] = await syncOnce(sandbox, database.warehouse, { streams: ['stats'], since, config, quota: { statsPerMinute: 1000, identicalPerMinute: 1000 } });
  expect(stats!.outcome).toBe('succeeded');
  // A message goes missing on a settled day: the reconciliation flags it, completeness shows the gap.
  lostDay = '2026-06-05';
  const all = sandbox.world.truth('demo', sandbox.clock.now());
  const lost = all.filter((v) => zoneDay(v.message.sendTs, TZ) === lostDay).sort((a, b) => b.cost - a.cost)[0]!;
  await sql`DELETE FROM smsc.outbound_messages WHERE int_id = ${lost.message.intId.toString()}`.execute(db());
  truth = all.filter((v) => v !== lost && zoneDay(v.message.sendTs, TZ).startsWith(MONTH));
}, 120_000);
afterAll(async () => {
  await sandbox?.stop();
  await database?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function report(args: string[], cwd = work) {
  const run = spawnSync(process.execPath, [BIN, 'report', ...args], { encoding: 'utf8', cwd, env: childEnv({ DATABASE_URL: database.url, SMSC_DATA_DIR: join(work, 'data') }), timeout: 60_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout.trim().split('\n');
}

/** RFC 4180, read independently of the module that writes it: header + records of fields. */
function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      (field = ''), (record = []), i++;
    } else field += c;
  }
  expect(field + record.join(''), 'the file ends with CRLF').toBe('');
  const [header, ...body] = records;
  return body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]!])));
}

/** SQL rows as CSV shows them: every value as text, null as empty. */
const asCsv = (list: Record<string, unknown>[]) => list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)])));

/** The month's messages per day, from the table itself (not the views the report reads). */
const DAILY_SQL = `
  SELECT to_char(g.d, 'YYYY-MM-DD') AS day, count(m.int_id)::int AS messages, coalesce(sum(m.sms_cnt), 0)::int AS parts,
         coalesce(sum(m.cost), 0)::text AS cost, count(m.int_id) FILTER (WHERE m.cost IS NULL)::int AS cost_unknown
  FROM generate_series('2026-06-01'::date, '2026-06-30'::date, interval '1 day') g(d)
  LEFT JOIN smsc.outbound_messages m ON m.account = 'demo' AND (m.sent_at AT TIME ZONE 'Europe/Moscow')::date = g.d
  GROUP BY g.d ORDER BY g.d`;
const OPERATOR_SQL = `
  SELECT coalesce(operator, CASE WHEN channel = 'email' THEN '(e-mail)' ELSE '(unknown)' END) AS operator, count(*)::int AS sent,
         count(*) FILTER (WHERE status IN (1, 2, 4))::int AS delivered, count(*) FILTER (WHERE is_final AND status NOT IN (1, 2, 4))::int AS failed,
         count(*) FILTER (WHERE NOT is_final)::int AS pending, coalesce(sum(cost), 0)::text AS cost
  FROM smsc.outbound_messages
  WHERE account = 'demo' AND sent_at >= '2026-06-01 00:00+03' AND sent_at < '2026-07-01 00:00+03'
  GROUP BY 1 ORDER BY sent DESC, 1`;
const RECONCILIATION_SQL = `
  SELECT day::text, login, currency, stats_credit::text, messages_cost::text, difference::text, difference_pct::text, messages_cost_unknown, flagged, own_login
  FROM smsc.cost_reconciliation_daily WHERE account = 'demo' AND day BETWEEN '2026-06-01' AND '2026-06-30' ORDER BY day, own_login DESC, login`;
const LATENCY_SQL = `
  SELECT day::text, channel, messages, round(p50_seconds::numeric, 1)::text AS p50_seconds, round(p90_seconds::numeric, 1)::text AS p90_seconds,
         round(p99_seconds::numeric, 1)::text AS p99_seconds, round(max_seconds::numeric, 1)::text AS max_seconds
  FROM smsc.delivery_latency_daily WHERE account = 'demo' AND day BETWEEN '2026-06-01' AND '2026-06-30' ORDER BY day, channel`;
const COMPLETENESS_SQL = `
  SELECT day::text, messages_held, messages_reported, gap FROM smsc.completeness_daily
  WHERE account = 'demo' AND day BETWEEN '2026-06-01' AND '2026-06-30' ORDER BY day`;

describe('smsc-sync report --csv', () => {
  itNeedsServer('the CLI runs as a child process and reaches the database through DATABASE_URL')('writes the month as CSV files whose figures equal SQL and the emulator', async () => {
    const dir = join(work, 'csv');
    const printed = report(['--account', 'demo', '--month', MONTH, '--csv', dir]);
    const names = ['daily', 'funnel-operator', 'funnel-sender', 'latency', 'reconciliation', 'reconciliation-month', 'completeness', 'texts'].map((t) => `smsc-report-demo-${MONTH}-${t}.csv`);
    expect(printed).toEqual(names.map((n) => join(dir, n)));
    expect(readdirSync(dir).sort()).toEqual([...names].sort());
    const file = (table: string) => readFileSync(join(dir, `smsc-report-demo-${MONTH}-${table}.csv`), 'utf8');
    {
      // Messages and cost per day: SQL on the table, and the emulator's truth.
      const daily = parseCsv(file('daily'));
      expect(file('daily').split('\r\n')[0]).toBe('day,messages,parts,cost,cost_unknown,currency');
      expect(daily.map(({ currency, ...r }) => r)).toEqual(asCsv(await rows(DAILY_SQL)));
      expect(new Set(daily.map((r) => r.currency))).toEqual(new Set(['RUB']));
      for (const day of DAYS) {
        const sent = truth.filter((v) => zoneDay(v.message.sendTs, TZ) === day);
        const row = daily.find((r) => r.day === day)!;
        expect([day, Number(row.messages)]).toEqual([day, sent.length]);
        if (sent.length > 0) expect([day, row.cost]).toEqual([day, moneyText(sent.reduce((s, v) => s + v.cost, 0))]);
      }
      expect(daily.filter((r) => r.day! > '2026-06-15').every((r) => r.messages === '0' && r.cost === '0')).toBe(true);

      expect(parseCsv(file('funnel-operator')).map(({ delivered_pct, currency, ...r }) => r)).toEqual(asCsv(await rows(OPERATOR_SQL)));
      const senders = parseCsv(file('funnel-sender'));
      expect(senders.reduce((s, r) => s + Number(r.sent), 0)).toBe(truth.length);
      for (const r of senders) expect([r.sender!, Number(r.sent)]).toEqual([r.sender, truth.filter((v) => v.message.sender === r.sender).length]);

      const reconciliation = parseCsv(file('reconciliation'));
      expect(reconciliation).toEqual(asCsv(await rows(RECONCILIATION_SQL)));
      expect(reconciliation.filter((r) => r.flagged === 'true').map((r) => r.day)).toEqual([lostDay]);
      expect(parseCsv(file('completeness'))).toEqual(asCsv(await rows(COMPLETENESS_SQL)));
      expect(parseCsv(file('latency'))).toEqual(asCsv(await rows(LATENCY_SQL)));
      // RFC 4180: the text with quotes and a comma is quoted, its quotes doubled, and reads back whole.
      expect(file('texts')).toContain(`\r\n"${INJECTED.replace(/"/g, '""')}",${INJECTED_SENDS},${INJECTED_SENDS},0,0,`);
      expect(parseCsv(file('texts')).find((r) => r.message === INJECTED)).toMatchObject({ sent: String(INJECTED_SENDS), delivered: String(INJECTED_SENDS) });
    }
  });

  itNeedsServer('the CLI runs as a child process')('reports every account the warehouse holds by default; refuses an unknown account, a bad month, and --out with --csv', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'report', ...args], { encoding: 'utf8', cwd: work, env: childEnv({ DATABASE_URL: database.url }), timeout: 60_000 });
    const unknown = run(['--account', 'nobody']);
    expect([unknown.status, unknown.stderr.trim()]).toEqual([2, "smsc-sync: the warehouse holds nothing of account 'nobody' (run smsc-sync sync first, or name one with --account); it holds: 'demo'"]);
    expect(run(['--month', '2026-13']).status).not.toBe(0);
    // A month that has begun nowhere yet is a typo: refused as a usage error, no file written.
    const future = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 7);
    const refused = run(['--month', `${Number(future.slice(0, 4)) + 1}${future.slice(4)}`]);
    expect([refused.status, refused.stderr]).toEqual([2, expect.stringContaining('has not begun yet')]);
    // No --account and none configured: every account the warehouse holds, each to its default file.
    const all = run(['--month', MONTH]);
    expect([all.status, all.stdout]).toEqual([0, `${join(work, `smsc-report-demo-${MONTH}.html`)}\n`]);
    expect(run(['--out', 'x.html', '--csv', 'dir']).status).not.toBe(0);
  });

  itNeedsServer('roles of its own on the server')("runs as the read-only role of grant-reader, which may not migrate, and writes the owner's figures", () => {
    const server = testServerUrl()!;
    const suffix = randomBytes(3).toString('hex');
    const [reader, login] = [`smsc_reader_${suffix}`, `finance_${suffix}`];
    const cli = (args: string[], url: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: work, env: childEnv({ DATABASE_URL: url }), timeout: 60_000 });
    try {
      expect(cli(['grant-reader', '--role', reader], database.url!).status).toBe(0);
      const asLogin = new URL(database.url!);
      asLogin.username = login;
      asLogin.password = 'choose-one';
      const created = spawnSync('psql', [database.url!, '-Atc', `CREATE ROLE ${login} LOGIN PASSWORD 'choose-one' IN ROLE ${reader}`], { encoding: 'utf8' });
      expect(created.status, created.stderr).toBe(0);
      const [asOwner, asReader] = [join(work, 'csv-owner'), join(work, 'csv-reader')];
      expect(cli(['report', '--month', MONTH, '--csv', asOwner], database.url!).status).toBe(0);
      const run = cli(['report', '--month', MONTH, '--csv', asReader], asLogin.toString());
      expect([run.status, run.stderr]).toEqual([0, '']);
      const files = readdirSync(asOwner).sort();
      expect(readdirSync(asReader).sort()).toEqual(files);
      for (const f of files) expect(readFileSync(join(asReader, f), 'utf8'), f).toBe(readFileSync(join(asOwner, f), 'utf8'));
    } finally {
      spawnSync('psql', [database.url!, '-c', `DROP OWNED BY ${reader}`], { encoding: 'utf8' });
      spawnSync('psql', [server, '-c', `DROP ROLE IF EXISTS ${login}`, '-c', `DROP ROLE IF EXISTS ${reader}`], { encoding: 'utf8' });
    }
  });
});

describe('writeReport', () => {
  it("is the month the account's zone shows now: Moscow's July starts at 21:00 UTC on 30 June", async () => {
    const dir = join(work, 'default-month');
    for (const iso of ['2026-06-30T20:59:59Z', '2026-06-30T21:00:00Z']) {
      const now = new Date(iso);
      const expected = zoneDay(now.getTime(), TZ).slice(0, 7);
      expect(await writeReport(db(), { account: 'demo', dir, now })).toEqual([join(dir, `smsc-report-demo-${expected}.html`)]);
    }
    expect(readdirSync(dir).sort()).toEqual(['smsc-report-demo-2026-06.html', 'smsc-report-demo-2026-07.html']);
  });

  it('writes a month without data as a page that says so', async () => {
    const [path] = await writeReport(db(), { account: 'demo', month: '2025-01', dir: join(work, 'empty') });
    const html = readFileSync(path!, 'utf8');
    expect(html).toContain('<dd id="total-messages">0</dd>');
    expect(html.match(/No messages sent this month\./g)?.length).toBe(3);
    expect(html).toContain('No message reached a final status this month.');
    expect(html).toContain('No daily statistics from SMSC are held for this month');
  });
});

const skipReason = !existsSync(CHROMIUM)
  ? `chromium is not installed at ${CHROMIUM} (apt-get install chromium)`
  : !testServerUrl()
    ? 'PGlite cannot run it: the CLI runs as a child process and reaches the database through DATABASE_URL'
    : undefined;

describe('smsc-sync report (HTML)', () => {
  it(
    'writes a self-contained page that chromium draws without a request or an error, showing the SQL figures and text as text',
    { skip: skipReason !== undefined, ...(skipReason ? { meta: { skipReason } } : {}) },
    async () => {
      const [path] = report(['--account', 'demo', '--month', MONTH]);
      expect(path).toBe(join(work, `smsc-report-demo-${MONTH}.html`));
      const html = readFileSync(path!, 'utf8');
      expect(html).not.toContain('<script');
      expect(html).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');

      const { chromium } = await import('playwright-core');
      // Chromium on the real clock: under scripts/test-times.sh the run's libfaketime would be
      // preloaded into it too, and its page loads then never end. The page has no script: the
      // browser's clock cannot change what it draws.
      const browser = await chromium.launch({ executablePath: CHROMIUM, env: realClockEnv() });
      try {
        const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
        const problems: string[] = [];
        page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
        page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
        page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
        page.on('request', (r) => r.url() !== pathToFileURL(path!).href && problems.push(`request: ${r.url()}`));
        await page.goto(pathToFileURL(path!).href, { waitUntil: 'load' });

        // Every chart drawn: an SVG of some size, with marks of some size in it.
        const charts = ['messages-chart', 'cost-chart', 'operator-chart', 'sender-chart', 'latency-sms-chart', 'reconciliation-chart', 'completeness-chart'];
        for (const id of charts) {
          const svg = page.locator(`svg#${id}`);
          expect(await svg.count(), id).toBe(1);
          const box = await svg.boundingBox();
          expect(box && box.width > 100 && box.height > 100, id).toBe(true);
          expect(await svg.locator('title').first().textContent(), id).toBeTruthy();
          const sized = await svg.locator('.mark').evaluateAll((marks) => marks.filter((m) => { const b = (m as unknown as { getBBox(): { width: number; height: number } }).getBBox(); return b.width > 0 && b.height > 0; }).length);
          expect(sized, id).toBeGreaterThan(0);
        }

        // The figures shown equal the SQL: the per-day table and the messages chart's marks.
        const expectedDaily = asCsv(await rows(DAILY_SQL));
        /** A table of the page as rows of its cells' text, keyed by column. */
        const shownTable = (id: string) =>
          page.locator(`#${id} tbody tr`).evaluateAll((trs) => trs.map((tr) => Object.fromEntries([...tr.children].map((c) => [c.getAttribute('data-col')!, c.textContent!]))));
        /** SQL rows as the page shows them: null as a dash, booleans as yes/no. */
        const asShown = (list: Record<string, unknown>[]) =>
          list.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '—' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v)])));
        expect(await shownTable('daily-table')).toEqual(expectedDaily);
        expect(await shownTable('reconciliation-table')).toEqual(asShown(await rows(RECONCILIATION_SQL)));
        expect(await shownTable('completeness-table')).toEqual(asShown(await rows(COMPLETENESS_SQL)));
        expect(await shownTable('latency-table')).toEqual(asShown(await rows(LATENCY_SQL)));
        const marks = await page.locator('svg#messages-chart .mark').evaluateAll((ms) => ms.map((m) => [m.getAttribute('data-category'), m.getAttribute('data-value')]));
        expect(marks).toEqual(expectedDaily.map((r) => [r.day, r.messages]));
        const costMarks = await page.locator('svg#cost-chart .mark').evaluateAll((ms) => ms.map((m) => m.getAttribute('data-value')));
        expect(costMarks).toEqual(expectedDaily.map((r) => r.cost));
        const [total] = await rows<{ messages: string; cost: string }>(`SELECT count(*)::text AS messages, sum(cost)::text AS cost FROM smsc.outbound_messages WHERE account = 'demo' AND sent_at >= '2026-06-01 00:00+03' AND sent_at < '2026-07-01 00:00+03'`);
        expect([await page.locator('#total-messages').textContent(), await page.locator('#total-cost').textContent()]).toEqual([total!.messages, total!.cost]);

        const operators = await page.locator('#operator-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 5).map((c) => c.textContent)));
        expect(operators).toEqual((await rows<Record<string, unknown>>(OPERATOR_SQL)).map((r) => [r.operator, r.sent, r.delivered, r.failed, r.pending].map(String)));

        // The reconciliation's flags and the completeness gaps: in the tables and called out on the charts.
        const flagged = (await rows<{ day: string; own_login: boolean }>(RECONCILIATION_SQL)).filter((r: any) => r.flagged);
        expect(await page.locator('#reconciliation-table tr.flagged th').allTextContents()).toEqual(flagged.map((r) => r.day));
        expect(await page.locator('svg#reconciliation-chart .callout').count()).toBe(flagged.filter((r) => r.own_login).length);
        const gaps = (await rows<{ day: string; messages_held: number; messages_reported: number; gap: number }>(COMPLETENESS_SQL)).filter((r) => r.gap !== 0);
        expect(gaps.map((g) => g.day)).toEqual([lostDay]);
        expect(await page.locator('#completeness-table tr.flagged th').allTextContents()).toEqual([lostDay]);
        expect(await page.locator('svg#completeness-chart .callout').count()).toBe(1);

        // The markup in a message text is text: no script ran, no element was made of it.
        expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
        expect(await page.locator('script, img').count()).toBe(0);
        expect(await page.locator('#texts-table tbody th').allTextContents()).toContain(INJECTED);

        mkdirSync(new URL('../test-results/', import.meta.url), { recursive: true });
        await page.screenshot({ path: new URL('../test-results/report.png', import.meta.url).pathname, fullPage: true });
        copyFileSync(path!, new URL('../test-results/report.html', import.meta.url).pathname);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );
});
