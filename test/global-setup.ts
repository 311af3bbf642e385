// Chooses the PostgreSQL the tests run on, once per run, and prints which: TEST_DATABASE_URL
// when set, else a testcontainers PostgreSQL where a Docker engine answers, else a server this
// run starts itself (postgres-server.ts). Never a mock, never nothing: without a server the
// run stops here with the reason. Then it makes what each test file starts from: a migrated
// template database to clone, and for the pglite project dumps of an empty and a migrated
// PGlite to load.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './helpers/postgres-server.ts';
import { createTemplateDatabase, type TemplateDatabase } from './helpers/template-database.ts';
import { dumpPglite } from './helpers/pglite-dump.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the server on which each test file creates its own database. */
    databaseUrl: string;
    /** The migrated database on that server that migratedDatabase() clones. */
    templateDatabase: string;
    /** PGlite dumps (dumpDataDir, uncompressed tar) of a fresh and of a migrated warehouse; null when no pglite project runs. */
    pgliteDumps: { empty: string; migrated: string } | null;
    /** The 'pglite' project: embedded PGlite whatever server there is. */
    forcePglite?: boolean;
  }
}

interface Server {
  readonly url: string;
  readonly description: string;
  stop(): Promise<void>;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wantsPglite = project.vitest.projects.some((p) => p.config.provide?.forcePglite === true);
  const dumpDir = wantsPglite ? mkdtempSync(join(tmpdir(), 'smsc-test-pglite-')) : undefined;
  const removeDumps = () => dumpDir && rmSync(dumpDir, { recursive: true, force: true });
  // Both take seconds: the server's initdb and PGlite's run side by side.
  const [server, dumps] = await Promise.allSettled([chooseServer(), dumpDir ? makePgliteDumps(dumpDir) : Promise.resolve(null)]);
  if (server.status === 'rejected' || dumps.status === 'rejected') {
    if (server.status === 'fulfilled') await server.value.stop();
    removeDumps();
    throw server.status === 'rejected' ? server.reason : (dumps as PromiseRejectedResult).reason;
  }
  console.log(`test database server: ${server.value.description}`);
  let template: TemplateDatabase;
  try {
    template = await createTemplateDatabase(server.value.url);
  } catch (error) {
    await server.value.stop();
    removeDumps();
    throw error;
  }
  project.provide('databaseUrl', server.value.url);
  project.provide('templateDatabase', template.name);
  project.provide('pgliteDumps', dumps.value);
  return async () => {
    try {
      if (process.env.KEEP_TEST_DATABASES !== '1') await template.drop();
    } finally {
      removeDumps();
      await server.value.stop();
    }
  };
}

async function chooseServer(): Promise<Server> {
  const fromEnv = process.env.TEST_DATABASE_URL;
  if (fromEnv) return { url: fromEnv, description: `TEST_DATABASE_URL (${withoutPassword(fromEnv)})`, stop: async () => {} };
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const image = 'postgres:17-alpine';
    const container = await new PostgreSqlContainer(image).start();
    return {
      url: container.getConnectionUri(),
      description: `testcontainers ${image} at ${container.getHost()}:${container.getPort()}`,
      stop: async () => {
        await container.stop();
      },
    };
  }
  return startPostgresServer();
}

/** Whether testcontainers finds a Docker engine that answers (DOCKER_HOST, the socket, its own config). */
async function dockerAnswers(): Promise<boolean> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function makePgliteDumps(dir: string): Promise<{ empty: string; migrated: string }> {
  const { empty, migrated } = await dumpPglite();
  const paths = { empty: join(dir, 'empty.tar'), migrated: join(dir, 'migrated.tar') };
  writeFileSync(paths.empty, empty);
  writeFileSync(paths.migrated, migrated);
  return paths;
}

function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}
