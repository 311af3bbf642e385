// Security suite: secrets never leave the process except in a POST body to SMSC. Distinctive
// passwords, an API key, a wrong password and a database password go through syncs that
// succeed, fail, retry and give up, in process and through the CLI; then every log line,
// CLI output, URL the emulator saw, run error, and every row of every warehouse table is
// searched for them. And SQL-looking text in every text field is stored verbatim.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { SandboxAccountSpec } from '../../src/sandbox/world.ts';
import type { RunSummary } from '../../src/sync/run-stream.ts';
import { type TestDatabase, testServerUrl } from '../helpers/database.ts';
import { zoneDayStart } from '../helpers/oracle.ts';
import { T0 } from '../helpers/sandbox.ts';
import { logLines, syncOnce } from '../helpers/sync.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';
import { childEnv } from '../helpers/child-env.ts';

const BIN = new URL('../../bin/smsc-sync.js', import.meta.url).pathname;
const PASSWORD = 'Pa55 wörd&Секрет=%2B+1';
const APIKEY = 'k3y-7f1e0c9b5a2d4e6f8a0b1c2d3e4f5a6b';
const WRONG_PASSWORD = 'Wr0ng-пароль-9731';
const DB_PASSWORD = 'db-Секрет-4471';
const SECRETS = [PASSWORD, APIKEY, WRONG_PASSWORD, DB_PASSWORD];
/** Each secret as it would look raw, URL-encoded, form-encoded or JSON-escaped. */
const FORMS = SECRETS.flatMap((s) => [s, encodeURIComponent(s), new URLSearchParams({ s }).toString().slice(2), JSON.stringify(s).slice(1, -1)]);

const ACCOUNTS: SandboxAccountSpec[] = [
  { login: 'acme', password: PASSWORD, subLogins: [], toPhones: ['79037700001'], shortLinks: [] },
  { login: 'keyed', password: 'not-used-here', apikey: APIKEY, subLogins: [], toPhones: ['79037700002'], shortLinks: [] },
];
const SQL_LOOKING = {
  message: "'); DROP TABLE smsc.outbound_messages; --",
  sender_id: "Robert'); DROP TABLE students;--",
  operator: "$1 $$ $tag$ E'\\x41' \\'",
  region: '%s %d {{x}} ${x} \\N \\\\',
  country: "' OR '1'='1",
  status_name: '"; SELECT pg_sleep(10); --',
  phone: "79990000000'--",
};

let database: TestDatabase;
let fixed: Sandbox;
let live: Sandbox;
const outputs: string[] = [];
const summaries: RunSummary[] = [];
/** --since of the first in-process sync. */
const firstSince = new Date(zoneDayStart(T0 - 2 * 86_400_000, 'Europe/Moscow'));

beforeAll(async () => {
  database = await migratedDatabase('security');
  fixed = await startSandbox({ clock: new SandboxClock({ start: T0, speed: 0 }), seed: 3, world: { historyDays: 3, futureDays: 1, messagesPerDay: 600, accounts: ACCOUNTS } });
  live = await startSandbox({ seed: 4, world: { historyDays: 2, futureDays: 1, messagesPerDay: 600, accounts: ACCOUNTS } });
});
afterAll(async () => {
  await fixed.stop();
  await live.stop();
  await database.drop();
});

const account = (name: string, auth: { password?: string; apikey?: string; login?: string }, sandbox: Sandbox) => ({
  name,
  login: auth.login,
  password: auth.password,
  apikey: auth.apikey,
  baseUrl: sandbox.url,
  timezone: 'Europe/Moscow',
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: childEnv({ LOG_LEVEL: 'debug', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  return once(child, 'exit').then(([code]) => {
    outputs.push(output);
    return { code: code as number | null, output };
  });
}

function leaks(text: string): string[] {
  return FORMS.filter((f) => text.includes(f));
}

/** Every row of every table of the warehouse (data and plumbing), as JSON text, holds none of the secrets. */
async function expectNoSecretInTables(): Promise<void> {
  const tables = await sql<{ name: string }>`
    SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
    WHERE table_schema IN ('smsc', 'smsc_internal') AND table_type = 'BASE TABLE'`.execute(database.warehouse.db);
  expect(tables.rows.map((t) => t.name)).toEqual(
    expect.arrayContaining(['smsc_internal.api_requests', 'smsc.sync_runs', 'smsc_internal.account_holds', 'smsc_internal.login_checks', 'smsc.rejected_rows', 'smsc_internal.sync_state']),
  );
  for (const { name } of tables.rows) {
    const rows = await sql<{ row: string }>`SELECT to_jsonb(t)::text AS row FROM ${sql.table(name)} t`.execute(database.warehouse.db);
    expect(rows.rows.filter((r) => leaks(r.row).length > 0), name).toEqual([]);
  }
}

describe('secrets', () => {
  it('appear in no log line, CLI output, URL, error, ledger row, sync_runs row or any other table', async () => {
    const since = firstSince;
    // In process, through faults that make the client retry, log and give up.
    fixed.faults.inject({ kind: 'http500', endpoint: 'get_messages', count: 1 });
    fixed.faults.inject({ kind: 'reset', endpoint: 'get_messages', count: 1 });
    fixed.faults.inject({ kind: 'truncate', endpoint: 'get_answers', count: 1 });
    fixed.faults.inject({ kind: 'plainError', code: 9, endpoint: 'get_stat', count: 1 });
    // (A timeout the client gives up on: slow enough to be one on a loaded CI machine, where
    // an ordinary page can take a second.)
    fixed.faults.inject({ kind: 'slow', delayMs: 6000, endpoint: 'get_price', count: 1 });
    const accounts = [
      account('by-password', { login: 'acme', password: PASSWORD }, fixed),
      account('by-key', { apikey: APIKEY }, fixed),
      // Another login (one login is one quota to SMSC, and the configuration refuses it twice).
      account('wrong', { login: 'acme-old', password: WRONG_PASSWORD }, fixed),
    ];
    summaries.push(
      ...(await syncOnce(fixed, database.warehouse, { since, streams: ['outbound', 'inbound', 'stats', 'tariffs'], config: { accounts }, client: { timeoutMs: 3000 } })),
    );
    expect(summaries.filter((s) => s.account === 'by-password' && s.stream === 'outbound')[0]!.outcome).toBe('succeeded');
    expect(summaries.filter((s) => s.account === 'by-key' && s.stream === 'outbound')[0]!.outcome).toBe('succeeded');
    // The wrong password is sent once: the run that checks it fails, the account's other runs
    // wait for that check (deferred) or see its verdict (failed); none is sent again.
    const wrong = summaries.filter((s) => s.account === 'wrong');
    expect(wrong.filter((s) => s.outcome === 'failed').length).toBeGreaterThan(0);
    expect(wrong.filter((s) => s.outcome !== 'failed' && s.outcome !== 'deferred')).toEqual([]);
    // (A request the injected reset cut off never reached a login check: only error 2 counts.)
    expect(fixed.requests.filter((r) => r.login === 'acme-old' && r.outcome === 'error 2')).toHaveLength(1);
    // An error every retry policy path has seen: error 1 names the request, not the credentials.
    fixed.faults.inject({ kind: 'error', code: 1, endpoint: 'get_price', count: 1 });
    summaries.push(...(await syncOnce(fixed, database.warehouse, { streams: ['tariffs'], config: { accounts: accounts.slice(0, 1) } })));
    expect(summaries.at(-1)!.error).toMatch(/get_price/);

    // (The CLI's ledger, on today's clock, prunes these June rows as older than 7 days.)
    expect(await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc_internal.api_requests`.execute(database.warehouse.db).then((r) => r.rows[0]!.n)).toBeGreaterThan(10);
    await expectNoSecretInTables();

    // Through the CLI: sync, status, an unreachable database, and config it cannot read.
    if (testServerUrl()) {
      const url = new URL(database.url!);
      url.password = DB_PASSWORD;
      const env = { SMSC_LOGIN: 'acme', SMSC_PASSWORD: PASSWORD, SMSC_BASE_URL: live.url, DATABASE_URL: url.toString(), SMSC_ACCOUNT_NAME: 'cli' };
      expect((await cli(['sync', '--streams', 'outbound,inbound'], env)).code).toBe(0);
      // Exit 1: the accounts synced above with a wrong password are held (and shown, with
      // their errors, for the search below); the CLI account alone is healthy.
      expect((await cli(['status', '--json'], env)).code).toBe(1);
      expect((await cli(['status', '--json', '--account', 'cli'], env)).code).toBe(0);
      expect((await cli(['sync', '--streams', 'outbound'], { ...env, SMSC_PASSWORD: WRONG_PASSWORD, SMSC_ACCOUNT_NAME: 'cli-wrong' })).code).toBe(1);
      const unreachable = new URL(url);
      unreachable.port = '1';
      expect((await cli(['sync'], { ...env, DATABASE_URL: unreachable.toString() })).code).not.toBe(0);
    }
    const badJson = await cli(['sync'], { SMSC_ACCOUNTS: `[{"name":"x","login":"acme","password":"${PASSWORD}"`, SMSC_BASE_URL: live.url });
    expect(badJson.code).toBe(2);
    const badShape = await cli(['sync'], { SMSC_ACCOUNTS: JSON.stringify([{ name: 'x', login: 'acme', password: PASSWORD, apikey: APIKEY, baseUrl: 'not a url' }]) });
    expect(badShape.code).toBe(2);

    // The search.
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.filter((l) => leaks(l).length > 0)).toEqual([]);
    expect(outputs.filter((o) => leaks(o).length > 0)).toEqual([]);
    expect(outputs.join('').length).toBeGreaterThan(testServerUrl() ? 1000 : 200);
    for (const sandbox of [fixed, live]) {
      expect(sandbox.requests.filter((r) => r.credentialsInUrl)).toEqual([]);
      expect(sandbox.requests.filter((r) => leaks(r.fingerprint).length > 0)).toEqual([]);
    }
    expect(summaries.filter((s) => leaks(JSON.stringify(s)).length > 0)).toEqual([]);
    await expectNoSecretInTables();
  });
});

describe('SQL-looking values', () => {
  it('are stored verbatim in every text field, and nothing is executed', async () => {
    fixed.faults.clear();
    fixed.clock.advance(3_600_000);
    fixed.faults.inject({ kind: 'corruptRows', endpoint: 'get_messages', patch: SQL_LOOKING, every: 50, count: 1 });
    fixed.faults.inject({ kind: 'corruptRows', endpoint: 'get_answers', patch: { message: SQL_LOOKING.message, phone: SQL_LOOKING.phone, to_phone: SQL_LOOKING.sender_id }, every: 3, count: 1 });
    const accounts = [account('sql', { login: 'acme', password: PASSWORD }, fixed)];
    const since = new Date(zoneDayStart(T0 - 86_400_000, 'Europe/Moscow'));
    const runs = await syncOnce(fixed, database.warehouse, { since, config: { accounts } });
    expect(runs.map((r) => [r.outcome, r.rejected])).toEqual([
      ['succeeded', 0],
      ['succeeded', 0],
    ]);
    const db = database.warehouse.db;
    const stored = await db
      .selectFrom('smsc.outbound_messages')
      .select(['message', 'sender_id', 'operator', 'region', 'country', 'status_name', 'phone'])
      .where('account', '=', 'sql')
      .where('message', '=', SQL_LOOKING.message)
      .execute();
    expect(stored.length).toBeGreaterThanOrEqual(10);
    for (const row of stored) expect(row).toEqual(SQL_LOOKING);
    const replies = await db.selectFrom('smsc.inbound_messages').select(['message', 'phone', 'to_phone']).where('account', '=', 'sql').where('message', '=', SQL_LOOKING.message).execute();
    expect(replies.length).toBeGreaterThan(0);
    for (const r of replies) expect(r).toEqual({ message: SQL_LOOKING.message, phone: SQL_LOOKING.phone, to_phone: SQL_LOOKING.sender_id });
    // The tables are all there, and the raw JSON holds the same text.
    const raw = await db.selectFrom('smsc.outbound_messages').select(sql<string>`raw->>'region'`.as('region')).where('account', '=', 'sql').where('message', '=', SQL_LOOKING.message).executeTakeFirstOrThrow();
    expect(raw.region).toBe(SQL_LOOKING.region);
    // Every account holds exactly what it synced: the fixed emulator's truth since each --since,
    // at the instant of each sync; the CLI's account, each channel as the live emulator had it
    // when its first page was read (the one walk of that run, from the top).
    const held = await db.selectFrom('smsc.outbound_messages').select(['account', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('account').orderBy('account').execute();
    const sent = (sandbox: Sandbox, login: string, at: number, from: number, email?: boolean) =>
      sandbox.world.truth(login, at).filter((v) => v.message.sendTs >= from && (email === undefined || (v.message.format === 8) === email)).length;
    const expected: Record<string, number> = {
      'by-key': sent(fixed, 'keyed', T0, firstSince.getTime()),
      'by-password': sent(fixed, 'acme', T0, firstSince.getTime()),
      sql: sent(fixed, 'acme', T0 + 3_600_000, since.getTime()),
    };
    if (testServerUrl()) {
      const firstPage = (format: string) =>
        live.requests.find((r) => {
          const q = new URLSearchParams(r.fingerprint.split('?')[1]);
          return r.endpoint === 'get_messages' && r.login === 'acme' && r.outcome === 'ok' && (q.get('format') ?? '0') === format && !q.has('prev_id');
        })!.at;
      expected.cli = sent(live, 'acme', firstPage('0'), 0, false) + sent(live, 'acme', firstPage('8'), 0, true);
    }
    expect(Object.fromEntries(held.map((r) => [r.account, Number(r.n)]))).toEqual(expected);
  });
});
