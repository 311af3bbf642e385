import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/slow-first-sequencer.ts';

// Each worker process compiles the same modules again (kysely, pglite, undici): Node's compile
// cache keeps V8's code between them, and between runs, in node_modules/.cache beside the
// CLI's. About a tenth less CPU on light files when each had a process of its own (measured
// 2026-12-05: 16.3 s against 18.4 s of CPU for 15 files). Workers inherit the variable; the
// CLI processes tests start get an environment of their own (test/helpers/child-env.ts).
process.env.NODE_COMPILE_CACHE ??= fileURLToPath(new URL('./node_modules/.cache/vitest-compile-cache', import.meta.url));

// Every test runs on PostgreSQL (test/global-setup.ts finds or starts one); the tests that
// touch the warehouse run a second time on embedded PGlite, the default warehouse of a user
// without DATABASE_URL.
const WAREHOUSE_TESTS = ['test/harness.test.ts', 'test/metrics.test.ts', 'test/warehouse/**/*.test.ts', 'test/smsc/client.test.ts', 'test/streams/**/*.test.ts', 'test/scheduler/**/*.test.ts', 'test/sync/**/*.test.ts', 'test/reliability/**/*.test.ts'];

// Files none of whose tests can run on PGlite, which lives inside the test process: they run in
// the postgres project only. (A single such test in a file is skipped there with its reason,
// printed at the end of the run: itNeedsServer in test/helpers/needs-server.ts.)
const SERVER_ONLY = {
  // The real CLI, SIGKILLed and restarted 20 times, reaches the warehouse through DATABASE_URL.
  'test/reliability/crash.test.ts': 'child processes',
  // Syncs killed in the middle of a walk or a backfill, as child processes with DATABASE_URL.
  'test/streams/kill.test.ts': 'child processes',
};

// The crash suite runs beside the others, first (slow-first-sequencer.ts). It ran alone after
// them until its kill moment adapted to how long its runs take (it is drawn within the shortest
// run seen ending by itself): alone it left one core mostly idle for its 22 s (19 of 58
// core-seconds idle, measured 2026-12-05); beside the others the whole run took 235 s against
// 247-255 s.

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Three files at a time on two cores: many files now spend much of their time waiting
    // (child processes starting, emulators answering slowly on purpose, schedules firing), and
    // a third worker fills that: measured 2026-12-04 on the whole suite, 288 s against 312 s
    // with two.
    maxWorkers: 3,
    // A worker runs file after file of its project (slow-first-sequencer.ts keeps each
    // project's files together), instead of a new process per file: the modules (kysely, pg,
    // pglite, undici, the sources) are evaluated once per worker, and V8 keeps PGlite's
    // compiled WebAssembly between the files' warehouses. Measured 2026-12-05 on the whole
    // suite: 305 s of CPU and 202 s against 361 s and 227-239 s, isolated. Every file already
    // makes its own database, emulator, ports and folders, and leaves nothing running (an
    // error after a file's end fails the run). `npm test -- --isolate` runs each file in a
    // process of its own, for telling whether a failure depends on a file run before it.
    isolate: false,
    sequence: { sequencer: SlowFirstSequencer },
    // Integration tests start emulators, child processes and databases.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The default reporter is for people; the skip reporter writes the JSON report (what
    // .ci/run counts), then lists every skipped test with its reason as the run's last lines.
    reporters: ['default', './test/reporters/skip-reporter.ts'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      { extends: true, test: { name: 'postgres', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'pglite',
          include: WAREHOUSE_TESTS,
          exclude: [...configDefaults.exclude, ...Object.keys(SERVER_ONLY)],
          provide: { forcePglite: true },
        },
      },
    ],
  },
});
