// Chooses the PostgreSQL the integration tests run on, once per run: TEST_DATABASE_URL when
// set, else a testcontainers PostgreSQL where a Docker engine answers, else none (each test
// file then gets an embedded PGlite). Never a mock.
import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the server on which each test file creates its own database; null: PGlite. */
    databaseUrl: string | null;
    /** The 'pglite' project: embedded PGlite whatever server there is. */
    forcePglite?: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) {
    project.provide('databaseUrl', fromEnv);
    return async () => {};
  }
  if (process.env.DOCKER_HOST || existsSync('/var/run/docker.sock')) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:17-alpine').start();
    project.provide('databaseUrl', container.getConnectionUri());
    return async () => {
      await container.stop();
    };
  }
  console.warn('test databases: no TEST_DATABASE_URL and no Docker engine, using embedded PGlite');
  project.provide('databaseUrl', null);
  return async () => {};
}
