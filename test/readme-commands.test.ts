// Every shell block of the README, run as written, in bash, from the project folder, with the
// machine's own (older) node first on PATH and only the quick start done before (node_modules
// and the Node 24 in .tools/ are there). Each block is one script under `set -euo pipefail`.
// Lines that cannot run here as written are listed below with the reason, and what runs in
// their place where something does; a README line this file does not know runs as written,
// and a README block that is gone fails the test that expects it. Skipped lines print their
// reason in the run's summary.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testServerUrl } from './helpers/database.ts';
import { admin } from './helpers/template-database.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  readonly line: number;
  readonly lines: readonly string[];
}

/** The ```sh blocks, with the README line each starts on. */
function shellBlocks(text: string): Block[] {
  const out: Block[] = [];
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(all[i]!)) continue;
    const start = i + 1;
    const lines: string[] = [];
    for (i++; i < all.length && !all[i]!.startsWith('```'); i++) lines.push(all[i]!);
    out.push({ line: start + 1, lines });
  }
  return out;
}

/** A PATH whose `node` is the machine's own: /usr/bin first, .tools/ and the test's Node left out. */
const OLD_NODE_PATH = '/usr/local/bin:/usr/bin:/bin';

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'smsc-readme-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs a script in bash from the project folder; its output and exit code. */
async function bash(script: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  // (A block that fails half-way leaves its background jobs to the trap, not to the next test.)
  const child = spawn('bash', ['-c', `set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${script}`], {
    cwd: ROOT,
    // The shell's environment: PATH with the older node, a fresh folder for the embedded
    // warehouse (the commands are unchanged; SMSC_DATA_DIR is only where .smsc-sync/ goes).
    env: { HOME: process.env.HOME ?? '/root', PATH: OLD_NODE_PATH, SMSC_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, output };
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const blocks = shellBlocks(README);
const blockStarting = (first: string): Block => {
  const block = blocks.find((b) => b.lines[0]!.startsWith(first));
  if (!block) throw new Error(`the README has no shell block starting with '${first}'`);
  return block;
};

const DOCKER =
  "needs a container engine, which this machine has not: test/docker.test.ts checks the compose file with docker-compose and podman-compose, and replays the image's start-up";

/** The README's lines that are not run as written, and why. */
const SKIPPED: Record<string, string> = {
  'bash scripts/dev.sh test': 'it is this test run',
  'bash scripts/test-times.sh ': 'the whole suite four times under libfaketime: run by hand (README), too long for one test',
  'cp .env.example .env': 'it would leave a .env in the project folder, which every later command and test reads',
  'docker compose ': DOCKER,
  'curl -s http://127.0.0.1:9464/healthz': DOCKER,
};

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

  it('bash scripts/dev.sh test', { skip: true, meta: { skipReason: `README line ${blockStarting('bash scripts/dev.sh demo').line + 1}: ${SKIPPED['bash scripts/dev.sh test']}` } }, () => {});

  it('npm test, with the machine node first on PATH (one small test file appended: the suite is this run)', async () => {
    const block = blockStarting('TEST_DATABASE_URL=');
    const url = testServerUrl() ?? '';
    // The README's URL is this machine's server; the run's server stands in when it is another.
    const line = block.lines[0]!.replace('postgres://root@127.0.0.1:5432/test', url || 'postgres://root@127.0.0.1:5432/test');
    const { code, output } = await bash(`${line} -- test/sync/summary.test.ts --outputFile.json=${join(dataDir, 'inner-vitest.json')}`);
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
    const { code, output } = await bash(`${line.replace('test/reports.test.ts', 'test/sync/summary.test.ts')} --outputFile.json=${join(dataDir, 'times-vitest.json')}`, {}, 240_000);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toContain('test-times: passed at 03:10 Moscow');
  }, 300_000);

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
