// What the README tests share (test/readme-commands.test.ts, test/readme-test-commands.test.ts):
// the README's shell blocks, and a bash that runs one as written from the project folder, with
// the machine's own (older) node first on PATH, under `set -euo pipefail`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

export interface Block {
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

/** A fresh folder for the embedded warehouse of the calling file's blocks (SMSC_DATA_DIR), removed after it. */
export let dataDir: string;
export function useDataDir(): void {
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'smsc-readme-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
}

/** Runs a script in bash from the project folder; its output and exit code. */
export async function bash(script: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
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

export async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export const blocks = shellBlocks(README);
export const blockStarting = (first: string): Block => {
  const block = blocks.find((b) => b.lines[0]!.startsWith(first));
  if (!block) throw new Error(`the README has no shell block starting with '${first}'`);
  return block;
};

export const DOCKER =
  "needs a container engine, which this machine has not: test/docker.test.ts checks the compose file with docker-compose and podman-compose, and replays the image's start-up";

/** The README's lines that are not run as written, and why. */
export const SKIPPED: Record<string, string> = {
  'bash scripts/dev.sh test': 'it is this test run',
  'bash scripts/test-times.sh ': 'the whole suite four times under libfaketime: run by hand (README), too long for one test',
  'cp .env.example .env': 'it would leave a .env in the project folder, which every later command and test reads',
  'docker compose ': DOCKER,
  'curl -s http://127.0.0.1:9464/healthz': DOCKER,
};

