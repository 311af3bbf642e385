// A fresh, empty database for one test file: a new database on the run's PostgreSQL server,
// or an embedded PGlite when there is none. Kept for inspection when KEEP_TEST_DATABASES=1.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { openWarehouse, type Warehouse } from '../../src/warehouse/database.ts';

export interface TestDatabase<DB = any> {
  /** URL of the database; undefined for PGlite (in-process only). */
  readonly url: string | undefined;
  readonly name: string;
  readonly warehouse: Warehouse<DB>;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** The PostgreSQL server this test file runs on; null when it runs on embedded PGlite. */
export function testServerUrl(): string | null {
  return inject('forcePglite') ? null : inject('databaseUrl');
}

export async function createTestDatabase<DB = any>(label: string): Promise<TestDatabase<DB>> {
  const adminUrl = testServerUrl();
  const name = `smsc_t_${label.replace(/\W/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  if (!adminUrl) {
    const warehouse = await openWarehouse<DB>({});
    return { url: undefined, name, warehouse, drop: () => warehouse.close() };
  }
  await admin(adminUrl, `CREATE DATABASE "${name}"`);
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

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
