// Applies the migrations in migrations/ (forward only, ordered by their ISO-dated names).
// Kysely's migrator takes a row lock in its lock table inside one transaction, so several
// processes starting at once apply each migration exactly once; the others wait and find
// nothing left to do. Its tables live with the plumbing in smsc_internal, which the read-only
// role is not granted; a warehouse migrated before they moved has them in smsc, and they are
// moved first.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { DELIVERY_ERRORS, MESSAGE_FORMATS, STATUS_CODES } from '../smsc/codes.ts';
import { FileMigrationProvider, Migrator } from 'kysely/migration';
import type { Warehouse } from './database.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Where the migrator keeps its bookkeeping: with the plumbing, out of the read-only role's sight. */
export const SCHEMA = 'smsc_internal';
/** Where versions before 2026-11-24-03-plumbing-schema kept it. */
const OLD_SCHEMA = 'smsc';
const MIGRATION_TABLES = ['kysely_migration', 'kysely_migration_lock'];
/**
 * Key of the transaction advisory lock under which the migrator's tables are moved (the
 * space beside the ledger's 0x51c50001 and the runs' 0x51c50002), so that processes
 * upgrading at once move them once.
 */
const MOVE_LOCK = [0x51c5_0003, 1] as const;

export class MigrationError extends Error {
  constructor(migration: string | undefined, cause: unknown) {
    super(
      `migration ${migration ?? '(setup)'} failed: ${cause instanceof Error ? cause.message : String(cause)}; ` +
        'nothing of it was applied (each run is one transaction). Fix the cause and run `smsc-sync migrate` again.',
      { cause },
    );
    this.name = 'MigrationError';
  }
}

/**
 * The warehouse holds migrations this version does not have: a newer smsc-sync migrated it.
 * Nothing is applied (its schema may differ from what this version reads and writes).
 */
export class NewerWarehouseError extends Error {
  readonly unknown: readonly string[];
  constructor(unknown: readonly string[], latestKnown: string | undefined) {
    super(
      `the warehouse was migrated by a newer smsc-sync version: it holds ${unknown.length === 1 ? 'migration' : 'migrations'} ${unknown.join(', ')}, ` +
        `which this version does not know (its latest is ${latestKnown ?? 'none'}); upgrade smsc-sync (every process and replica that uses this warehouse) ` +
        'to the version that migrated it, or later. Nothing was changed.',
    );
    this.name = 'NewerWarehouseError';
    this.unknown = unknown;
  }
}

/**
 * Applies every pending migration on a session of its own with no statement or lock
 * deadline (a migration may rewrite a large table, and another process may be migrating
 * already: it waits for that one, then finds nothing left to do).
 */
export async function migrateWarehouse(warehouse: Warehouse<any>): Promise<string[]> {
  return warehouse.session(async ({ db }) => {
    if (warehouse.kind === 'postgres') await sql`SET statement_timeout = 0; SET lock_timeout = 0`.execute(db);
    const applied = await migrateToLatest(db);
    if (warehouse.kind === 'postgres') await sql`RESET statement_timeout; RESET lock_timeout`.execute(db);
    return applied;
  });
}

/** Applies every pending migration; returns the names applied by this call. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  await moveMigrationTables(db);
  const provider = new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR });
  await refuseNewerWarehouse(db, Object.keys(await provider.getMigrations()));
  const migrator = new Migrator({ db, provider, migrationTableSchema: SCHEMA });
  let { error, results = [] } = await migrator.migrateToLatest();
  // Before it takes its lock, Kysely's migrator lists the database's tables; a table another
  // process moves at that moment (2026-11-24-03 moves the plumbing) fails the listing with
  // undefined_table, before any migration ran. Listing again finds it in its new place.
  for (let attempt = 1; error && attempt < 5 && (error as { code?: string }).code === '42P01' && !results.some((r) => r.status === 'Error'); attempt++) {
    await new Promise((r) => setTimeout(r, 50 * attempt));
    ({ error, results = [] } = await migrator.migrateToLatest());
  }
  if (error) throw new MigrationError(results.find((r) => r.status === 'Error')?.migrationName, error);
  await refreshLookupTables(db);
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Throws NewerWarehouseError when the migrator's table lists migrations that are not among
 * `known` (Kysely's own words for it are "corrupted migrations").
 */
async function refuseNewerWarehouse(db: Kysely<any>, known: readonly string[]): Promise<void> {
  const found = await sql<{ found: boolean }>`SELECT to_regclass(${`${SCHEMA}.kysely_migration`}) IS NOT NULL AS found`.execute(db);
  if (!found.rows[0]!.found) return;
  const applied = await sql<{ name: string }>`SELECT name FROM ${sql.table(`${SCHEMA}.kysely_migration`)} ORDER BY name`.execute(db);
  const unknown = applied.rows.map((r) => r.name).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new NewerWarehouseError(unknown, [...known].sort().at(-1));
}

/**
 * Moves the migrator's tables from smsc to smsc_internal when the warehouse was migrated by a
 * version that kept them in smsc (and no process has moved them yet), in one transaction.
 */
async function moveMigrationTables(db: Kysely<any>): Promise<void> {
  const exists = (schema: string) =>
    sql<{ found: boolean }>`SELECT to_regclass(${`${schema}.kysely_migration`}) IS NOT NULL AS found`.execute(db).then((r) => r.rows[0]!.found);
  if (!(await exists(OLD_SCHEMA)) || (await exists(SCHEMA))) return;
  // CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent creation (a unique violation
  // on pg_namespace, seen with three processes upgrading at once): the move is tried again,
  // and then finds the schema there.
  for (let attempt = 1; ; attempt++) {
    try {
      return await moveMigrationTablesOnce(db);
    } catch (error) {
      if ((error as { code?: string }).code !== '23505' || attempt >= 3) throw error;
    }
  }
}

async function moveMigrationTablesOnce(db: Kysely<any>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${MOVE_LOCK[0]}, ${MOVE_LOCK[1]})`.execute(trx);
    // Another process may have moved them while this one waited for the lock.
    const found = await sql<{ old: boolean; moved: boolean }>`
      SELECT to_regclass(${`${OLD_SCHEMA}.kysely_migration`}) IS NOT NULL AS old, to_regclass(${`${SCHEMA}.kysely_migration`}) IS NOT NULL AS moved`.execute(trx);
    if (!found.rows[0]!.old || found.rows[0]!.moved) return;
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(SCHEMA)}`.execute(trx);
    for (const table of MIGRATION_TABLES) {
      if (await sql<{ found: boolean }>`SELECT to_regclass(${`${OLD_SCHEMA}.${table}`}) IS NOT NULL AS found`.execute(trx).then((r) => r.rows[0]!.found)) {
        await sql`ALTER TABLE ${sql.table(`${OLD_SCHEMA}.${table}`)} SET SCHEMA ${sql.id(SCHEMA)}`.execute(trx);
      }
    }
  });
}

/**
 * Fills the lookup tables from SMSC's code lists in src/smsc/codes.ts, the one place they
 * are written down; idempotent, so a code added there reaches the warehouse on next start.
 */
async function refreshLookupTables(db: Kysely<any>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const s of STATUS_CODES) {
      await sql`INSERT INTO smsc.status_codes VALUES (${s.code}, ${s.name}, ${s.nameRu}, ${s.isFinal})
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_ru = EXCLUDED.name_ru, is_final = EXCLUDED.is_final
        WHERE (smsc.status_codes.name, smsc.status_codes.name_ru, smsc.status_codes.is_final) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.name_ru, EXCLUDED.is_final)`.execute(trx);
    }
    for (const [table, list] of [['delivery_errors', DELIVERY_ERRORS], ['message_formats', MESSAGE_FORMATS]] as const) {
      for (const e of list) {
        await sql`INSERT INTO ${sql.table(`smsc.${table}`)} VALUES (${e.code}, ${e.name})
          ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name WHERE ${sql.table(`smsc.${table}`)}.name IS DISTINCT FROM EXCLUDED.name`.execute(trx);
      }
    }
  });
}
