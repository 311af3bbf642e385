// Schedules for every job of `smsc-sync start`, taken from the job list itself, so that a job
// added later cannot fire at its default time in a test that meant to set them all (the
// balance job's xx:59:50 once did, and a test failed at the top of the hour only).
import { JOBS } from '../../jobs/index.ts';
import { scheduleVariable } from '../../src/scheduler/job.ts';

/** SMSC_SCHEDULE_<JOB> = `cron` for every job, except those named in `except`. */
export function everyJobOn(cron: string, except: readonly string[] = []): Record<string, string> {
  return Object.fromEntries(JOBS.filter((j) => !except.includes(j.name)).map((j) => [scheduleVariable(j.name), cron]));
}

/** A cron that does not come round during a test: 1 January, 00:00. */
export const NEVER = '0 0 1 1 *';
