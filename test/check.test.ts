// `smsc-sync check` as a user runs it before trusting a setup: one cheap request (balance.php)
// per account through the quota ledger, a line per account, exit 1 on any failure; never more
// failed logins than the installation's budget (2 in 30 minutes; SMSC blocks the address at 5).
// The real CLI in child processes against the emulator and a test database.
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { SandboxAccountSpec } from '../src/sandbox/world.ts';
import type { TestDatabase } from './helpers/database.ts';
import { moneyText } from './helpers/oracle.ts';
import { T0 } from './helpers/sandbox.ts';
import { migratedDatabase } from './helpers/warehouse.ts';
import { cli } from './runs/processes.ts';

const specs: SandboxAccountSpec[] = ['north', 'south', 'east', 'west'].map((login, i) => ({
  login,
  password: `pw-${login}-7Kx`,
  subLogins: [],
  toPhones: [`7903770000${i}`],
  shortLinks: [],
}));

let sandbox: Sandbox;
let database: TestDatabase;
beforeAll(async () => {
  sandbox = await startSandbox({ clock: new SandboxClock({ start: T0, speed: 0 }), seed: 5, world: { accounts: specs, historyDays: 3, futureDays: 0, messagesPerDay: 20 } });
  database = await migratedDatabase('check');
});
afterAll(async () => {
  await sandbox?.stop();
  await database?.drop();
});

const account = (login: string, password = `pw-${login}-7Kx`, baseUrl = sandbox.url) => ({ name: `shop-${login}`, login, password, baseUrl });

async function check(accounts: object[], args: string[] = [], env: Record<string, string> = {}) {
  const run = cli(['check', ...args], { SMSC_ACCOUNTS: JSON.stringify(accounts), DATABASE_URL: database.url, ...env }, sandbox);
  const { code } = await run.exit;
  return { code, lines: run.output().trim().split('\n') };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('smsc-sync check', () => {
  it('a good account: exit 0, its balance as SMSC has it, one balance request and nothing else', async () => {
    const before = sandbox.requests.length;
    const { code, lines } = await check([account('north')]);
    expect(code, lines.join('\n')).toBe(0);
    const balance = moneyText(sandbox.world.balance('north', sandbox.clock.now()));
    expect(lines[0]).toBe('ok      configuration: 1 account(s)');
    expect(lines[1]).toMatch(/^ok {6}warehouse: PostgreSQL 127\.0\.0\.1:\d+\/smsc_t_check_\w+, migrations up to date$/);
    expect(lines[2]).toMatch(new RegExp(`^ok {6}account shop-north  127\\.0\\.0\\.1:\\d+/north: credentials accepted; balance ${balance.replace('.', '\\.')} RUB \\(\\d+ ms\\)$`));
    expect(lines).toHaveLength(3);
    expect(sandbox.requests.slice(before).map((r) => [r.login, r.endpoint, r.outcome])).toEqual([['north', 'balance', 'ok']]);
    expect(sandbox.quotas.violations).toEqual([]);
  });

  it('an unreachable SMSC host: the account fails with the host named, exit 1', async () => {
    const port = await closedPort();
    const { code, lines } = await check([account('north', undefined, `http://127.0.0.1:${port}`)]);
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(new RegExp(`^FAILED {2}account shop-north  127\\.0\\.0\\.1:${port}/north: could not get an answer from http://127\\.0\\.0\\.1:${port} \\(SMSC_BASE_URL\\): .*ECONNREFUSED`));
  });

  it('an unreachable warehouse: a line for it and one per account, nothing sent, exit 1', async () => {
    const port = await closedPort();
    const before = sandbox.requests.length;
    const { code, lines } = await check([account('north'), account('south')], [], { DATABASE_URL: `postgres://root:secret-pw@127.0.0.1:${port}/smsc`, SMSC_DB_TIMEOUT_SECONDS: '3' });
    expect(code).toBe(1);
    expect(lines[0]).toMatch(new RegExp(`^FAILED {2}warehouse: the database could not be reached at 127\\.0\\.0\\.1:${port} \\(DATABASE_URL\\).*ECONNREFUSED`));
    expect(lines.slice(1)).toEqual([
      'SKIPPED account shop-north: not checked (every request goes through the quota ledger in the warehouse)',
      'SKIPPED account shop-south: not checked (every request goes through the quota ledger in the warehouse)',
    ]);
    expect(lines.join('\n')).not.toContain('secret-pw');
    expect(sandbox.requests.slice(before)).toEqual([]);
  });

  it('--account checks the named accounts only; an unknown name exits 2 naming the configured ones', async () => {
    const before = sandbox.requests.length;
    const { code, lines } = await check([account('north'), account('south', 'wrong-again')], ['--account', 'shop-north', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(lines.join('\n'));
    expect(report.accounts.map((a: { account: string; result: string }) => [a.account, a.result])).toEqual([['shop-north', 'ok']]);
    expect(sandbox.requests.slice(before).map((r) => r.login)).toEqual(['north']);
    const unknown = await check([account('north')], ['--account', 'shop-nowhere']);
    expect(unknown.code).toBe(2);
    expect(unknown.lines.join('\n')).toContain("--account: no configured account named 'shop-nowhere'; configured: 'shop-north'");
  });

  // Last: its failed logins fill the installation's budget, which holds back any login not yet
  // proven (a new host or password) for the next 30 minutes.
  it('three wrong passwords and a good one: at most 2 failed logins reach SMSC, the rest are not sent, exit 1', async () => {
    const before = sandbox.requests.length;
    const { code, lines } = await check([account('south', 'wrong-1'), account('east', 'wrong-2'), account('west', 'wrong-3'), account('north')]);
    expect(code, lines.join('\n')).toBe(1);
    const sent = sandbox.requests.slice(before);
    const failed = sent.filter((r) => r.outcome === 'error 2');
    expect(failed).toHaveLength(2);
    expect(sent.filter((r) => r.login === 'north').map((r) => [r.endpoint, r.outcome])).toEqual([['balance', 'ok']]);
    const byAccount = new Map(lines.filter((l) => l.includes(' account ')).map((l) => [/account (\S+)/.exec(l)![1], l]));
    expect([...byAccount.keys()].sort()).toEqual(['shop-east', 'shop-north', 'shop-south', 'shop-west']);
    expect(byAccount.get('shop-north')).toMatch(/^ok /);
    const refused = failed.map((r) => `shop-${r.login}`);
    for (const name of refused) expect(byAccount.get(name)).toMatch(/^FAILED {2}account .*\(error 2\)/);
    const unsent = ['shop-south', 'shop-east', 'shop-west'].filter((n) => !refused.includes(n));
    expect(unsent).toHaveLength(1);
    expect(byAccount.get(unsent[0]!)).toMatch(/^SKIPPED account .*2 failed logins of the last 30 minutes.*not sent; try again after \d{4}-\d\d-\d\dT/);

    // Checked again at once: the refused accounts are held (nothing sent), the third still waits.
    const again = sandbox.requests.length;
    const second = await check([account('south', 'wrong-1'), account('east', 'wrong-2'), account('west', 'wrong-3')]);
    expect(second.code).toBe(1);
    expect(sandbox.requests.slice(again)).toEqual([]);
    // The held ones say nothing was sent, and why.
    for (const name of refused) expect(second.lines.find((l) => l.includes(`account ${name} `))).toMatch(/^FAILED {2}account \S+ +\S+: not sent: the account is held from an earlier refusal — SMSC rejected login/);
    expect(sandbox.quotas.violations).toEqual([]);
  });

  // The emulator's clock stands still: north's balance has been asked three times this minute
  // (above), SMSC's limit for identical requests. A fourth check reports it, sends nothing, and
  // does not sit out the minute.
  it('a fourth check within the minute: SKIPPED with the quota named and the time to try again, nothing sent', async () => {
    const before = sandbox.requests.length;
    const { code, lines } = await check([account('north')]);
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(/^SKIPPED account shop-north  127\.0\.0\.1:\d+\/north: SMSC's identical quota for this login is spent .*not sent; try again after \d{4}-\d\d-\d\dT/);
    expect(sandbox.requests.slice(before)).toEqual([]);
    expect(sandbox.quotas.violations).toEqual([]);
  });
});
