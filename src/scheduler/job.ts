// A cron job: which streams it runs, and when by default.

export interface JobDefinition {
  /** Also the suffix of its schedule variable: SMSC_SCHEDULE_<NAME>. */
  readonly name: string;
  /** Cron expression (5 fields, or 6 with seconds), in the account's time zone. */
  readonly schedule: string;
  readonly streams: readonly string[];
  readonly description: string;
}

/** `short_links` -> `SMSC_SCHEDULE_SHORT_LINKS`. */
export function scheduleVariable(job: string): string {
  return `SMSC_SCHEDULE_${job.toUpperCase()}`;
}
