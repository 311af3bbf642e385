// The harness itself: every file gets a real, empty database of its own.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testServerUrl } from './helpers/database.ts';

describe('test database harness', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    a = await createTestDatabase('harness_a');
    b = await createTestDatabase('harness_b');
  });
  afterAll(async () => {
    await a.drop();
    await b.drop();
  });

  it('gives each caller its own empty database on a real PostgreSQL engine', async () => {
    expect(a.name).not.toBe(b.name);
    await sql`CREATE TABLE t (id bigint PRIMARY KEY, note text)`.execute(a.warehouse.db);
    await sql`INSERT INTO t VALUES (9007199254740993, 'первая')`.execute(a.warehouse.db);
    const rows = await sql<{ id: string; note: string }>`SELECT id, note FROM t`.execute(a.warehouse.db);
    expect(rows.rows).toEqual([{ id: '9007199254740993', note: 'первая' }]);
    const other = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 't'`.execute(b.warehouse.db);
    expect(other.rows[0]!.n).toBe(0);
    // Calendar days come back as text on both engines: no time zone can shift them.
    const day = await sql<{ d: unknown }>`SELECT '2026-06-15'::date AS d`.execute(a.warehouse.db);
    expect(day.rows[0]!.d).toBe('2026-06-15');
    const version = await sql<{ v: string }>`SELECT version() AS v`.execute(a.warehouse.db);
    expect(version.rows[0]!.v).toMatch(/^PostgreSQL \d+/);
  });

  it('uses the server from TEST_DATABASE_URL when it is set, and PGlite in the pglite project', () => {
    if (process.env.TEST_DATABASE_URL) expect(inject('databaseUrl')).toBe(process.env.TEST_DATABASE_URL);
    expect(a.warehouse.kind).toBe(testServerUrl() ? 'postgres' : 'pglite');
    if (inject('forcePglite')) expect(a.warehouse.kind).toBe('pglite');
  });
});
