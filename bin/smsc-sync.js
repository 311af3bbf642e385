#!/usr/bin/env node
// Entry point for `npx smsc-sync`: the CLI is TypeScript run directly by Node's type
// stripping (on by default from Node 22.18/23.6). Older 22.x needs the flag, so re-exec.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
if (process.features.typescript) {
  await import(cli);
} else {
  const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
