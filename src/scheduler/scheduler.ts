// `smsc-sync start`: the cron jobs of jobs/, one task per (job, account) in the account's
// time zone, with noOverlap, and node-cron's distributed mode backed by a PostgreSQL run
// coordinator so that with several replicas each fire runs once. A failed run is logged and
// retried by the next fire, never in a tight loop. stop() schedules nothing more, lets the
// page in flight commit or roll back, and waits (bounded) for running jobs.
import { type Kysely, sql } from 'kysely';
import cron, { type ScheduledTask } from 'node-cron';
import { JOBS } from '../../jobs/index.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import type { QuotaPolicy } from '../smsc/quota-ledger.ts';
import { runSync, type SyncOptions } from '../sync/sync.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { JobDefinition } from './job.ts';
import { PgRunCoordinator } from './pg-run-coordinator.ts';

export interface SchedulerOptions {
  readonly config: Config;
  readonly warehouse: Db<Warehouse>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly clock?: Clock;
  /** (Default: jobs/index.ts) */
  readonly jobs?: readonly JobDefinition[];
  /** Name of this replica in cron_fires. (Default: host:pid) */
  readonly replica?: string;
  /** Client and quota overrides (tests). */
  readonly client?: SyncOptions['client'];
  readonly quota?: Partial<QuotaPolicy>;
}

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #tasks: ScheduledTask[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  #running = false;
  /** Fires this replica ran (for tests and logs). */
  fires = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#running;
  }

  /** The schedule each job runs on, after SMSC_SCHEDULE_<NAME> overrides. */
  schedules(): { job: string; schedule: string; streams: readonly string[] }[] {
    return (this.#options.jobs ?? JOBS).map((j) => ({ job: j.name, schedule: this.#options.config.schedules[j.name] ?? j.schedule, streams: j.streams }));
  }

  start(): void {
    const { config, warehouse, logger } = this.#options;
    const clock = this.#options.clock ?? systemClock;
    const coordinator = new PgRunCoordinator(warehouse.db, clock, this.#options.replica);
    for (const { job, schedule, streams } of this.schedules()) {
      for (const account of config.accounts) {
        const name = `${job}:${account.name}`;
        const task = cron.createTask(schedule, () => this.#fire(name, account.name, streams), {
          name,
          timezone: account.timezone,
          noOverlap: true,
          distributed: true,
          runCoordinator: coordinator,
        });
        task.on('execution:overlap', () => logger.info({ job: name }, 'previous run still going; this fire skipped'));
        void task.start();
        this.#tasks.push(task);
      }
    }
    this.#running = true;
    logger.info({ jobs: this.schedules(), accounts: config.accounts.map((a) => a.name) }, 'scheduler started');
  }

  async #fire(name: string, account: string, streams: readonly string[]): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.fires += 1;
    const { config, warehouse, logger, metrics } = this.#options;
    const run = runSync({
      config: { ...config, accounts: config.accounts.filter((a) => a.name === account) },
      warehouse,
      logger,
      streams,
      signal: this.#stop.signal,
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      ...(metrics ? { metrics } : {}),
      ...(this.#options.client ? { client: this.#options.client } : {}),
      ...(this.#options.quota ? { quota: this.#options.quota } : {}),
    }).catch((error: unknown) => {
      // The next fire tries again; nothing loops here.
      logger.error({ err: error, job: name }, 'job failed; the next fire retries');
    });
    this.#inFlight.add(run);
    try {
      await run;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  /** Stops scheduling, asks running jobs to stop after their page, waits up to `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    this.#running = false;
    this.#stop.abort();
    await Promise.all(this.#tasks.map((t) => t.destroy()));
    const done = Promise.allSettled([...this.#inFlight]).then(() => true);
    const late = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    const finished = await Promise.race([done, late]);
    if (!finished) this.#options.logger.warn({ timeoutMs }, 'jobs still running at the stop deadline; their open page rolls back');
    return finished;
  }
}

/** /healthz: healthy while the scheduler runs and the database answers. */
export function schedulerHealth(scheduler: Scheduler, db: Kysely<Warehouse>): () => Promise<string | undefined> {
  return async () => {
    if (!scheduler.running) return 'scheduler stopped';
    try {
      await sql`SELECT 1`.execute(db);
    } catch (error) {
      return `database does not answer: ${error instanceof Error ? error.message : String(error)}`;
    }
    return undefined;
  };
}
