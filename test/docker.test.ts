// What a Docker or Compose user meets, checked without a container engine (there is none on
// CI's machine): the compose file as each Compose installed here reads it (docker-compose
// config; podman-compose turning it into `podman run` lines without running them), the
// Dockerfile and .dockerignore as Docker reads them, and the image's start-up without
// DATABASE_URL, replayed on this machine as the image runs it: its environment, a user that
// may not write the working folder, then /healthz through the image's own health check, and
// SIGTERM.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { Sandbox } from '../src/sandbox/server.ts';
import { childEnv } from './helpers/child-env.ts';
import { testSandbox } from './helpers/sandbox.ts';
import { useTempDirs } from './helpers/temp-dirs.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const NO_ACCOUNT = 'SMSC_LOGIN + SMSC_PASSWORD, or SMSC_APIKEY, or SMSC_ACCOUNTS: no SMSC account is configured';

const tempDir = useTempDirs();

// --- The Dockerfile, as Docker reads it --------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [keyword, ...rest] = l.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

const dockerfile = instructions(read('Dockerfile'));

/** The variables the image sets (`ENV K=V` and `ENV K V`). */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of dockerfile.filter((i) => i.keyword === 'ENV')) {
    if (!args.includes('=')) {
      const [k, ...v] = args.split(/\s+/);
      env[k!] = v.join(' ');
    } else for (const [, k, v] of args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) env[k!] = v!.replace(/^"|"$/g, '');
  }
  return env;
}

/** An exec-form (`["node", "x"]`) or shell-form command, as its words. */
const words = (form: string) => (form.trim().startsWith('[') ? (JSON.parse(form) as string[]) : form.trim().split(/\s+/));

describe('the image (Dockerfile, .dockerignore)', () => {
  it('runs as the user node, with SMSC_DATA_DIR a folder created and given to node before USER, and a volume', () => {
    const users = dockerfile.filter((i) => i.keyword === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    const dataDir = imageEnv().SMSC_DATA_DIR;
    // Without it the embedded warehouse goes to .smsc-sync in WORKDIR, which node may not create.
    expect(dataDir ?? 'not set', 'ENV SMSC_DATA_DIR').toMatch(/^\//);
    const userAt = dockerfile.findIndex((i) => i.keyword === 'USER' && i.args === 'node');
    const runs = dockerfile.slice(0, userAt).filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => new RegExp(`\\bmkdir\\b[^&;]*\\s${dataDir}(\\s|$)`).test(r)), `RUN mkdir ${dataDir} before USER node`).toBe(true);
    expect(runs.some((r) => new RegExp(`\\bchown\\s+(-R\\s+)?node(:node)?\\s+${dataDir}(\\s|$)`).test(r)), `RUN chown node:node ${dataDir} before USER node`).toBe(true);
    const volumes = dockerfile.filter((i) => i.keyword === 'VOLUME').flatMap((i) => words(i.args));
    expect(volumes).toContain(dataDir);
  });

  it('serves /healthz on the port it sets and exposes, and its HEALTHCHECK runs the health-check script with node', () => {
    const port = imageEnv().SMSC_HTTP_PORT;
    expect(port ?? 'not set', 'ENV SMSC_HTTP_PORT').toMatch(/^\d+$/);
    expect(dockerfile.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/))).toContain(port);
    const check = dockerfile.find((i) => i.keyword === 'HEALTHCHECK');
    expect(check, 'HEALTHCHECK').toBeDefined();
    // node:24-slim has neither curl nor wget: the check is node and the script the image copies.
    const command = words(check!.args.replace(/^(--\S+\s+)*CMD\s+/, ''));
    expect(command).toEqual(['node', '/app/bin/healthcheck.js']);
    expect(dockerfile.some((i) => i.keyword === 'WORKDIR' && i.args === '/app')).toBe(true);
    expect(dockerfile.some((i) => i.keyword === 'COPY' && /^bin\s+\.\/bin$/.test(i.args))).toBe(true);
    expect(existsSync(join(ROOT, 'bin/healthcheck.js'))).toBe(true);
  });

  it('.dockerignore keeps secrets, local installs and data out of the build context, and nothing the image copies', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['.env', 'node_modules', '.tools', '.git', '.smsc-sync', 'test-results']) expect(patterns, p).toContain(p);
    const copied = dockerfile.filter((i) => i.keyword === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(copied).toEqual(['package.json', 'package-lock.json', 'bin', 'src', 'migrations', 'jobs']);
    for (const c of copied) expect(patterns.filter((p) => !p.startsWith('!')), c).not.toContain(c);
  });
});

// --- docker-compose.yml, as each Compose installed here reads it ----------------------------

/** One service as a Compose would start it. */
interface ServiceView {
  readonly environment: Record<string, string>;
  /** `host:container` */
  readonly published: readonly string[];
  /** The health check's command, as one line. */
  readonly healthcheck: string;
}

interface ComposeTool {
  readonly name: string;
  /** Why its tests are skipped here; undefined when it is installed. */
  readonly missing: string | undefined;
  /** The services as the tool would start them from `dir`, with `env` as the shell's environment. */
  readonly services: (dir: string, env: Record<string, string>) => Record<string, ServiceView>;
}

const run = (command: string, args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}) =>
  spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, ...options });

/** The shell a user types `docker compose up` in: PATH and HOME, and what the scenario sets. */
const shellEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), ...env });

/** `docker-compose config` (or `docker compose config`): the resolved file, as JSON. */
function composeConfig(command: string[], json: boolean, dir: string, env: Record<string, string>): Record<string, ServiceView> {
  const [bin, ...pre] = command;
  const out = run(bin!, [...pre, 'config', ...(json ? ['--format', 'json'] : [])], { cwd: dir, env: shellEnv(env) });
  expect(out.status, `${command.join(' ')} config: ${out.stderr}`).toBe(0);
  // docker-compose 1.x prints YAML only; its own Python has the YAML module.
  const text = json ? out.stdout : run('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: out.stdout }).stdout;
  const model = JSON.parse(text) as { services: Record<string, { environment?: Record<string, string | null>; ports?: (string | { host_ip?: string; published?: string | number; target: number })[]; healthcheck?: { test?: string[] | string } }> };
  return Object.fromEntries(
    Object.entries(model.services).map(([name, s]) => [
      name,
      {
        environment: Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? ''])),
        published: (s.ports ?? []).map((p) => (typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip ? `${p.host_ip}:` : ''}${p.published ?? ''}:${p.target}`)),
        healthcheck: [s.healthcheck?.test ?? []].flat().join(' '),
      },
    ]),
  );
}

/** `podman-compose up` with --dry-run and `true` for podman: the `podman run` lines it would run. */
function podmanRuns(dir: string, env: Record<string, string>): Record<string, ServiceView> {
  const out = run('podman-compose', ['--dry-run', '--podman-path', TRUE, 'up', '-d', '--no-build'], { cwd: dir, env: shellEnv(env) });
  expect(out.status, `podman-compose: ${out.stdout}${out.stderr}`).toBe(0);
  const services: Record<string, ServiceView> = {};
  for (const line of out.stdout.split('\n').filter((l) => / run /.test(l) && l.includes('--name='))) {
    const service = /com\.docker\.compose\.service=(\S+)/.exec(line)?.[1];
    if (!service) continue;
    services[service] = {
      environment: Object.fromEntries([...line.matchAll(/ -e (\w+)=(\S*)/g)].map((m) => [m[1]!, m[2]!])),
      published: [...line.matchAll(/ -p (\S+)/g)].map((m) => m[1]!),
      healthcheck: /--healthcheck-command (.*?) --healthcheck-/.exec(line)?.[1] ?? '',
    };
  }
  return services;
}

const TRUE = ['/usr/bin/true', '/bin/true'].find((p) => existsSync(p)) ?? 'true';

/** Whether `command args` runs here; its output when it does. */
function probe(command: string, args: string[]): string | undefined {
  const out = run(command, args);
  return out.status === 0 ? out.stdout.trim() : undefined;
}

const v2Version = probe('docker', ['compose', 'version', '--short']);
const standaloneVersion = probe('docker-compose', ['version', '--short']);
const podmanCompose = probe('podman-compose', ['--help']);

const TOOLS: ComposeTool[] = [
  {
    name: 'Compose v2 (docker compose)',
    missing: v2Version ? undefined : 'Compose v2 (the docker compose plugin) is not installed here',
    services: (dir, env) => composeConfig(['docker', 'compose'], true, dir, env),
  },
  {
    name: `docker-compose${standaloneVersion ? ` ${standaloneVersion}` : ''}`,
    missing: standaloneVersion ? undefined : 'docker-compose is not installed here (Debian: apt-get install docker-compose)',
    services: (dir, env) => composeConfig(['docker-compose'], !standaloneVersion!.startsWith('1.'), dir, env),
  },
  {
    name: 'podman-compose',
    missing: podmanCompose ? undefined : 'podman-compose is not installed here (Debian: apt-get install podman-compose)',
    services: podmanRuns,
  },
];

/** A folder holding the compose file alone (no .env unless a test writes one). */
function project(): string {
  const dir = tempDir('smsc-compose-');
  copyFileSync(join(ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  return dir;
}

const README = read('README.md');
const DOCKER_SECTION = README.slice(README.indexOf('### Docker'), README.indexOf('### By hand'));

/** The README's docker-compose.override.yml that publishes PostgreSQL on the host. */
function readmeOverride(): string {
  const block = /```yaml\n(\s*# docker-compose\.override\.yml\n[\s\S]*?)```/.exec(DOCKER_SECTION)?.[1];
  expect(block, "the README's docker-compose.override.yml").toBeDefined();
  const indent = /^ */.exec(block!)![0].length;
  return block!
    .split('\n')
    .map((l) => l.slice(indent))
    .join('\n');
}

/** smsc-sync's configuration from the environment the compose file gives its container. */
const containerConfig = (view: ServiceView) => loadConfig(view.environment, { cwd: tempDir('smsc-compose-cwd-') });

describe.each(TOOLS)('docker-compose.yml under $name', (tool) => {
  const toolIt = (name: string, fn: () => void) => it(name, { skip: tool.missing !== undefined, ...(tool.missing ? { meta: { skipReason: tool.missing } } : {}) }, fn);

  toolIt('is accepted without a .env, publishes no PostgreSQL port, and serves smsc-sync health on 9464', () => {
    const services = tool.services(project(), {});
    expect(Object.keys(services).sort()).toEqual(['postgres', 'smsc-sync']);
    // A PostgreSQL on the host keeps its 5432: nothing is published to or from it.
    for (const [name, s] of Object.entries(services)) expect(s.published.filter((p) => /(^|:)5432(\/|:|$)/.test(p)), name).toEqual([]);
    const app = services['smsc-sync']!;
    expect(app.published).toEqual(['127.0.0.1:9464:9464']);
    expect(app.environment.SMSC_HTTP_PORT).toBe('9464');
    expect(app.healthcheck).toMatch(/node.*\/app\/bin\/healthcheck\.js/);
    expect(app.environment.DATABASE_URL).toBe('postgres://smsc:smsc@postgres:5432/smsc');
    // What the container is given for the variables nobody set is read as unset: it says the
    // one thing missing, the account, and nothing about the empty ones.
    for (const [k, v] of Object.entries(app.environment)) expect(v, k).not.toContain('$');
    let problems: readonly string[] = [];
    try {
      containerConfig(app);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([NO_ACCOUNT]);
  });

  toolIt('passes the account from .env to smsc-sync', () => {
    const dir = project();
    writeFileSync(join(dir, '.env'), 'SMSC_LOGIN=acme\nSMSC_PASSWORD=s3cret-pw\nSMSC_TIMEZONE=Asia/Almaty\n');
    const config = containerConfig(tool.services(dir, {})['smsc-sync']!);
    expect(config.accounts).toEqual([expect.objectContaining({ name: 'acme', login: 'acme', password: 's3cret-pw', timezone: 'Asia/Almaty', baseUrl: 'https://smsc.ru' })]);
    expect(config.databaseUrl).toBe('postgres://smsc:smsc@postgres:5432/smsc');
    expect(config.httpPort).toBe(9464);
  });

  toolIt("publishes PostgreSQL on the host with the README's docker-compose.override.yml", () => {
    const dir = project();
    writeFileSync(join(dir, 'docker-compose.override.yml'), readmeOverride());
    const services = tool.services(dir, {});
    expect(services.postgres!.published).toEqual(['127.0.0.1:5433:5432']);
    expect(services['smsc-sync']!.published).toEqual(['127.0.0.1:9464:9464']);
  });

  toolIt('passes the account from the shell to smsc-sync', () => {
    const config = containerConfig(tool.services(project(), { SMSC_APIKEY: 'k3y-from-shell', SMSC_ACCOUNT_NAME: 'shop', LOG_LEVEL: 'warn' })['smsc-sync']!);
    expect(config.accounts).toEqual([expect.objectContaining({ name: 'shop', apikey: 'k3y-from-shell', login: undefined })]);
    expect(config.logLevel).toBe('warn');
  });
});

describe('docker-compose.yml and the README', () => {
  it('the README names the variables the compose file hands to smsc-sync, all of them documented in .env.example', () => {
    const lines = read('docker-compose.yml')
      .split('\n')
      .filter((l) => !/^\s*#/.test(l));
    const interpolated = [...lines.join('\n').matchAll(/\$\{(\w+)/g)].map((m) => m[1]!);
    const said = /hands them to smsc-sync: ([^.]*)\./.exec(DOCKER_SECTION.replace(/\s+/g, ' '))?.[1] ?? '';
    expect([...said.matchAll(/`(\w+)`/g)].map((m) => m[1]!)).toEqual(interpolated);
    const example = read('.env.example');
    for (const name of interpolated) expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});

// --- The image's start-up, replayed here ---------------------------------------------------

const BIN = join(ROOT, 'bin/smsc-sync.js');
/** The image's user may not write its working folder (/app belongs to root); here: nobody. */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A working folder like /app: readable, not writable by the user the process runs as. */
function readOnlyWorkdir(): string {
  const dir = tempDir('smsc-image-app-');
  chmodSync(dir, 0o555);
  return dir;
}

/** A data folder like the image's: created, then given to that user (RUN mkdir + chown). */
function ownedDataDir(): string {
  const dir = tempDir('smsc-image-data-');
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  return dir;
}

let sandbox: Sandbox;
let child: ChildProcess | undefined;
beforeAll(async () => {
  sandbox = await testSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** The image's CMD with its environment, the folders and the port moved to this machine. */
function startImage(cwd: string, env: Record<string, string | undefined>): { child: ChildProcess; output: () => string } {
  const cmd = words(dockerfile.find((i) => i.keyword === 'CMD')!.args);
  child = spawn(process.execPath, [BIN, ...cmd], {
    cwd,
    env: childEnv({ HOME: cwd, ...imageEnv(), SMSC_LOGIN: 'demo', SMSC_PASSWORD: 'demo', SMSC_BASE_URL: sandbox.url, ...env }),
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  return { child, output: () => output };
}

/** Waits for `probe` to give a value while the process runs. */
async function until<T>(what: string, probe: () => T | undefined, image: { child: ChildProcess; output: () => string }, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (image.child.exitCode !== null) throw new Error(`no ${what}: exited ${image.child.exitCode}; output:\n${image.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms; output:\n${image.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the image starting without DATABASE_URL (replayed without an engine)', () => {
  it(`starts on the embedded warehouse in SMSC_DATA_DIR as a user who may not write the working folder, is healthy, and exits 0 on SIGTERM`, async () => {
    const [cwd, dataDir] = [readOnlyWorkdir(), ownedDataDir()];
    // The image's data folder, when it sets one, is this one here. Port 0: a free one (9464
    // may be taken on a shared machine); the log line says which.
    const image = startImage(cwd, { SMSC_DATA_DIR: imageEnv().SMSC_DATA_DIR === undefined ? undefined : dataDir, SMSC_HTTP_PORT: '0' });
    const exited = once(image.child, 'exit');
    const port = await until('http listening', () => /"port":(\d+),"msg":"http listening/.exec(image.output())?.[1], image);
    // The image's own health check, as Docker runs it (/app is this project here).
    const check = spawn(process.execPath, [join(ROOT, 'bin/healthcheck.js')], { env: childEnv({ SMSC_HTTP_PORT: port }), stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    check.stdout.on('data', (d) => (said += String(d)));
    const [checkCode] = await once(check, 'exit');
    expect(said.trim()).toBe(`http://127.0.0.1:${port}/healthz: 200 ok`);
    expect(checkCode).toBe(0);
    // The warehouse went where SMSC_DATA_DIR says, and nothing into the working folder.
    expect(readdirSync(dataDir)).toContain('PG_VERSION');
    expect(readdirSync(cwd)).toEqual([]);
    image.child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }, image.output()).toEqual({ code: 0, signal: null });
    expect(image.output()).toContain('"msg":"stopped"');
    // About 4 s on an idle machine; the deadlines are for a busy one.
  }, 90_000);

  it('without a writable SMSC_DATA_DIR, says in one line which folder and what to set (no stack trace)', async () => {
    const cwd = readOnlyWorkdir();
    const image = startImage(cwd, { SMSC_DATA_DIR: undefined, SMSC_HTTP_PORT: '0' });
    const [code] = await once(image.child, 'exit');
    expect(code).toBe(1);
    expect(image.output().trim()).toMatch(new RegExp(`^smsc-sync: the embedded warehouse's folder ${join(cwd, '.smsc-sync')} cannot be created by this user \\(uid \\d+\\): EACCES; set SMSC_DATA_DIR to a folder it may write, or DATABASE_URL to a PostgreSQL database$`));
  });

  it('the health check fails, saying why, when nothing answers', async () => {
    // A port that was free a moment ago.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const out = run(process.execPath, [join(ROOT, 'bin/healthcheck.js')], { env: childEnv({ SMSC_HTTP_PORT: String(port) }) as Record<string, string> });
    expect(out.stdout.trim()).toBe(`http://127.0.0.1:${port}/healthz: ECONNREFUSED`);
    expect(out.status).toBe(1);
  });
});
