// Charts as inline SVG, drawn here rather than by a chart library: the report opens without a
// network and runs no script. Each chart pictures a table printed beside it; every mark
// carries the exact figure (its <title> and data-value), the drawing only its rounded size.
import { escapeHtml } from './escape-html.ts';

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  /** One value per category, for drawing; null draws nothing there. */
  readonly values: readonly (number | null)[];
  /** The exact figure per category, as the table shows it. */
  readonly labels: readonly string[];
}

export interface ChartOptions {
  /** Unique in the page: the ids of the chart's title and description derive from it. */
  readonly id: string;
  readonly title: string;
  /** What the chart shows, for screen readers (the table beside it has the figures). */
  readonly description: string;
  readonly categories: readonly string[];
  /** A category as its axis shows it. (Default: as it is) */
  readonly tick?: (category: string) => string;
  readonly series: readonly ChartSeries[];
  readonly xLabel: string;
  readonly yLabel: string;
  /** Stack the series instead of placing them side by side. (Default: false) */
  readonly stacked?: boolean;
  /** Categories to call out with a red mark (a flagged day, a gap), and why. */
  readonly callouts?: readonly { readonly category: string; readonly why: string }[];
}

const WIDTH = 760;
const MARGIN = { top: 64, right: 16, bottom: 52, left: 72 } as const;
const e = escapeHtml;

/** Round numbers from 0 to at least `max`: about five steps of 1, 2, 2.5 or 5 × 10^n. */
export function axisTicks(max: number): number[] {
  const top = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = top / 5;
  const exp = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * exp).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; i * step < top + step / 2 && ticks.length < 12; i++) ticks.push(Number((i * step).toPrecision(12)));
  if (ticks.at(-1)! < top) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

const fmt = (n: number) => String(Number(n.toPrecision(10)));

function frame(o: ChartOptions, height: number, body: string): string {
  const legend = o.series
    .map((s, i) => {
      const x = MARGIN.left + i * 170;
      return `<g class="legend-item"><rect x="${x}" y="32" width="12" height="12" fill="${e(s.color)}"/><text x="${x + 18}" y="42">${e(s.name)}</text></g>`;
    })
    .join('');
  return (
    `<svg class="chart" id="${e(o.id)}" role="img" aria-labelledby="${e(o.id)}-title ${e(o.id)}-desc" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${e(o.id)}-title">${e(o.title)}</title><desc id="${e(o.id)}-desc">${e(o.description)}</desc>` +
    `<text class="chart-title" x="8" y="18" aria-hidden="true">${e(o.title)}</text><g class="legend">${legend}</g>${body}</svg>`
  );
}

/** Gridlines and labels of a value axis running up (vertical) or right (horizontal). */
function valueAxis(ticks: number[], scale: (v: number) => number, horizontal: boolean, plot: { x0: number; x1: number; y0: number; y1: number }, label: string): string {
  const parts: string[] = [];
  for (const t of ticks) {
    const p = scale(t);
    parts.push(
      horizontal
        ? `<line class="grid" x1="${p}" x2="${p}" y1="${plot.y0}" y2="${plot.y1}"/><text class="tick" x="${p}" y="${plot.y1 + 16}" text-anchor="middle">${fmt(t)}</text>`
        : `<line class="grid" x1="${plot.x0}" x2="${plot.x1}" y1="${p}" y2="${p}"/><text class="tick" x="${plot.x0 - 6}" y="${p + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  parts.push(
    horizontal
      ? `<text class="axis-label" x="${(plot.x0 + plot.x1) / 2}" y="${plot.y1 + 36}" text-anchor="middle">${e(label)}</text>`
      : `<text class="axis-label" transform="translate(16 ${(plot.y0 + plot.y1) / 2}) rotate(-90)" text-anchor="middle">${e(label)}</text>`,
  );
  return `<g class="value-axis">${parts.join('')}</g>`;
}

function axes(plot: { x0: number; x1: number; y0: number; y1: number }): string {
  return `<line class="axis" x1="${plot.x0}" x2="${plot.x0}" y1="${plot.y0}" y2="${plot.y1}"/><line class="axis" x1="${plot.x0}" x2="${plot.x1}" y1="${plot.y1}" y2="${plot.y1}"/>`;
}

function maxOf(o: ChartOptions): number {
  if (o.stacked) return Math.max(0, ...o.categories.map((_, i) => o.series.reduce((sum, s) => sum + Math.max(0, s.values[i] ?? 0), 0)));
  return Math.max(0, ...o.series.flatMap((s) => s.values.map((v) => v ?? 0)));
}

function mark(shape: string, s: ChartSeries, category: string, i: number, attrs: string): string {
  const label = s.labels[i] ?? '';
  return `<${shape} class="mark" data-series="${e(s.name)}" data-category="${e(category)}" data-value="${e(label)}" ${attrs}><title>${e(`${s.name}, ${category}: ${label}`)}</title></${shape}>`;
}

/** The frame of a chart with categories along x and values up y: the plot area, the value ticks and scale, a category's width. */
function categoryPlot(o: ChartOptions) {
  const height = 300;
  const plot = { x0: MARGIN.left, x1: WIDTH - MARGIN.right, y0: MARGIN.top, y1: height - MARGIN.bottom };
  const ticks = axisTicks(maxOf(o));
  const top = ticks.at(-1)!;
  const y = (v: number) => plot.y1 - (v / top) * (plot.y1 - plot.y0);
  const band = (plot.x1 - plot.x0) / Math.max(1, o.categories.length);
  return { height, plot, ticks, y, band };
}

/** A column per category (days along x): the series side by side, or stacked. */
export function columnChart(o: ChartOptions): string {
  const { height, plot, ticks, y, band } = categoryPlot(o);
  const parts: string[] = [];
  o.categories.forEach((c, i) => {
    const x = plot.x0 + i * band;
    let base = 0;
    o.series.forEach((s, k) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const w = o.stacked ? band * 0.7 : (band * 0.8) / o.series.length;
      const left = o.stacked ? x + band * 0.15 : x + band * 0.1 + k * w;
      const from = o.stacked ? base : 0;
      const to = from + Math.max(0, v);
      if (o.stacked) base = to;
      parts.push(mark('rect', s, c, i, `x="${left.toFixed(2)}" y="${y(to).toFixed(2)}" width="${w.toFixed(2)}" height="${(y(from) - y(to)).toFixed(2)}" fill="${e(s.color)}"`));
    });
    parts.push(`<text class="tick" x="${(x + band / 2).toFixed(2)}" y="${plot.y1 + 16}" text-anchor="middle">${e(o.tick ? o.tick(c) : c)}</text>`);
  });
  for (const callout of o.callouts ?? []) {
    const i = o.categories.indexOf(callout.category);
    if (i < 0) continue;
    const cx = plot.x0 + (i + 0.5) * band;
    parts.push(`<path class="callout" d="M${(cx - 5).toFixed(2)} ${plot.y0 - 10} h10 l-5 8 z"><title>${e(`${callout.category}: ${callout.why}`)}</title></path>`);
  }
  const xLabel = `<text class="axis-label" x="${(plot.x0 + plot.x1) / 2}" y="${height - 10}" text-anchor="middle">${e(o.xLabel)}</text>`;
  return frame(o, height, `${valueAxis(ticks, y, false, plot, o.yLabel)}${axes(plot)}<g class="marks">${parts.join('')}</g>${xLabel}`);
}

/** A line per series across the categories (days along x), a dot at each value. */
export function lineChart(o: ChartOptions): string {
  const { height, plot, ticks, y, band } = categoryPlot(o);
  const x = (i: number) => plot.x0 + (i + 0.5) * band;
  const parts: string[] = [];
  for (const s of o.series) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(2)} ${y(v).toFixed(2)} `;
      pen = true;
    });
    if (d) parts.push(`<path class="line" d="${d.trim()}" fill="none" stroke="${e(s.color)}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      parts.push(mark('circle', s, o.categories[i]!, i, `cx="${x(i).toFixed(2)}" cy="${y(v).toFixed(2)}" r="3.5" fill="${e(s.color)}"`));
    });
  }
  const ticksX = o.categories.map((c, i) => `<text class="tick" x="${x(i).toFixed(2)}" y="${plot.y1 + 16}" text-anchor="middle">${e(o.tick ? o.tick(c) : c)}</text>`).join('');
  const xLabel = `<text class="axis-label" x="${(plot.x0 + plot.x1) / 2}" y="${height - 10}" text-anchor="middle">${e(o.xLabel)}</text>`;
  return frame(o, height, `${valueAxis(ticks, y, false, plot, o.yLabel)}${axes(plot)}<g class="marks">${parts.join('')}${ticksX}</g>${xLabel}`);
}

/** A stacked bar per category (names down y, long ones shortened with the whole name in the tooltip). */
export function barChart(o: ChartOptions): string {
  const row = 24;
  const left = 200;
  const height = MARGIN.top + Math.max(1, o.categories.length) * row + MARGIN.bottom;
  const plot = { x0: left, x1: WIDTH - MARGIN.right, y0: MARGIN.top, y1: height - MARGIN.bottom };
  const ticks = axisTicks(maxOf({ ...o, stacked: true }));
  const top = ticks.at(-1)!;
  const x = (v: number) => plot.x0 + (v / top) * (plot.x1 - plot.x0);
  const parts: string[] = [];
  o.categories.forEach((c, i) => {
    const y0 = plot.y0 + i * row;
    let base = 0;
    for (const s of o.series) {
      const v = s.values[i];
      if (v === null || v === undefined) continue;
      const to = base + Math.max(0, v);
      parts.push(mark('rect', s, c, i, `x="${x(base).toFixed(2)}" y="${(y0 + 4).toFixed(2)}" width="${(x(to) - x(base)).toFixed(2)}" height="${row - 8}" fill="${e(s.color)}"`));
      base = to;
    }
    const name = c.length > 26 ? `${c.slice(0, 25)}…` : c;
    parts.push(`<text class="tick" x="${plot.x0 - 6}" y="${y0 + row / 2 + 4}" text-anchor="end"><title>${e(c)}</title>${e(name)}</text>`);
  });
  const yLabel = `<text class="axis-label" x="8" y="${MARGIN.top - 8}">${e(o.yLabel)}</text>`;
  return frame(o, height, `${valueAxis(ticks, x, true, plot, o.xLabel)}${axes(plot)}<g class="marks">${parts.join('')}</g>${yLabel}`);
}
