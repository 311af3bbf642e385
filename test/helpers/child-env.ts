// The environment of a process a test starts: what the test gives it, plus PATH and the test
// run's clock. scripts/test-times.sh moves the clock of the whole run with libfaketime
// (LD_PRELOAD + FAKETIME); a child started with a hand-made environment would otherwise run
// on the real clock and disagree with the test, the emulator and the database about "today".
const FAKE_CLOCK = ['LD_PRELOAD', 'FAKETIME', 'FAKETIME_DONT_FAKE_MONOTONIC'] as const;
const INHERITED = ['PATH', ...FAKE_CLOCK] as const;

export function childEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const inherited = Object.fromEntries(INHERITED.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
  return { ...inherited, ...env };
}

/** This process's environment without the run's libfaketime: for a program whose clock the tests do not judge (a browser). */
export function realClockEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !(FAKE_CLOCK as readonly string[]).includes(e[0])),
  );
}
