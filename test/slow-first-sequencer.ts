// Files run in parallel, so the run lasts at least as long as whichever slow file starts last.
// Vitest orders by the durations of the previous run when it has them, and otherwise (a fresh
// clone, as CI is) by file size, which would start short-lived-but-slow files such as
// cli-sync.test.ts near the end. The slowest files (about 15 to 40 s each when the machine is
// quiet; measured 2026-12-04) start first, in this order; the rest keep vitest's order.
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

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const i = SLOW_FIRST.findIndex((path) => spec.moduleId.endsWith(`/${path}`));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    // Array.prototype.sort is stable: equal ranks keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
