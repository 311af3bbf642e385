// The real CLI in child processes, as a user runs it, with its clock following the emulator's
// (the emulated-clock preload), its output kept, and its exit awaited.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Sandbox } from '../../src/sandbox/server.ts';
import { childEnv } from '../helpers/child-env.ts';

const BIN = new URL('../../bin/smsc-sync.js', import.meta.url).pathname;
const CLOCK = new URL('../reliability/emulated-clock.ts', import.meta.url).pathname;

export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** JSON log lines so far (stdout is not a terminal, so logs are JSON). */
  logs(): Record<string, unknown>[];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `smsc-sync <args>` with `env` (and PATH); its Date.now follows the emulator's clock. */
export function cli(args: readonly string[], env: Record<string, string | undefined>, sandbox?: Sandbox): CliProcess {
  const clock = sandbox ? { EMULATED_CLOCK: `${sandbox.clock.now()},${Date.now()},${sandbox.clock.speed}` } : {};
  const child = spawn(process.execPath, [...(sandbox ? ['--import', CLOCK] : []), BIN, ...args], {
    env: childEnv({ LOG_LEVEL: 'info', ...clock, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return {
    child,
    output: () => output,
    logs: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exit,
  };
}

/** Waits until `check` is true, polling every `everyMs`; fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
