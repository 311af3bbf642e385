// Start-up benchmark: how long `smsc-sync` takes to start, as a sync run from cron every few
// minutes (or every CLI process the tests start) pays it, with Node's compile cache as
// bin/smsc-sync.js enables it, against the same command with the cache turned off
// (NODE_DISABLE_COMPILE_CACHE=1), measured in the same run, interleaved. The cache lives in
// a folder of this run's own, so an earlier run's cache does not count; one warm-up run fills it.
// Each command: the median of 15 starts of wall time, and the CPU (user + system) the child
// took, from its resource usage.
// Then a new embedded warehouse: a process that opens one in a new folder and migrates it (what
// the first command on a new SMSC_DATA_DIR does), filled from the copy of a fresh cluster
// (src/warehouse/pglite-template.ts, one of this run's own, made by a first warm-up) against
// PGlite's initdb in the folder; the median of BENCH_EMBEDDED_RUNS (5) each, interleaved.
//
//   npm run bench:startup
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWarehouse } from '../src/warehouse/database.ts';
import { migrateWarehouse } from '../src/warehouse/migrate.ts';
import { line, writeResult } from './support.ts';

const BIN = new URL('../bin/smsc-sync.js', import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 15);
const EMBEDDED_RUNS = Number(process.env.BENCH_EMBEDDED_RUNS ?? 5);
const COMMANDS = [['--help'], ['sync', '--help'], ['status', '--help']];

interface Start {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** One start of the CLI: wall time from spawn to exit, and the CPU the process tree used (from `time`-like rusage). */
function start(args: readonly string[], env: Record<string, string>, program = BIN): Promise<Start> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // The shell's `times` reports the children's user and system time after they exit.
    const child = spawn('bash', ['-c', `"$0" "$@" >/dev/null; code=$?; times >&2; exit $code`, process.execPath, program, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    child.once('exit', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`smsc-sync ${args.join(' ')} exited ${code}: ${err}`));
      // `times` prints two lines: the shell's own, then its children's ("0m0.270s 0m0.090s").
      const children = err.trim().split('\n').at(-1)!.match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
      if (!children) return reject(new Error(`no times in: ${err}`));
      const [, um, us, sm, ss] = children.map(Number) as [number, number, number, number, number];
      resolve({ wallMs, cpuMs: (um * 60 + us + sm * 60 + ss) * 1000 });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchStartup(): Promise<Record<string, unknown>> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'smsc-bench-compile-cache-'));
  const cached = { NODE_COMPILE_CACHE: cacheDir };
  const uncached = { NODE_DISABLE_COMPILE_CACHE: '1' };
  try {
    const figures: Record<string, unknown>[] = [];
    line(`start-up of smsc-sync, median of ${RUNS} (Node ${process.version}):`);
    line(`${'command'.padEnd(16)} ${'cached wall'.padStart(12)} ${'cached CPU'.padStart(11)} ${'no cache wall'.padStart(14)} ${'no cache CPU'.padStart(13)} ${'CPU ratio'.padStart(10)}`);
    for (const args of COMMANDS) {
      await start(args, cached); // fills the cache
      const withCache: Start[] = [];
      const without: Start[] = [];
      for (let i = 0; i < RUNS; i++) {
        withCache.push(await start(args, cached));
        without.push(await start(args, uncached));
      }
      const row = {
        command: args.join(' '),
        cachedWallMs: Math.round(median(withCache.map((s) => s.wallMs))),
        cachedCpuMs: Math.round(median(withCache.map((s) => s.cpuMs))),
        uncachedWallMs: Math.round(median(without.map((s) => s.wallMs))),
        uncachedCpuMs: Math.round(median(without.map((s) => s.cpuMs))),
      };
      figures.push({ ...row, cpuRatio: row.cachedCpuMs / row.uncachedCpuMs });
      line(
        `${row.command.padEnd(16)} ${`${row.cachedWallMs} ms`.padStart(12)} ${`${row.cachedCpuMs} ms`.padStart(11)} ${`${row.uncachedWallMs} ms`.padStart(14)} ` +
          `${`${row.uncachedCpuMs} ms`.padStart(13)} ${(row.cachedCpuMs / row.uncachedCpuMs).toFixed(2).padStart(10)}`,
      );
    }
    return { runs: RUNS, figures, embedded: await benchNewEmbedded(cached) };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** A new embedded warehouse, opened and migrated by a process of its own: from the copy of a fresh cluster, and by initdb. */
async function benchNewEmbedded(env: Record<string, string>): Promise<Record<string, unknown>> {
  const work = mkdtempSync(join(tmpdir(), 'smsc-bench-embedded-'));
  const templates = join(work, 'templates');
  let n = 0;
  const open = (template: boolean) => start(['--open-embedded', join(work, `warehouse-${n++}`), template ? templates : 'none'], env, SELF);
  try {
    await open(true); // makes the copy
    const fromCopy: Start[] = [];
    const byInitdb: Start[] = [];
    for (let i = 0; i < EMBEDDED_RUNS; i++) {
      fromCopy.push(await open(true));
      byInitdb.push(await open(false));
    }
    const row = {
      copyWallMs: Math.round(median(fromCopy.map((s) => s.wallMs))),
      copyCpuMs: Math.round(median(fromCopy.map((s) => s.cpuMs))),
      initdbWallMs: Math.round(median(byInitdb.map((s) => s.wallMs))),
      initdbCpuMs: Math.round(median(byInitdb.map((s) => s.cpuMs))),
    };
    line(`a new embedded warehouse, opened and migrated, median of ${EMBEDDED_RUNS}:`);
    line(`  from the copy of a fresh cluster: ${row.copyWallMs} ms, ${row.copyCpuMs} ms CPU; by initdb: ${row.initdbWallMs} ms, ${row.initdbCpuMs} ms CPU; CPU ratio ${(row.copyCpuMs / row.initdbCpuMs).toFixed(2)}`);
    return { runs: EMBEDDED_RUNS, ...row, cpuRatio: row.copyCpuMs / row.initdbCpuMs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--open-embedded') {
  // The child of benchNewEmbedded: <folder> <template folder | none>.
  const [dataDir, templates] = process.argv.slice(3) as [string, string];
  const warehouse = await openWarehouse({ dataDir, clusterTemplateDir: templates === 'none' ? null : templates });
  await migrateWarehouse(warehouse);
  await warehouse.close();
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchStartup();
  writeResult('startup', result);
}
