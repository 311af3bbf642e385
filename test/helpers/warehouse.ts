// A test database with every migration applied: a clone of the run's migrated template.
import { createTestDatabase, type TestDatabase } from './database.ts';

export function migratedDatabase(label: string): Promise<TestDatabase> {
  return createTestDatabase(label, { migrated: true });
}
