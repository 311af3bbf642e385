// The report as one self-contained HTML page: inline CSS, charts as inline SVG, no script and
// nothing fetched (its Content-Security-Policy forbids both), so it opens from a mail
// attachment or a file share as it is. Every chart has its figures in a table beside it.
import { escapeHtml as e } from './escape-html.ts';
import type { FunnelRow, ReportData } from './read-report.ts';
import { barChart, type ChartSeries, columnChart, lineChart } from './svg-chart.ts';

/** Operators or senders drawn in a funnel chart; the table lists them all. (Default: 15) */
export const FUNNEL_CHART_ROWS = 15;

const COLORS = {
  messages: '#1565c0',
  cost: '#6a1b9a',
  delivered: '#2e7d32',
  failed: '#c62828',
  pending: '#9e9e9e',
  credit: '#ef6c00',
  held: '#1565c0',
  reported: '#ef6c00',
  p50: '#2e7d32',
  p90: '#ef6c00',
  p99: '#c62828',
} as const;

type Cell = string | number | boolean | null;
interface Column {
  readonly key: string;
  readonly label: string;
  /** Right-aligned figures. (Default: true) */
  readonly numeric?: boolean;
}

/** A cell as the page shows it: figures as SQL gave them, null as a dash, booleans as yes/no. */
export function cellText(value: Cell): string {
  if (value === null) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

function table(id: string, caption: string, columns: readonly Column[], rows: readonly Record<string, Cell>[], rowClass?: (row: Record<string, Cell>) => string | undefined): string {
  const head = columns.map((c) => `<th scope="col"${c.numeric === false ? '' : ' class="num"'}>${e(c.label)}</th>`).join('');
  const body = rows
    .map((r) => {
      const cls = rowClass?.(r);
      const cells = columns.map((c, i) => {
        const tag = i === 0 ? 'th scope="row"' : 'td';
        const close = i === 0 ? 'th' : 'td';
        return `<${tag} data-col="${e(c.key)}"${c.numeric === false ? '' : ' class="num"'}>${e(cellText(r[c.key] ?? null))}</${close}>`;
      });
      return `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<div class="table-wrap"><table id="${e(id)}"><caption>${e(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** Characters of a message text the page shows (an e-mail body can run to 65,536); the CSV keeps it whole. (Default: 300) */
export const TEXT_SHOWN = 300;
const shorten = (text: string) => (text.length > TEXT_SHOWN ? `${text.slice(0, TEXT_SHOWN)}…` : text);

const figure = (svg: string, caption: string) => `<figure>${svg}<figcaption>${e(caption)}</figcaption></figure>`;
const dayTick = (day: string) => String(Number(day.slice(8)));
const num = (text: string | null) => (text === null ? null : Number(text));
const section = (id: string, title: string, body: string) => `<section id="${e(id)}"><h2>${e(title)}</h2>\n${body}\n</section>`;

function funnel(id: string, what: string, rows: readonly FunnelRow[], money: string): string {
  if (rows.length === 0) return `<p class="empty">No messages sent this month.</p>`;
  const drawn = rows.slice(0, FUNNEL_CHART_ROWS);
  const series = (name: string, key: 'delivered' | 'failed' | 'pending', color: string): ChartSeries => ({ name, color, values: drawn.map((r) => r[key]), labels: drawn.map((r) => String(r[key])) });
  const chart = barChart({
    id: `${id}-chart`,
    title: `Delivery funnel by ${what}`,
    description: `Messages sent this month per ${what}, split into delivered, failed and still pending.`,
    categories: drawn.map((r) => r.key),
    series: [series('delivered', 'delivered', COLORS.delivered), series('failed', 'failed', COLORS.failed), series('pending', 'pending', COLORS.pending)],
    xLabel: 'messages sent',
    yLabel: what,
  });
  const caption = rows.length > drawn.length ? `The ${drawn.length} ${what}s that sent most; the table lists all ${rows.length}.` : `Sent = delivered + failed + pending.`;
  return (
    figure(chart, caption) +
    table(`${id}-table`, `Delivery funnel by ${what}`, [{ key: 'key', label: what, numeric: false }, { key: 'sent', label: 'sent' }, { key: 'delivered', label: 'delivered' }, { key: 'failed', label: 'failed' }, { key: 'pending', label: 'pending' }, { key: 'delivered_pct', label: 'delivered % of final' }, { key: 'cost', label: `cost${money}` }], rows as unknown as Record<string, Cell>[])
  );
}

/** The page for one account's month. `generatedAt`: when the figures were read (shown in the header). */
export function renderReportHtml(data: ReportData, generatedAt: Date = new Date()): string {
  const money = data.currency ? ` (${data.currency})` : '';
  const days = data.daily.map((d) => d.day);

  const perDay =
    figure(
      columnChart({
        id: 'messages-chart',
        title: 'Messages per day',
        description: `Messages sent on each day of ${data.month} (${data.timezone}).`,
        categories: days,
        tick: dayTick,
        series: [{ name: 'messages', color: COLORS.messages, values: data.daily.map((d) => d.messages), labels: data.daily.map((d) => String(d.messages)) }],
        xLabel: `day of ${data.month}`,
        yLabel: 'messages',
      }),
      'Messages sent, SMS and e-mail, by the day they were sent.',
    ) +
    figure(
      columnChart({
        id: 'cost-chart',
        title: `Cost per day${money}`,
        description: `Sum of the known message costs on each day of ${data.month}.`,
        categories: days,
        tick: dayTick,
        series: [{ name: `cost${money}`, color: COLORS.cost, values: data.daily.map((d) => num(d.cost)), labels: data.daily.map((d) => d.cost) }],
        xLabel: `day of ${data.month}`,
        yLabel: `cost${money}`,
      }),
      data.totals.cost_unknown > 0 ? `${data.totals.cost_unknown} message(s) have no cost from SMSC yet and are not counted.` : 'Every message of the month has its cost.',
    ) +
    table('daily-table', 'Messages and cost per day', [{ key: 'day', label: 'day', numeric: false }, { key: 'messages', label: 'messages' }, { key: 'parts', label: 'parts' }, { key: 'cost', label: `cost${money}` }, { key: 'cost_unknown', label: 'cost unknown' }], data.daily as unknown as Record<string, Cell>[]);

  // SMS first: the channel most reports are about.
  const channels = [...new Set(data.latency.map((l) => l.channel))].sort((a, b) => (a === 'sms' ? -1 : b === 'sms' ? 1 : a.localeCompare(b)));
  const latency =
    data.latency.length === 0
      ? `<p class="empty">No message reached a final status this month.</p>`
      : channels
          .map((channel) => {
            const byDay = new Map(data.latency.filter((l) => l.channel === channel).map((l) => [l.day, l]));
            const series = (name: string, key: 'p50_seconds' | 'p90_seconds' | 'p99_seconds', color: string): ChartSeries => ({
              name,
              color,
              values: days.map((d) => num(byDay.get(d)?.[key] ?? null)),
              labels: days.map((d) => byDay.get(d)?.[key] ?? ''),
            });
            return figure(
              lineChart({
                id: `latency-${channel}-chart`,
                title: `Delivery latency, ${channel}`,
                description: `Seconds from sending to the first final status, percentiles per day of ${data.month}.`,
                categories: days,
                tick: dayTick,
                series: [series('median', 'p50_seconds', COLORS.p50), series('90th percentile', 'p90_seconds', COLORS.p90), series('99th percentile', 'p99_seconds', COLORS.p99)],
                xLabel: `day of ${data.month} (sent)`,
                yLabel: 'seconds to final status',
              }),
              `Over the messages (${channel}) with a final status; a day without one has no point.`,
            );
          })
          .join('') +
        table('latency-table', 'Delivery latency per day (seconds from sending to the first final status)', [{ key: 'day', label: 'day', numeric: false }, { key: 'channel', label: 'channel', numeric: false }, { key: 'messages', label: 'messages' }, { key: 'p50_seconds', label: 'median' }, { key: 'p90_seconds', label: 'p90' }, { key: 'p99_seconds', label: 'p99' }, { key: 'max_seconds', label: 'max' }], data.latency as unknown as Record<string, Cell>[]);

  const own = new Map(data.reconciliation.filter((r) => r.own_login).map((r) => [r.day, r]));
  const flagged = data.reconciliation.filter((r) => r.flagged);
  const reconciliation =
    data.reconciliation.length === 0
      ? `<p class="empty">No daily statistics from SMSC are held for this month: run <code>smsc-sync sync --streams stats</code>.</p>`
      : figure(
          columnChart({
            id: 'reconciliation-chart',
            title: `SMSC's spending against the message costs held${money}`,
            description: `Per day of ${data.month}, the account's own login: what SMSC's statistics say was spent, and the sum of the costs of the messages held.`,
            categories: days,
            tick: dayTick,
            series: [
              { name: 'SMSC spending', color: COLORS.credit, values: days.map((d) => num(own.get(d)?.stats_credit ?? null)), labels: days.map((d) => own.get(d)?.stats_credit ?? '') },
              { name: 'message costs held', color: COLORS.messages, values: days.map((d) => num(own.get(d)?.messages_cost ?? null)), labels: days.map((d) => own.get(d)?.messages_cost ?? '') },
            ],
            xLabel: `day of ${data.month}`,
            yLabel: `amount${money}`,
            callouts: flagged.filter((r) => r.own_login).map((r) => ({ category: r.day, why: `flagged: difference ${r.difference}` })),
          }),
          flagged.length > 0 ? `${flagged.length} flagged day(s), marked ▼: the difference exceeds 0.1% and 0.05.` : 'No day is flagged: every difference is within 0.1% or 0.05 (or costs are still unknown).',
        ) +
        table('reconciliation-totals-table', 'The month per login', [{ key: 'login', label: 'login', numeric: false }, { key: 'currency', label: 'currency', numeric: false }, { key: 'days', label: 'days' }, { key: 'stats_credit', label: 'SMSC spending' }, { key: 'messages_cost', label: 'message costs' }, { key: 'difference', label: 'difference' }, { key: 'flagged_days', label: 'flagged days' }, { key: 'own_login', label: 'own login', numeric: false }], data.reconciliationTotals as unknown as Record<string, Cell>[]) +
        table(
          'reconciliation-table',
          'Cost reconciliation per day and login (smsc.cost_reconciliation_daily)',
          [{ key: 'day', label: 'day', numeric: false }, { key: 'login', label: 'login', numeric: false }, { key: 'currency', label: 'currency', numeric: false }, { key: 'stats_credit', label: 'SMSC spending' }, { key: 'messages_cost', label: 'message costs' }, { key: 'difference', label: 'difference' }, { key: 'difference_pct', label: 'difference %' }, { key: 'messages_cost_unknown', label: 'costs unknown' }, { key: 'flagged', label: 'flagged', numeric: false }, { key: 'own_login', label: 'own login', numeric: false }],
          data.reconciliation as unknown as Record<string, Cell>[],
          (r) => (r.flagged ? 'flagged' : undefined),
        );

  const held = new Map(data.completeness.map((c) => [c.day, c]));
  const gaps = data.completeness.filter((c) => c.gap !== 0);
  const completeness =
    data.completeness.length === 0
      ? `<p class="empty">No settled day with SMSC's statistics this month (today, and days before the first message held, are not counted).</p>`
      : figure(
          columnChart({
            id: 'completeness-chart',
            title: 'Messages held against messages SMSC counts',
            description: `Per settled day of ${data.month}: the messages the warehouse holds and those SMSC's statistics count for the own login.`,
            categories: days,
            tick: dayTick,
            series: [
              { name: 'held', color: COLORS.held, values: days.map((d) => held.get(d)?.messages_held ?? null), labels: days.map((d) => String(held.get(d)?.messages_held ?? '')) },
              { name: 'SMSC counts', color: COLORS.reported, values: days.map((d) => held.get(d)?.messages_reported ?? null), labels: days.map((d) => String(held.get(d)?.messages_reported ?? '')) },
            ],
            xLabel: `day of ${data.month}`,
            yLabel: 'messages',
            callouts: gaps.map((g) => ({ category: g.day, why: `gap ${g.gap}` })),
          }),
          gaps.length > 0 ? `${gaps.length} day(s) with a gap, marked ▼: the warehouse and SMSC disagree.` : 'Every settled day is complete.',
        ) +
        table('completeness-table', 'Completeness per day (smsc.completeness_daily)', [{ key: 'day', label: 'day', numeric: false }, { key: 'messages_held', label: 'held' }, { key: 'messages_reported', label: 'SMSC counts' }, { key: 'gap', label: 'gap' }], data.completeness as unknown as Record<string, Cell>[], (r) => (r.gap !== 0 ? 'flagged' : undefined));

  const topTexts =
    data.topTexts.length === 0
      ? `<p class="empty">No messages sent this month.</p>`
      : table('texts-table', `The ${data.topTexts.length} texts sent most`, [{ key: 'message', label: 'text', numeric: false }, { key: 'sent', label: 'sent' }, { key: 'delivered', label: 'delivered' }, { key: 'failed', label: 'failed' }, { key: 'pending', label: 'pending' }, { key: 'cost', label: `cost${money}` }], data.topTexts.map((t) => ({ ...t, message: shorten(t.message) })));

  const title = `SMSC report: ${data.account}, ${data.month}`;
  const t = data.totals;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(title)}</h1>
<p>Days in ${e(data.timezone)}; money in ${e(data.currency ?? 'the account currency')}, exact. Read from the warehouse at ${e(generatedAt.toISOString())}.</p>
<dl class="totals">
<div><dt>messages</dt><dd id="total-messages">${t.messages}</dd></div>
<div><dt>parts</dt><dd id="total-parts">${t.parts}</dd></div>
<div><dt>cost${e(money)}</dt><dd id="total-cost">${e(t.cost)}</dd></div>
<div><dt>cost unknown</dt><dd id="total-cost-unknown">${t.cost_unknown}</dd></div>
</dl>
<nav><a href="#per-day">Per day</a> · <a href="#by-operator">By operator</a> · <a href="#by-sender">By sender</a> · <a href="#latency">Latency</a> · <a href="#reconciliation">Reconciliation</a> · <a href="#completeness">Completeness</a> · <a href="#texts">Texts</a></nav>
</header>
<main>
${section('per-day', 'Messages and cost per day', perDay)}
${section('by-operator', 'Delivery funnel by operator', funnel('operator', 'operator', data.byOperator, money))}
${section('by-sender', 'Delivery funnel by sender', funnel('sender', 'sender', data.bySender, money))}
${section('latency', 'Delivery latency', latency)}
${section('reconciliation', 'Cost reconciliation', reconciliation)}
${section('completeness', 'Completeness', completeness)}
${section('texts', 'Texts sent most', topTexts)}
</main>
</body>
</html>
`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 0 auto; max-width: 980px; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.totals { display: flex; gap: 24px; flex-wrap: wrap; margin: 12px 0; } .totals div { background: #f4f6f8; padding: 8px 14px; border-radius: 6px; }
.totals dt { font-size: 0.85em; color: #555; } .totals dd { margin: 0; font-size: 1.3em; font-variant-numeric: tabular-nums; }
figure { margin: 16px 0; } figcaption { color: #555; font-size: 0.9em; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; }
svg .grid { stroke: #e3e3e3; } svg .axis { stroke: #555; } svg .tick { fill: #444; } svg .axis-label { fill: #222; font-size: 12px; }
svg .callout { fill: #c62828; } svg .legend text { fill: #222; font-size: 12px; } svg .chart-title { fill: #111; font-size: 14px; font-weight: 600; }
.table-wrap { overflow-x: auto; } table { border-collapse: collapse; margin: 12px 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; } th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; white-space: nowrap; }
thead th { border-bottom: 2px solid #ccc; } .num { text-align: right; } tr.flagged { background: #fdecea; }
#texts-table th[scope=row] { max-width: 480px; white-space: pre-wrap; word-break: break-word; font-weight: normal; }
.empty { color: #666; font-style: italic; }
`;
