// A test that needs a PostgreSQL server, not the embedded PGlite of the pglite project (child
// processes that reach the database over the network, a second backend, roles and logins).
// There it is skipped, and the reason is printed in the run's summary (skip-reporter.ts).
import { it, type TestFunction } from 'vitest';
import { testServerUrl } from './database.ts';

/**
 * `itNeedsServer('child processes connect to the database over the network')('title', fn)`:
 * runs on every server, and is skipped with that reason on PGlite.
 */
export function itNeedsServer(reason: string): (name: string, fn: TestFunction, timeout?: number) => void {
  return (name, fn, timeout) => {
    const skip = !testServerUrl();
    it(name, { skip, ...(skip ? { meta: { skipReason: `PGlite cannot run it: ${reason}` } } : {}), ...(timeout ? { timeout } : {}) }, fn);
  };
}
