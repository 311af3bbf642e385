// Nothing skipped in silence: at the end of a run, every skipped test with its reason and a
// count, as the run's last lines (after vitest's summary and the JSON report, which this
// reporter writes too: vitest runs reporters side by side, so a separate one would print its
// path after the count); a skip without a reason is called out and fails the run. The same
// list goes to test-results/skipped.json, which .ci/run prints before its closing line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonReporter, type TestModule, type Vitest } from 'vitest/node';

declare module 'vitest' {
  interface TaskMeta {
    /** Why the test is skipped where it is (test/helpers/needs-server.ts sets it). */
    skipReason?: string;
  }
}

export interface SkippedTest {
  readonly project: string;
  readonly file: string;
  readonly test: string;
  /** null: skipped without a reason. */
  readonly reason: string | null;
}

/** Where the list is written, under the project root. */
export const SKIPPED_JSON = 'test-results/skipped.json';

export default class SkipReporter extends JsonReporter {
  private vitest!: Vitest;

  constructor() {
    super({});
  }

  override onInit(vitest: Vitest): void {
    super.onInit(vitest);
    this.vitest = vitest;
  }

  override async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
    await super.onTestRunEnd(testModules);
    const filtered = Boolean(this.vitest.config.testNamePattern);
    const skipped: SkippedTest[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped') continue;
        const reason = result.note ?? test.meta().skipReason ?? (filtered ? 'not selected by the test name filter (-t)' : null);
        skipped.push({ project: test.project.name, file: module.relativeModuleId, test: test.fullName, reason });
      }
    }
    const silent = skipped.filter((s) => s.reason === null);
    const path = join(this.vitest.config.root, SKIPPED_JSON);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ skipped: skipped.length, withoutReason: silent.length, tests: skipped }, null, 2)}\n`);

    const lines = [`skipped: ${skipped.length} test${skipped.length === 1 ? '' : 's'}${skipped.length ? ':' : ''}`];
    for (const s of skipped) lines.push(`  [${s.project}] ${s.file} > ${s.test}: ${s.reason ?? 'NO REASON GIVEN'}`);
    if (silent.length) {
      lines.push(
        `SKIPPED WITHOUT A REASON: ${silent.length} test${silent.length === 1 ? '' : 's'}, which fails the run. Run ${silent.length === 1 ? 'it' : 'them'}, ` +
          'or skip with a reason the summary can print (itNeedsServer in test/helpers/needs-server.ts, or ctx.skip(reason)).',
      );
      process.exitCode = 1;
    }
    this.vitest.logger.log(`\n${lines.join('\n')}`);
  }
}
