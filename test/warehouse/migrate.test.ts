// Migrations: applied once even when several processes start at once, and idempotent.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../src/warehouse/database.ts';
import { MIGRATIONS_DIR, migrateToLatest, SCHEMA } from '../../src/warehouse/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/** Schema `smsc`'s data tables: what the warehouse holds for its users (README, "The warehouse"). */
const SMSC_DATA_TABLES = [
  'accounts',
  'balance_history',
  'daily_stats',
  'delivery_errors',
  'inbound_messages',
  'message_formats',
  'outbound_messages',
  'outbound_status_changes',
  'phone_operators',
  'short_link_clicks',
  'status_codes',
  'tariff_email_prices',
  'tariff_operator_prices',
  'tariff_zones',
] as const;
/** The sync's own bookkeeping in schema `smsc`: cursors, runs, quota ledger, holds, schedules, migrations. */
/** What analysts see of the runs (schema smsc). */
const SMSC_RUN_TABLES = ['rejected_rows', 'sync_runs'] as const;
/** The plumbing (schema smsc_internal, which the reader role is not granted). */
const SMSC_PLUMBING_TABLES = ['account_holds', 'api_requests', 'cron_fires', 'kysely_migration', 'kysely_migration_lock', 'login_checks', 'sync_state'] as const;
/** The reporting views (README, "Reports"). */
const SMSC_VIEWS = ['completeness_daily', 'cost_reconciliation_daily', 'cost_reconciliation_monthly', 'delivery_daily', 'delivery_latency_daily', 'reply_rate_daily'] as const;
const SMSC_FUNCTIONS = ['account_currency', 'account_timezone', 'tariff_at', 'tariff_on_day'] as const;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('migrate');
});
afterAll(() => database.drop());

describe('migrateToLatest', () => {
  it('applies every migration exactly once when several processes migrate at once', async () => {
    const others = database.url ? await Promise.all([1, 2].map(() => openWarehouse<any>({ databaseUrl: database.url }))) : [];
    try {
      const results = await Promise.all([database.warehouse, ...others].map((w) => migrateToLatest(w.db)));
      const applied = results.flat();
      // Every file of migrations/, each applied by one of the three.
      const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
      expect(files.length).toBeGreaterThan(0);
      expect([...applied].sort()).toEqual(files.sort());
      expect(await migrateToLatest(database.warehouse.db)).toEqual([]);
    } finally {
      await Promise.all(others.map((w) => w.close()));
    }
    const relations = await sql<{ table_name: string; table_type: string }>`
      SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'smsc'`.execute(database.warehouse.db);
    const named = (type: string) => relations.rows.filter((r) => r.table_type === type).map((r) => r.table_name).sort();
    expect(named('BASE TABLE')).toEqual([...SMSC_DATA_TABLES, ...SMSC_RUN_TABLES].sort());
    expect(named('VIEW')).toEqual([...SMSC_VIEWS].sort());
    expect(relations.rows.length).toBe(SMSC_DATA_TABLES.length + SMSC_RUN_TABLES.length + SMSC_VIEWS.length);
    const internal = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'smsc_internal'`.execute(database.warehouse.db);
    expect(internal.rows.map((r) => r.table_name).sort()).toEqual([...SMSC_PLUMBING_TABLES].sort());
    const routines = await sql<{ routine_name: string }>`
      SELECT DISTINCT routine_name FROM information_schema.routines WHERE routine_schema = 'smsc'`.execute(database.warehouse.db);
    expect(routines.rows.map((r) => r.routine_name).sort()).toEqual([...SMSC_FUNCTIONS].sort());
  });
});

describe('2026-11-24-01-rejected-rows-once', () => {
  it('collapses the copies of each bad row left by earlier versions into one, with first/last seen and times seen', async () => {
    const db = await createTestDatabase('migrate_rejected');
    try {
      const migrator = new Migrator({ db: db.warehouse.db, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }), migrationTableSchema: SCHEMA });
      expect((await migrator.migrateTo('2026-11-23-05-run-safety')).error).toBeUndefined();
      // One bad reply re-read by three runs (three copies), one bad message once, the same text in another stream once.
      const runs = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
      const reply = '{"id":9999999999999999999,"phone":"79161234567","message":"Да"}';
      const at = (minute: number) => new Date(Date.UTC(2026, 5, 15, 9, minute));
      await sql`
        INSERT INTO smsc.rejected_rows (account, stream, run_id, raw, reason, rejected_at) VALUES
          ('demo', 'inbound', ${runs[0]}, ${reply}, 'id: too big', ${at(0)}),
          ('demo', 'outbound', ${runs[0]}, '{"int_id":"9223372036854775808"}', 'int_id: too big', ${at(0)}),
          ('demo', 'inbound', ${runs[1]}, ${reply}, 'id: too big', ${at(2)}),
          ('demo', 'inbound', ${runs[2]}, ${reply}, 'id: too big', ${at(4)}),
          ('other', 'inbound', ${runs[2]}, ${reply}, 'id: too big', ${at(4)})`.execute(db.warehouse.db);
      await migrateToLatest(db.warehouse.db);
      const rows = await sql<Record<string, unknown>>`
        SELECT account, stream, run_id::text, times_seen, first_seen_at, last_seen_at, rejected_at, digest FROM smsc.rejected_rows ORDER BY id`.execute(db.warehouse.db);
      const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
      expect(rows.rows.map((r) => ({ ...r, first_seen_at: new Date(r.first_seen_at as Date), last_seen_at: new Date(r.last_seen_at as Date), rejected_at: new Date(r.rejected_at as Date) }))).toEqual([
        { account: 'demo', stream: 'inbound', run_id: runs[0], times_seen: 3, first_seen_at: at(0), last_seen_at: at(4), rejected_at: at(0), digest: digest(reply) },
        { account: 'demo', stream: 'outbound', run_id: runs[0], times_seen: 1, first_seen_at: at(0), last_seen_at: at(0), rejected_at: at(0), digest: digest('{"int_id":"9223372036854775808"}') },
        { account: 'other', stream: 'inbound', run_id: runs[2], times_seen: 1, first_seen_at: at(4), last_seen_at: at(4), rejected_at: at(4), digest: digest(reply) },
      ]);
      // From now on a copy cannot be inserted.
      await expect(sql`INSERT INTO smsc.rejected_rows (account, stream, raw, reason, rejected_at, digest, first_seen_at, last_seen_at, times_seen)
        VALUES ('demo', 'inbound', ${reply}, 'x', now(), ${digest(reply)}, now(), now(), 1)`.execute(db.warehouse.db)).rejects.toThrow(/rejected_rows_once/);
    } finally {
      await db.drop();
    }
  });
});

describe('2026-11-24-03-plumbing-schema', () => {
  // This migration and the ones written after it, which an upgrade from before it applies too.
  const fromPlumbing = async () =>
    (await fs.readdir(MIGRATIONS_DIR))
      .filter((f) => /^\d{4}-\d\d-\d\d-\d\d-.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .filter((m) => m >= '2026-11-24-03-plumbing-schema')
      .sort();
  // What the reader must not see, as this test expects it: the plumbing and the migrator's tables.
  const INTERNAL = ['account_holds', 'api_requests', 'cron_fires', 'kysely_migration', 'kysely_migration_lock', 'login_checks', 'sync_state'];
  const relations = async (db: TestDatabase, schema: string) =>
    (
      await sql<{ name: string }>`
        SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`.execute(db.warehouse.db)
    ).rows.map((r) => r.name);

  it('upgrades a warehouse migrated by earlier versions: plumbing and migrator tables move to smsc_internal with their rows, once', async () => {
    const db = await createTestDatabase('migrate_plumbing');
    const role = `smsc_reader_up_${randomBytes(3).toString('hex')}`;
    const others = db.url ? await Promise.all([1, 2].map(() => openWarehouse<any>({ databaseUrl: db.url }))) : [];
    try {
      // The previous code: the migrator's tables in smsc, everything up to the migration before this one.
      const before = new Migrator({ db: db.warehouse.db, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }), migrationTableSchema: 'smsc' });
      expect((await before.migrateTo('2026-11-24-02-unknown-cost')).error).toBeUndefined();
      const w = db.warehouse.db;
      const at = new Date(Date.UTC(2026, 10, 20, 9));
      await sql`INSERT INTO smsc.api_requests (account, endpoint, fingerprint, sent_at, process, quota_key) VALUES ('demo', 'get_messages', 'f', ${at}, 'p', 'h/demo')`.execute(w);
      await sql`INSERT INTO smsc.account_holds (account, error_code, reason, held_at, credentials_mac) VALUES ('demo', 2, 'r', ${at}, 'mac-of-held')`.execute(w);
      await sql`INSERT INTO smsc.login_checks (quota_key, credentials_mac, verified_at) VALUES ('h/demo', 'mac-of-verified', ${at})`.execute(w);
      await sql`INSERT INTO smsc.sync_state (account, stream, cursor, updated_at) VALUES ('demo', 'outbound', '{"x":1}', ${at})`.execute(w);
      await sql`INSERT INTO smsc.cron_fires (key, claimed_by, claimed_at) VALUES ('outbound:demo:1', 'r', ${at})`.execute(w);
      if (db.url) {
        // The previous grant-reader: SELECT on everything in smsc, the plumbing included.
        await sql`CREATE ROLE ${sql.id(role)} NOLOGIN`.execute(w);
        await sql`GRANT USAGE ON SCHEMA smsc TO ${sql.id(role)}`.execute(w);
        await sql`GRANT SELECT ON ALL TABLES IN SCHEMA smsc TO ${sql.id(role)}`.execute(w);
      }

      // The new code, in three processes at once where there is a server.
      const applied = (await Promise.all([db.warehouse, ...others].map((o) => migrateToLatest(o.db)))).flat();
      // Each once, across the three processes.
      expect(applied.sort()).toEqual(await fromPlumbing());
      expect(applied[0]).toBe('2026-11-24-03-plumbing-schema');
      expect(await migrateToLatest(w)).toEqual([]);

      expect(await relations(db, 'smsc_internal')).toEqual(INTERNAL);
      expect((await relations(db, 'smsc')).filter((r) => INTERNAL.includes(r))).toEqual([]);
      const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
      expect((await sql<{ name: string }>`SELECT name FROM smsc_internal.kysely_migration ORDER BY name`.execute(w)).rows.map((r) => r.name)).toEqual(files);
      const kept = await sql<Record<string, string>>`
        SELECT (SELECT fingerprint FROM smsc_internal.api_requests) AS request, (SELECT credentials_mac FROM smsc_internal.account_holds) AS hold,
               (SELECT credentials_mac FROM smsc_internal.login_checks) AS checked, (SELECT cursor::text FROM smsc_internal.sync_state) AS cursor,
               (SELECT key FROM smsc_internal.cron_fires) AS fire`.execute(w);
      expect(kept.rows[0]).toEqual({ request: 'f', hold: 'mac-of-held', checked: 'mac-of-verified', cursor: '{"x": 1}', fire: 'outbound:demo:1' });
      // The ledger's identity goes on where it was.
      await sql`INSERT INTO smsc_internal.api_requests (account, endpoint, fingerprint, sent_at, process, quota_key) VALUES ('demo', 'get_messages', 'g', ${at}, 'p', 'h/demo')`.execute(w);
      expect((await sql<{ id: string }>`SELECT id::text FROM smsc_internal.api_requests ORDER BY id`.execute(w)).rows.map((r) => r.id)).toEqual(['1', '2']);

      if (db.url) {
        // The old grants came along with the tables and were revoked; the schema was never granted.
        const privileges = await sql<{ name: string; select: boolean }>`
          SELECT c.relname AS name, has_table_privilege(${role}, c.oid, 'SELECT') AS select
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'smsc_internal' AND c.relkind = 'r'`.execute(w);
        expect(privileges.rows.filter((p) => p.select)).toEqual([]);
        expect((await sql<{ usage: boolean }>`SELECT has_schema_privilege(${role}, 'smsc_internal', 'USAGE') AS usage`.execute(w)).rows[0]!.usage).toBe(false);
      }

      // Down puts the plumbing back in smsc (the migrator's tables stay), and up moves it again.
      const after = new Migrator({ db: w, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }), migrationTableSchema: SCHEMA });
      expect((await after.migrateTo('2026-11-24-02-unknown-cost')).error).toBeUndefined();
      expect(await relations(db, 'smsc_internal')).toEqual(['kysely_migration', 'kysely_migration_lock']);
      expect((await relations(db, 'smsc')).filter((r) => INTERNAL.includes(r))).toEqual(['account_holds', 'api_requests', 'cron_fires', 'login_checks', 'sync_state']);
      expect(await migrateToLatest(w)).toEqual(await fromPlumbing());
      expect(await relations(db, 'smsc_internal')).toEqual(INTERNAL);
    } finally {
      await Promise.all(others.map((o) => o.close()));
      if (db.url) {
        await sql`DROP OWNED BY ${sql.id(role)}`.execute(db.warehouse.db);
        await sql`DROP ROLE ${sql.id(role)}`.execute(db.warehouse.db);
      }
      await db.drop();
    }
  });
});
