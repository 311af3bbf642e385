// The report's figures as CSV files for finance: one file per table, a header row, RFC 4180
// quoting (CRLF line ends; a field with a comma, a quote or a line break quoted, quotes
// doubled), money as the exact decimal text the warehouse holds, null as an empty field.
import type { ReportData } from './read-report.ts';

type Field = string | number | boolean | null;

/** One field as RFC 4180 writes it. */
export function csvField(value: Field): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A header row and the rows, each a line ended by CRLF. */
export function csvText(columns: readonly string[], rows: readonly Record<string, Field>[]): string {
  return [columns, ...rows.map((r) => columns.map((c) => r[c] ?? null))].map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}

/** The tables of a report, by file stem: `daily`, `funnel-operator`, … (see the README's "Reports"). */
export function reportCsvTables(data: ReportData): { name: string; text: string }[] {
  const currency = data.currency;
  const withCurrency = <T extends object>(rows: readonly T[]) => rows.map((r) => ({ ...r, currency }) as Record<string, Field>);
  const funnel = (rows: ReportData['byOperator'], key: string) => rows.map((r) => ({ [key]: r.key, sent: r.sent, delivered: r.delivered, failed: r.failed, pending: r.pending, delivered_pct: r.delivered_pct, cost: r.cost, currency }));
  return [
    { name: 'daily', text: csvText(['day', 'messages', 'parts', 'cost', 'cost_unknown', 'currency'], withCurrency(data.daily)) },
    { name: 'funnel-operator', text: csvText(['operator', 'sent', 'delivered', 'failed', 'pending', 'delivered_pct', 'cost', 'currency'], funnel(data.byOperator, 'operator')) },
    { name: 'funnel-sender', text: csvText(['sender', 'sent', 'delivered', 'failed', 'pending', 'delivered_pct', 'cost', 'currency'], funnel(data.bySender, 'sender')) },
    { name: 'latency', text: csvText(['day', 'channel', 'messages', 'p50_seconds', 'p90_seconds', 'p99_seconds', 'max_seconds'], data.latency as unknown as Record<string, Field>[]) },
    {
      name: 'reconciliation',
      text: csvText(['day', 'login', 'currency', 'stats_credit', 'messages_cost', 'difference', 'difference_pct', 'messages_cost_unknown', 'flagged', 'own_login'], data.reconciliation as unknown as Record<string, Field>[]),
    },
    { name: 'reconciliation-month', text: csvText(['login', 'currency', 'days', 'stats_credit', 'messages_cost', 'difference', 'flagged_days', 'own_login'], data.reconciliationTotals as unknown as Record<string, Field>[]) },
    { name: 'completeness', text: csvText(['day', 'messages_held', 'messages_reported', 'gap'], data.completeness as unknown as Record<string, Field>[]) },
    { name: 'texts', text: csvText(['message', 'sent', 'delivered', 'failed', 'pending', 'cost', 'currency'], withCurrency(data.topTexts)) },
  ];
}
