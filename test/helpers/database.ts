// A database of its own for one test file: a new database on the run's PostgreSQL server, or
// an embedded PGlite in the pglite project; empty, or cloned from the run's migrated template.
// Kept for inspection when KEEP_TEST_DATABASES=1.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { openWarehouse, type Warehouse } from '../../src/warehouse/database.ts';
import { withDatabase } from './database-url.ts';
import { admin } from './template-database.ts';

export { withDatabase };

export interface TestDatabase<DB = any> {
  /** URL of the database; undefined for PGlite (in-process only). */
  readonly url: string | undefined;
  readonly name: string;
  readonly warehouse: Warehouse<DB>;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Start with every migration applied (a clone of the run's template). (Default: false, empty) */
  readonly migrated?: boolean;
}

/** The PostgreSQL server this test file runs on; null when it runs on embedded PGlite. */
export function testServerUrl(): string | null {
  return inject('forcePglite') ? null : inject('databaseUrl');
}

export async function createTestDatabase<DB = any>(label: string, options: TestDatabaseOptions = {}): Promise<TestDatabase<DB>> {
  const adminUrl = testServerUrl();
  const name = `smsc_t_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  if (!adminUrl) {
    const warehouse = await openWarehouse<DB>({ loadDataDir: pgliteDump(options.migrated ?? false) });
    return { url: undefined, name, warehouse, drop: () => warehouse.close() };
  }
  await admin(adminUrl, options.migrated ? `CREATE DATABASE "${name}" TEMPLATE "${inject('templateDatabase')}"` : `CREATE DATABASE "${name}"`);
  const url = withDatabase(adminUrl, name);
  const warehouse = await openWarehouse<DB>({ databaseUrl: url });
  return {
    url,
    name,
    warehouse,
    async drop() {
      await warehouse.close();
      if (process.env.KEEP_TEST_DATABASES !== '1') await admin(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** The global setup's dump for this start, read anew for each database (PGlite takes ownership). */
function pgliteDump(migrated: boolean): Blob {
  const dumps = inject('pgliteDumps');
  if (!dumps) throw new Error('no PGlite dumps were made for this run: test/global-setup.ts makes them only when a project sets provide.forcePglite');
  return new Blob([readFileSync(migrated ? dumps.migrated : dumps.empty)]);
}
