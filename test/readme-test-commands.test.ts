// The README's blocks that run the test suite (the PostgreSQL test command and the
// time-of-day sweep), each on one small file, as written, with the machine's own (older) node
// first on PATH: see test/readme-commands.test.ts for the rest of the README's blocks.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testServerUrl } from './helpers/database.ts';
import { bash, blockStarting, dataDir, SKIPPED, useDataDir } from './helpers/readme.ts';

useDataDir();

describe('the README blocks that run the tests', () => {
  it('bash scripts/dev.sh test', { skip: true, meta: { skipReason: `README line ${blockStarting('bash scripts/dev.sh demo').line + 1}: ${SKIPPED['bash scripts/dev.sh test']}` } }, () => {});


  it('npm test, with the machine node first on PATH (one small test file appended: the suite is this run)', async () => {
    const block = blockStarting('TEST_DATABASE_URL=');
    const url = testServerUrl() ?? '';
    // The README's URL is this machine's server; the run's server stands in when it is another.
    const line = block.lines[0]!.replace('postgres://root@127.0.0.1:5432/test', url || 'postgres://root@127.0.0.1:5432/test');
    // (On the postgres project only: the embedded copies' start-up, a migrated PGlite, is not what this shows.)
    const { code, output } = await bash(`${line} -- test/sync/summary.test.ts --project postgres --outputFile.json=${join(dataDir, 'inner-vitest.json')}`);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/Tests .*\d+ passed/);
    expect(output).not.toMatch(/Tests .*failed/);
  });

  it('bash scripts/test-times.sh (every default time)', { skip: true, meta: { skipReason: `README line ${blockStarting('bash scripts/test-times.sh').line}: ${SKIPPED['bash scripts/test-times.sh ']}` } }, () => {});

  it('bash scripts/test-times.sh 03:10 -- <one small test file>', async () => {
    const block = blockStarting('bash scripts/test-times.sh');
    const line = block.lines[1]!.split(/\s+#/)[0]!.trim();
    expect(line).toBe('bash scripts/test-times.sh 03:10 -- test/reports.test.ts');
    // The README's file syncs a month; a small one shows the command works at 03:10 Moscow.
    const { code, output } = await bash(`${line.replace('test/reports.test.ts', 'test/sync/summary.test.ts')} --project postgres --outputFile.json=${join(dataDir, 'times-vitest.json')}`, {}, 240_000);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toContain('test-times: passed at 03:10 Moscow');
  }, 300_000);

});
