// Every column of every table and view the read-only role sees (schema smsc) carries a
// COMMENT, which BI tools show beside it: a column added without one fails here, by name.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/database.ts';
import { migratedDatabase } from '../helpers/warehouse.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await migratedDatabase('comments');
});
afterAll(async () => {
  await database.drop();
});

describe('comments on schema smsc', () => {
  it('every table and view of smsc has a comment', async () => {
    const { rows } = await sql<{ relation: string }>`
      SELECT c.relname AS relation FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'smsc' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND obj_description(c.oid, 'pg_class') IS NULL
      ORDER BY 1`.execute(database.warehouse.db);
    expect(rows.map((r) => r.relation), 'tables and views of smsc without a COMMENT').toEqual([]);
  });

  it('every column of every table and view of smsc has a comment', async () => {
    const { rows } = await sql<{ column: string }>`
      SELECT c.relname || '.' || a.attname AS column
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'smsc' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
        AND col_description(c.oid, a.attnum) IS NULL
      ORDER BY 1`.execute(database.warehouse.db);
    expect(rows.map((r) => r.column), 'columns of smsc without a COMMENT').toEqual([]);
  });
});
