// The table `sync` prints at a terminal, spelled out for fixed runs.
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/sync/run-stream.ts';
import { formatSummary } from '../../src/sync/summary.ts';

const run = (over: Partial<RunSummary>): RunSummary => ({ runId: 'r', account: 'shop', stream: 'outbound', outcome: 'succeeded', inserted: 0, updated: 0, rejected: 0, pages: 1, requests: 1, ms: 1234, warnings: [], ...over });

describe('the sync summary table', () => {
  it('has a row per run, numbers right-aligned, the reason of a deferral or failure, and totals', () => {
    const text = formatSummary([
      run({ inserted: 4213, requests: 5 }),
      run({ stream: 'stats', outcome: 'deferred', inserted: 9, requests: 3, ms: 61_500, deferredUntil: new Date(Date.UTC(2026, 11, 4, 18, 2, 11)) }),
      run({ account: 'shop-kz', stream: 'tariffs', outcome: 'failed', requests: 5, ms: 40, error: 'HTTP 500 from SMSC after 4 retries' }),
    ]);
    expect(text.split('\n')).toEqual([
      'account  stream    outcome     new  updated  rejected  requests    time  note',
      'shop     outbound  succeeded  4213        0         0         5   1.2 s',
      'shop     stats     deferred      9        0         0         3  61.5 s  quota spent; resumes 2026-12-04T18:02:11.000Z',
      'shop-kz  tariffs   failed        0        0         0         5   0.0 s  HTTP 500 from SMSC after 4 retries',
      '3 run(s): 1 succeeded, 1 deferred, 0 skipped, 1 failed; 4222 new, 0 updated, 0 rejected rows; 13 requests',
    ]);
  });
});
