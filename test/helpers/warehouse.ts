// A test database with every migration applied.
import { migrateToLatest } from '../../src/warehouse/migrate.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export async function migratedDatabase(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase(label);
  await migrateToLatest(database.warehouse.db);
  return database;
}
