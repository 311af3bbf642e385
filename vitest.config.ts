import { defineConfig } from 'vitest/config';

// Every test runs on PostgreSQL; the tests that touch the warehouse run a second time on
// embedded PGlite, the default warehouse of a user without DATABASE_URL.
const WAREHOUSE_TESTS = ['test/harness.test.ts', 'test/warehouse/**/*.test.ts', 'test/smsc/client.test.ts', 'test/streams/**/*.test.ts', 'test/scheduler/**/*.test.ts', 'test/sync/**/*.test.ts', 'test/reliability/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start emulators, child processes and databases.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      { extends: true, test: { name: 'postgres', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'pglite', include: WAREHOUSE_TESTS, provide: { forcePglite: true } } },
    ],
  },
});
