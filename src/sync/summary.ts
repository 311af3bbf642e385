// The end of a `sync`: a table for a person at a terminal, a JSON document for machines
// (`--json`), both from the runs' summaries.
import type { RunSummary } from './run-stream.ts';

/** What `sync --json` prints: every run, and whether the pass succeeded (exit code 0). */
export function summaryJson(summaries: readonly RunSummary[], ok: boolean): string {
  return JSON.stringify(
    {
      ok,
      runs: summaries.map((s) => ({
        account: s.account,
        stream: s.stream,
        runId: s.runId || null,
        outcome: s.outcome,
        inserted: s.inserted,
        updated: s.updated,
        rejected: s.rejected,
        pages: s.pages,
        requests: s.requests,
        seconds: Math.round(s.ms) / 1000,
        deferredUntil: s.deferredUntil?.toISOString() ?? null,
        error: s.error ?? null,
        warnings: s.warnings,
      })),
    },
    null,
    2,
  );
}

/** One row per run and a totals line, aligned. */
export function formatSummary(summaries: readonly RunSummary[]): string {
  const header = ['account', 'stream', 'outcome', 'new', 'updated', 'rejected', 'requests', 'time', 'note'];
  const rows = summaries.map((s) => [
    s.account,
    s.stream,
    s.outcome,
    String(s.inserted),
    String(s.updated),
    String(s.rejected),
    String(s.requests),
    `${(s.ms / 1000).toFixed(1)} s`,
    s.outcome === 'failed' ? (s.error ?? '').slice(0, 120) : s.deferredUntil ? `quota spent; resumes ${s.deferredUntil.toISOString()}` : (s.warnings[0] ?? '').slice(0, 120),
  ]);
  const numeric = new Set([3, 4, 5, 6, 7]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const count = (o: string) => summaries.filter((s) => s.outcome === o).length;
  const totals =
    `${summaries.length} run(s): ${count('succeeded')} succeeded, ${count('deferred')} deferred, ${count('skipped')} skipped, ${count('failed')} failed; ` +
    `${summaries.reduce((n, s) => n + s.inserted, 0)} new, ${summaries.reduce((n, s) => n + s.updated, 0)} updated, ` +
    `${summaries.reduce((n, s) => n + s.rejected, 0)} rejected rows; ${summaries.reduce((n, s) => n + s.requests, 0)} requests`;
  return [line(header), ...rows.map(line), totals].join('\n');
}
