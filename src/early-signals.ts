// Imported first by the CLI, before any other module loads: a SIGTERM or SIGINT that comes
// while Node still loads the modules or the warehouse opens. For `start` it is kept, and the
// scheduler stops as soon as start-up is through, exiting 0 as at any other time (a rolling
// update sends SIGTERM early). Any other command exits with 128 + the signal, as it would
// have without this, until it installs its own handling (takeEarlySignal).
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
const isStart = process.argv.slice(2).find((a) => !a.startsWith('-')) === 'start';
let early: keyof typeof EXIT | undefined;
const listeners = (Object.keys(EXIT) as (keyof typeof EXIT)[]).map((name) => {
  const listener = () => {
    if (!isStart) process.exit(EXIT[name]);
    early ??= name;
  };
  process.on(name, listener);
  return [name, listener] as const;
});

// Run through npx (npm exec), the process is npm's grandchild, and npm, stopped by a
// supervisor or `timeout`, does not pass the signal on: the command would go on without
// anyone to stop it (with the embedded warehouse, holding its lock). When the parent is gone
// (the process is re-parented), it stops as on SIGTERM.
if (process.env.npm_command === 'exec') {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 500).unref();
}

/** Hands the signals over to the command: the first one already received, if any. */
export function takeEarlySignal(): keyof typeof EXIT | undefined {
  for (const [name, listener] of listeners) process.off(name, listener);
  listeners.length = 0;
  return early;
}
