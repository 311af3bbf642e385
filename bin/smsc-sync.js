#!/usr/bin/env node
// Entry point for `npx smsc-sync`: the CLI is TypeScript run directly by Node's type
// stripping (on by default from Node 22.18/23.6). It runs with NODE_FLAGS: where Node can
// replace its own process (process.execve, Node 22.15+/23.11+), it does, keeping the PID and
// the signals a supervisor sends; older 22.x needs the type-stripping flag, so re-exec there.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from './node-flags.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const flagged = NODE_FLAGS.every((f) => process.execArgv.includes(f));
if (process.features.typescript && (flagged || typeof process.execve !== 'function')) {
  await import(cli);
} else if (process.features.typescript) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...NODE_FLAGS, cli, ...process.argv.slice(2)], process.env);
} else {
  const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', ...NODE_FLAGS, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
