// The migrated database each test file's database is cloned from (CREATE DATABASE … TEMPLATE):
// made once per run by the global setup, so a file starts from every migration in about a
// tenth of the time of replaying them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openWarehouse } from '../../src/warehouse/database.ts';
import { migrateToLatest } from '../../src/warehouse/migrate.ts';
import { withDatabase } from './database-url.ts';

export interface TemplateDatabase {
  /** Unique per run, so that runs sharing a server do not clone each other's. */
  readonly name: string;
  drop(): Promise<void>;
}

export async function createTemplateDatabase(adminUrl: string): Promise<TemplateDatabase> {
  const name = `smsc_template_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE "${name}"`);
  const warehouse = await openWarehouse({ databaseUrl: withDatabase(adminUrl, name), maxConcurrentRuns: 1 });
  try {
    await migrateToLatest(warehouse.db);
  } finally {
    await warehouse.close();
  }
  // A template may have no session while it is cloned: nobody may connect to it from now on.
  await admin(adminUrl, `ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
  return { name, drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Runs one statement on its own connection (CREATE/DROP DATABASE cannot run in a transaction or pool). */
export async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
