// The harness itself: every file gets a real database of its own, empty or migrated.
import { readdirSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testServerUrl } from './helpers/database.ts';
import { migratedDatabase } from './helpers/warehouse.ts';

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

  it('uses the server from TEST_DATABASE_URL when it is set, a PostgreSQL server in any case outside the pglite project, and PGlite in it', () => {
    if (process.env.TEST_DATABASE_URL) expect(inject('databaseUrl')).toBe(process.env.TEST_DATABASE_URL);
    expect(a.warehouse.kind).toBe(testServerUrl() ? 'postgres' : 'pglite');
    expect(a.warehouse.kind).toBe(inject('forcePglite') ? 'pglite' : 'postgres');
  });
});

describe('migrated test databases', () => {
  it('have every migration in migrations/ applied, and each is a database of its own', async () => {
    const one = await migratedDatabase('harness_m1');
    const two = await migratedDatabase('harness_m2');
    try {
      const files = readdirSync(new URL('../migrations', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
      for (const database of [one, two]) {
        const applied = await sql<{ name: string }>`SELECT name FROM smsc_internal.kysely_migration ORDER BY name`.execute(database.warehouse.db);
        expect(applied.rows.map((r) => r.name)).toEqual(files);
        const codes = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.status_codes`.execute(database.warehouse.db);
        expect(codes.rows[0]!.n).toBeGreaterThan(0);
      }
      await sql`CREATE TABLE smsc.harness_probe (id int)`.execute(one.warehouse.db);
      const seen = await sql<{ n: number }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'harness_probe'`.execute(two.warehouse.db);
      expect(seen.rows[0]!.n).toBe(0);
    } finally {
      await one.drop();
      await two.drop();
    }
  });
});
