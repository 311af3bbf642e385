// Applies the migrations in migrations/ (forward only, ordered by their ISO-dated names).
// Kysely's migrator takes a row lock in its lock table inside one transaction, so several
// processes starting at once apply each migration exactly once; the others wait and find
// nothing left to do.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Where the migrator keeps its bookkeeping, beside the data. */
export const SCHEMA = 'smsc';

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

/** Applies every pending migration; returns the names applied by this call. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
    migrationTableSchema: SCHEMA,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) throw new MigrationError(results.find((r) => r.status === 'Error')?.migrationName, error);
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
