// Every shell block of the README, run as written, in bash, from the project folder, with the
// machine's own (older) node first on PATH and only the quick start done before (node_modules
// and the Node 24 in .tools/ are there). Each block is one script under `set -euo pipefail`.
// Lines that cannot run here as written are listed in test/helpers/readme.ts with the reason,
// and what runs in their place where something does; a README line this file does not know
// runs as written, and a README block that is gone fails the test that expects it. Skipped
// lines print their reason in the run's summary. The blocks that run the test suite itself are
// in test/readme-test-commands.test.ts, so that the two files run side by side.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testServerUrl } from './helpers/database.ts';
import { bash, blocks, blockStarting, DOCKER, listening, SKIPPED, useDataDir } from './helpers/readme.ts';
import { admin } from './helpers/template-database.ts';

useDataDir();

describe('every README shell block runs as written', () => {
  it('knows every block the README has', () => {
    // A new block needs its test here (what it must show), or it would run unchecked.
    expect(blocks.map((b) => b.lines[0]!.split(/\s+#/)[0]!.trim())).toEqual([
      'bash scripts/dev.sh demo',
      'TEST_DATABASE_URL=postgres://root@127.0.0.1:5432/test npm test',
      'bash scripts/test-times.sh',
      'cp .env.example .env',
      'npx smsc-sync sandbox --port 8123 &',
      'npx smsc-sync sandbox --port 8123 &',
      'DATABASE_URL=postgres://owner@db/smsc npx smsc-sync grant-reader --role smsc_reader',
    ]);
  });

  it('the machine node these blocks run with', async () => {
    const { output } = await bash('node --version');
    // Older than 22.12 on these machines (Debian's Node 20): what the bin and the npm scripts must cope with.
    expect(output.trim()).toMatch(/^v\d+\.\d+\.\d+$/);
  });

  it('the quick start: bash scripts/dev.sh demo', async () => {
    const block = blockStarting('bash scripts/dev.sh demo');
    const script = block.lines.filter((l) => !Object.keys(SKIPPED).some((s) => l.startsWith(s))).join('\n');
    expect(script).toContain('bash scripts/dev.sh demo');
    const { code, output } = await bash(script);
    expect(code, output).toBe(0);
    expect(output).toMatch(/outbound +succeeded \+[1-9]\d* new/);
  });

  it('docker compose: every line is one that needs an engine (or would leave a .env behind)', (ctx) => {
    const block = blockStarting('cp .env.example .env');
    const unknown = block.lines.filter((l) => !Object.keys(SKIPPED).some((s) => l.startsWith(s)));
    expect(unknown, 'lines of the Docker block this test does not know').toEqual([]);
    ctx.skip(`README lines ${block.line}-${block.line + block.lines.length - 1}: ${DOCKER}`);
  });

  it('sync against the emulator by hand, then kill %1 frees the port', async () => {
    const block = blocks.filter((b) => b.lines[0]!.startsWith('npx smsc-sync sandbox --port 8123 &'))[0]!;
    expect(await listening(8123)).toBe(false);
    const { code, output } = await bash(block.lines.join('\n'));
    expect(code, output).toBe(0);
    expect(output.trim().split('\n').at(-1)).toBe('healthy');
    expect(output).toMatch(/outbound +last run \S+ succeeded: \+[1-9]\d* new/);
    // The emulator went with kill %1, although npm does not pass the signal on.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await listening(8123)).toBe(false);
  });

  it('try the emulator by hand: five messages as JSON, then kill %1 frees the port', async () => {
    const block = blocks.filter((b) => b.lines[0]!.startsWith('npx smsc-sync sandbox --port 8123 &'))[1]!;
    const { code, output } = await bash(block.lines.join('\n'));
    expect(code, output).toBe(0);
    const json = JSON.parse(output.slice(output.indexOf('['), output.lastIndexOf(']') + 1)) as { int_id: string }[];
    expect(json).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await listening(8123)).toBe(false);
  });

  it('connecting a BI tool: grant-reader and a login in the role (on a test database, with role names of its own)', async () => {
    const server = testServerUrl();
    expect(server).not.toBeNull();
    const block = blockStarting('DATABASE_URL=postgres://owner@db/smsc');
    const database: TestDatabase = await createTestDatabase('readme_reader', { migrated: true });
    const suffix = randomBytes(3).toString('hex');
    const [reader, login] = [`smsc_reader_${suffix}`, `metabase_${suffix}`];
    // The README's owner@db is a placeholder for the user's server: the test database stands
    // in for it, and the cluster-wide role names get a suffix so that runs do not collide.
    const script = block.lines
      .join('\n')
      .replace('DATABASE_URL=postgres://owner@db/smsc', `export DATABASE_URL=${database.url};`)
      .replaceAll('smsc_reader', reader)
      .replace('ROLE metabase', `ROLE ${login}`);
    try {
      const { code, output } = await bash(script);
      expect(code, output).toBe(0);
      const asLogin = new URL(database.url!);
      asLogin.username = login;
      asLogin.password = 'choose-one';
      const { code: readCode, output: read } = await bash(`psql "${asLogin}" -Atc "SELECT count(*) FROM smsc.status_codes"`);
      expect(readCode, read).toBe(0);
      expect(Number(read.trim())).toBeGreaterThan(0);
    } finally {
      await database.drop();
      for (const role of [login, reader]) await admin(server!, `DROP ROLE IF EXISTS "${role}"`);
    }
  });
});
