// What the read-only role can see (issue 13): the data tables, the views, sync_runs and
// rejected_rows in schema smsc, and nothing of the plumbing in smsc_internal. After a real
// sync of a password account, an API-key account and a wrong password (so the ledger, the
// holds, the login checks and the cursors all have rows), the role reads every relation of
// smsc, is refused every relation of smsc_internal, and nothing it can read holds a secret,
// a digest of one, or the HMACs the plumbing keeps. The lists below are this test's own, not
// taken from src/: a table that moves, or a grant that widens, fails it.
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { SandboxAccountSpec } from '../../src/sandbox/world.ts';
import { PgRunCoordinator } from '../../src/scheduler/pg-run-coordinator.ts';
import { grantReader } from '../../src/warehouse/reader-role.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { itNeedsServer } from '../helpers/needs-server.ts';
import { T0 } from '../helpers/sandbox.ts';
import { syncOnce } from '../helpers/sync.ts';
import { zoneDayStart } from '../helpers/oracle.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

/** Everything in smsc, all of which the reader reads. */
const SMSC_TABLES = [
  'accounts',
  'balance_history',
  'daily_stats',
  'delivery_errors',
  'inbound_messages',
  'message_formats',
  'outbound_messages',
  'outbound_status_changes',
  'phone_operators',
  'rejected_rows',
  'short_link_clicks',
  'status_codes',
  'sync_runs',
  'tariff_email_prices',
  'tariff_operator_prices',
  'tariff_zones',
];
const SMSC_VIEWS = ['completeness_daily', 'cost_reconciliation_daily', 'cost_reconciliation_monthly', 'delivery_daily', 'delivery_latency_daily', 'reply_rate_daily'];
/** The plumbing, none of which it reads. */
const INTERNAL_TABLES = ['account_holds', 'api_requests', 'cron_fires', 'kysely_migration', 'kysely_migration_lock', 'login_checks', 'sync_state'];

const LOGIN = 'acme';
const PASSWORD = 'Rd-Pa55wörd&Секрет=7731';
const APIKEY = 'rk3y-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4';
const WRONG_LOGIN = 'acme-old';
const WRONG_PASSWORD = 'Rd-Wr0ng-пароль-5519';
const ACCOUNTS: SandboxAccountSpec[] = [
  { login: LOGIN, password: PASSWORD, subLogins: [], toPhones: ['79037700011'], shortLinks: [] },
  { login: 'keyed', password: 'unused-here', apikey: APIKEY, subLogins: [], toPhones: ['79037700012'], shortLinks: [] },
];
/** pg_class kinds a SELECT can name: tables, partitioned tables, views, materialized views, foreign tables, sequences. */
const SELECTABLE = `('r', 'p', 'v', 'm', 'f', 'S')`;
/** insufficient_privilege */
const INSUFFICIENT_PRIVILEGE = '42501';

let database: TestDatabase;
let sandbox: Sandbox;
const db = () => database.warehouse.db;

beforeAll(async () => {
  database = await migratedDatabase('reader_role');
});
afterAll(async () => {
  await sandbox?.stop();
  await database.drop();
});

/** Relations of a schema as the warehouse's owner sees them, by kind. */
async function relations(schema: string, kinds = `('r', 'p', 'v', 'm', 'f')`): Promise<string[]> {
  const result = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${schema} AND c.relkind IN ${sql.raw(kinds)} ORDER BY 1`.execute(db());
  return result.rows.map((r) => r.name);
}

describe('the schemas', () => {
  it('keep the data, the views, sync_runs and rejected_rows in smsc, and the plumbing in smsc_internal', async () => {
    expect(await relations('smsc')).toEqual([...SMSC_TABLES, ...SMSC_VIEWS].sort());
    expect(await relations('smsc_internal')).toEqual(INTERNAL_TABLES);
  });
});

/** Every value each secret could leave behind: itself, its encodings, and digests of it and of the usual concatenations with the login. */
function needles(host: string): string[] {
  const inputs = new Set<string>();
  const pairs: [string, string][] = [
    [LOGIN, PASSWORD],
    [WRONG_LOGIN, WRONG_PASSWORD],
    ['keyed', APIKEY],
    ['', APIKEY],
  ];
  for (const [login, secret] of pairs) {
    inputs.add(secret);
    for (const sep of ['', ':', '\n', '/', '|', ' ', ',', ';', '\t']) {
      if (!login) continue;
      inputs.add(`${login}${sep}${secret}`);
      inputs.add(`${secret}${sep}${login}`);
      inputs.add(`${host}${sep}${login}${sep}${secret}`);
    }
    inputs.add(`${host}/apikey/${secret}`);
  }
  const out = new Set<string>();
  for (const secret of [PASSWORD, WRONG_PASSWORD, APIKEY]) {
    out.add(secret);
    out.add(encodeURIComponent(secret));
    out.add(new URLSearchParams({ s: secret }).toString().slice(2));
    out.add(JSON.stringify(secret).slice(1, -1));
    out.add(Buffer.from(secret).toString('base64'));
  }
  for (const input of inputs) {
    for (const algorithm of ['md5', 'sha1', 'sha256', 'sha512']) {
      const digest = createHash(algorithm).update(input, 'utf8').digest();
      // Whole, and cut to 16 characters (a truncated digest is as good for guessing offline).
      for (const text of [digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')]) {
        out.add(text);
        out.add(text.slice(0, 16));
      }
    }
  }
  return [...out];
}

/** Every row of `relations`, each column as PostgreSQL's text of it. */
async function dump(client: pg.Client, names: string[]): Promise<Map<string, string[]>> {
  const asText = { getTypeParser: () => (value: string) => value };
  const dumped = new Map<string, string[]>();
  for (const name of names) {
    const result = await client.query({ text: `SELECT * FROM ${name}`, rowMode: 'array', types: asText });
    dumped.set(name, result.rows.map((row: (string | null)[]) => row.map((v) => v ?? '').join('\u0001')));
  }
  return dumped;
}

/** The needles found in the dump, as "relation: needle #i" (the needle itself is never printed). */
function found(dumped: Map<string, string[]>, list: string[]): string[] {
  const hits: string[] = [];
  for (const [name, rows] of dumped) {
    const text = rows.join('\n');
    const lower = text.toLowerCase();
    list.forEach((needle, i) => {
      const isHex = /^[0-9a-f]+$/.test(needle);
      if (text.includes(needle) || (isHex && lower.includes(needle))) hits.push(`${name}: needle #${i}`);
    });
  }
  return hits;
}

describe('the read-only role', () => {
  itNeedsServer('roles and a second session')(
    'after a real sync, reads every relation of smsc, is refused every one of smsc_internal, and sees no value derived from a secret',
    async () => {
      sandbox = await startSandbox({ clock: new SandboxClock({ start: T0, speed: 0 }), seed: 13, world: { historyDays: 2, futureDays: 1, messagesPerDay: 300, accounts: ACCOUNTS } });
      const account = (name: string, auth: { login?: string; password?: string; apikey?: string }) => ({ name, ...auth, baseUrl: sandbox.url, timezone: 'Europe/Moscow' });
      const accounts = [
        account('by-password', { login: LOGIN, password: PASSWORD }),
        account('by-key', { apikey: APIKEY }),
        account('wrong', { login: WRONG_LOGIN, password: WRONG_PASSWORD }),
      ];
      const since = new Date(zoneDayStart(T0 - 86_400_000, 'Europe/Moscow'));
      // (The main balance's statistics alone: both balances of two days would wait a minute for SMSC's 3 stats requests.)
      const runs = await syncOnce(sandbox, database.warehouse, { since, streams: ['outbound', 'inbound', 'stats', 'tariffs', 'balance'], config: { accounts, secretKey: 'reader-role-test-secret-key', statsElectronic: false } });
      expect(runs.filter((r) => r.account !== 'wrong' && r.outcome !== 'succeeded')).toEqual([]);
      expect(runs.filter((r) => r.account === 'wrong' && r.outcome === 'failed').length).toBeGreaterThan(0);
      // A claimed cron fire, as `start` leaves them.
      expect(await new PgRunCoordinator(db(), sandbox.clock, 'replica-1').shouldRun('outbound:by-password:1')).toBe(true);

      // The plumbing has what the reader must not see: the ledger, a hold, login checks, cursors,
      // a claim. (Found wherever it is, so that a table left in smsc fails below, where it is read.)
      const at = async (table: string) => {
        const left = await sql<{ smsc: boolean }>`SELECT to_regclass(${`smsc_internal.${table}`}) IS NULL AS smsc`.execute(db());
        return `${left.rows[0]!.smsc ? 'smsc' : 'smsc_internal'}.${table}`;
      };
      const count = async (table: string) => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(db())).rows[0]!.n;
      for (const table of ['api_requests', 'account_holds', 'login_checks', 'sync_state', 'cron_fires']) expect(await count(await at(table)), table).toBeGreaterThan(0);
      expect(await count('smsc.outbound_messages')).toBeGreaterThan(100);
      const holds = await at('account_holds');
      const checks = await at('login_checks');
      const macs = (
        await sql<{ mac: string }>`SELECT credentials_mac AS mac FROM ${sql.table(holds)} UNION SELECT credentials_mac FROM ${sql.table(checks)}`.execute(db())
      ).rows.map((r) => r.mac);
      expect(macs.length).toBeGreaterThanOrEqual(3); // the wrong password's hold, the two good logins' checks
      const list = [...needles(new URL(sandbox.url).host), ...macs.flatMap((m) => [m, m.slice(0, 16)])];

      // A role that holds something in smsc_internal already (a hand-made grant, or one from
      // before the plumbing moved): grant-reader takes it all back.
      const role = `smsc_reader_${randomBytes(3).toString('hex')}`;
      await sql`CREATE ROLE ${sql.id(role)} NOLOGIN`.execute(db());
      await sql`GRANT USAGE ON SCHEMA smsc_internal TO ${sql.id(role)}`.execute(db());
      await sql`GRANT SELECT ON ALL TABLES IN SCHEMA smsc_internal TO ${sql.id(role)}`.execute(db());
      await sql`GRANT SELECT ON ALL SEQUENCES IN SCHEMA smsc_internal TO ${sql.id(role)}`.execute(db());
      await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA smsc_internal GRANT SELECT ON TABLES TO ${sql.id(role)}`.execute(db());
      await grantReader(db(), role);
      await grantReader(db(), role); // idempotent
      const defaults = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
        WHERE n.nspname = 'smsc_internal' AND a.grantee = ${role}::regrole`.execute(db());
      expect.soft(defaults.rows[0]!.n, 'default privileges in smsc_internal').toBe(0);
      const smsc = await relations('smsc');
      const internal = await relations('smsc_internal', SELECTABLE);
      // Sequences included (the ledger's identity), so more than the tables.
      expect.soft(internal).toEqual(expect.arrayContaining(INTERNAL_TABLES));
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        // The search finds what it looks for: the owner's dump of the holds holds the HMACs.
        expect(found(await dump(client, [holds, checks]), list).length).toBeGreaterThanOrEqual(macs.length);

        await client.query(`SET ROLE ${role}`);
        // (a) Every table and view of smsc, as listed here.
        expect.soft(smsc).toEqual([...SMSC_TABLES, ...SMSC_VIEWS].sort());
        for (const name of smsc) await client.query(`SELECT * FROM smsc.${name} LIMIT 1`);
        await client.query(`SELECT * FROM smsc.tariff_on_day('by-password', '2026-06-15')`);
        await client.query(`SELECT * FROM smsc.tariff_at('by-password', now())`);

        // (b) Every relation of smsc_internal refused, and no privilege there at all.
        const refusals: Record<string, string | undefined> = {};
        for (const name of internal) {
          refusals[name] = await client.query(`SELECT * FROM smsc_internal.${name} LIMIT 1`).then(
            () => 'read',
            (e: { code?: string }) => e.code,
          );
        }
        expect.soft(refusals).toEqual(Object.fromEntries(internal.map((n) => [n, INSUFFICIENT_PRIVILEGE])));
        const privileges = await client.query(`
          SELECT has_schema_privilege('smsc_internal', 'USAGE') AS usage,
                 coalesce(bool_or(has_any_column_privilege(c.oid, 'SELECT') OR has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')), false) AS any_table
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'smsc_internal' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`);
        expect.soft(privileges.rows[0]).toEqual({ usage: false, any_table: false });

        // (c) Everything the role can SELECT, anywhere but the system catalogs, dumped as text.
        const readable = (
          await client.query(`
            SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ${SELECTABLE} AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
            ORDER BY 1`)
        ).rows.map((r) => r.name as string);
        expect.soft(readable).toEqual([...SMSC_TABLES, ...SMSC_VIEWS].map((n) => `smsc.${n}`).sort());
        const dumped = await dump(client, readable);
        expect([...dumped.values()].flat().length).toBeGreaterThan(100);
        expect(found(dumped, list)).toEqual([]);
      } finally {
        await client.query('RESET ROLE');
        await client.query(`DROP OWNED BY ${role}`);
        await client.query(`DROP ROLE ${role}`);
        await client.end();
      }
    },
  );
});
