// Files run in parallel, so the run lasts at least as long as whichever slow file starts last.
// Vitest orders by the durations of the previous run when it has them, and otherwise (a fresh
// clone, as CI is) by file size, which would start short-lived-but-slow files such as
// cli-sync.test.ts near the end. So: the postgres project's files first, the slowest of them
// (about 15 to 40 s each when the machine is quiet; measured 2026-12-04) in the order of
// SLOW_FIRST; then the pglite project's, the heaviest in the order of PGLITE_HEAVY_FIRST; the
// rest keep vitest's order.
//
// One project after the other, because a worker is reused (isolate: false, vitest.config.ts)
// only when the next file in the queue belongs to its project: interleaved, nearly every file
// would start a new worker again.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const SLOW_FIRST = [
  'test/reliability/crash.test.ts',
  'test/runs/many-accounts.test.ts',
  'test/readme-commands.test.ts',
  'test/readme-test-commands.test.ts',
  'test/runs/deadlines.test.ts',
  'test/cli-sync.test.ts',
  'test/cli.test.ts',
  'test/logging.test.ts',
  'test/scheduler/start.test.ts',
  'test/sync/backfill.test.ts',
  'test/streams/messages.test.ts',
  'test/runs/failed-logins.test.ts',
  'test/reliability/faults.test.ts',
  'test/runs/fencing.test.ts',
  'test/reliability/security.test.ts',
  'test/streams/kill.test.ts',
  'test/status-exit.test.ts',
  'test/report.test.ts',
  'test/docker.test.ts',
  'test/smsc/client.test.ts',
  'test/reliability/bad-input.test.ts',
  'test/metrics.test.ts',
  'test/runs/stats-cadence.test.ts',
  'test/check.test.ts',
  'test/streams/other-streams.test.ts',
  'test/embedded-template.test.ts',
];

/** The pglite project's files that take the most CPU (5 to 18 s each; measured 2026-12-05). */
export const PGLITE_HEAVY_FIRST = [
  'test/streams/messages.test.ts',
  'test/sync/backfill.test.ts',
  'test/reliability/faults.test.ts',
  'test/reliability/bad-input.test.ts',
  'test/streams/other-streams.test.ts',
  'test/smsc/client.test.ts',
  'test/streams/page-checks.test.ts',
  'test/reliability/security.test.ts',
  'test/warehouse/reconciliation.test.ts',
  'test/metrics.test.ts',
  'test/warehouse/migrate.test.ts',
  'test/scheduler/start.test.ts',
];

/** The order of the projects: the postgres project's CLI-heavy files first, then PGlite's. */
const PROJECTS = ['postgres', 'pglite'];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rankIn = (list: readonly string[], spec: TestSpecification) => {
      const i = list.findIndex((path) => spec.moduleId.endsWith(`/${path}`));
      return i < 0 ? list.length : i;
    };
    const project = (spec: TestSpecification) => {
      const i = PROJECTS.indexOf(spec.project.name);
      return i < 0 ? PROJECTS.length : i;
    };
    const rank = (spec: TestSpecification) => rankIn(spec.project.name === 'pglite' ? PGLITE_HEAVY_FIRST : SLOW_FIRST, spec);
    // Array.prototype.sort is stable: equal ranks keep vitest's order.
    return sorted.sort((a, b) => project(a) - project(b) || rank(a) - rank(b));
  }
}
