// `smsc-sync report` and the demo's report: one account's month read from the warehouse and
// written as a self-contained HTML page, or as CSV files for finance.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { localDay } from '../time/calendar.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import { accountTimezone, type Month, readReport } from './read-report.ts';
import { reportCsvTables } from './report-csv.ts';
import { renderReportHtml } from './render-report-html.ts';

export interface WriteReportOptions {
  readonly account: string;
  /** (Default: the current month in the account's zone) */
  readonly month?: Month | undefined;
  /** The HTML file. (Default: `smsc-report-<account>-<yyyy-mm>.html` in `dir`) */
  readonly out?: string | undefined;
  /** Write CSV files into this folder instead of the HTML page. */
  readonly csvDir?: string | undefined;
  /** Where a default-named file goes. (Default: the current folder) */
  readonly dir?: string | undefined;
  /** "Now", for the default month and the page's header. (Default: the system clock) */
  readonly now?: Date | undefined;
}

/** The month an instant falls in, in a zone. */
export function monthIn(now: Date, timeZone: string): Month {
  return localDay(now.getTime(), timeZone).slice(0, 7) as Month;
}

/** A name safe in a file name (account names are the user's). */
const fileSafe = (name: string) => name.replace(/[^\w.-]+/g, '_');

/** The default file stem of a report: `smsc-report-<account>-<yyyy-mm>`. */
export function reportStem(account: string, month: Month): string {
  return `smsc-report-${fileSafe(account)}-${month}`;
}

/** Reads the month and writes the report; returns the paths written (absolute). */
export async function writeReport(db: Kysely<Warehouse>, options: WriteReportOptions): Promise<string[]> {
  const now = options.now ?? new Date();
  const month = options.month ?? monthIn(now, await accountTimezone(db, options.account));
  const data = await readReport(db, options.account, month);
  if (options.csvDir !== undefined) {
    const dir = resolve(options.csvDir);
    await mkdir(dir, { recursive: true });
    const paths: string[] = [];
    for (const t of reportCsvTables(data)) {
      const path = join(dir, `${reportStem(options.account, month)}-${t.name}.csv`);
      await writeFile(path, t.text, 'utf8');
      paths.push(path);
    }
    return paths;
  }
  const path = resolve(options.out ?? join(options.dir ?? '.', `${reportStem(options.account, month)}.html`));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderReportHtml(data, now), 'utf8');
  return [path];
}
