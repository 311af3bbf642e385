// Migrations: applied once even when several processes start at once, and idempotent.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../src/warehouse/database.ts';
import { migrateToLatest } from '../../src/warehouse/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

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
      expect(applied.length).toBeGreaterThan(0);
      expect(new Set(applied).size).toBe(applied.length);
      expect(await migrateToLatest(database.warehouse.db)).toEqual([]);
    } finally {
      await Promise.all(others.map((w) => w.close()));
    }
    const tables = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'smsc' ORDER BY table_name`.execute(database.warehouse.db);
    expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['account_holds', 'api_requests']));
  });
});
