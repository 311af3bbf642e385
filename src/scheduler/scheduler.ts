// `smsc-sync start`: the cron jobs of jobs/, one node-cron task per (job, account) in the
// account's time zone, with noOverlap, and node-cron's distributed mode backed by a
// PostgreSQL run coordinator so that with several replicas each fire runs once.
// Every run takes one of the process's run slots (SMSC_MAX_CONCURRENT_RUNS), so any number of
// accounts and jobs firing together queue for slots instead of exhausting the database pool.
// A run the quota cut short (deferred) is resumed at its retry time, claimed once across
// replicas, not at the next cron fire. A failed run is logged and retried by the next fire,
// never in a tight loop. stop() schedules nothing more, lets the page in flight commit or
// roll back, and waits for running jobs until its deadline; what is still running then is
// reported so the caller can exit anyway.
import { type Kysely, sql } from 'kysely';
import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import { JOBS } from '../../jobs/index.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { type Clock, systemClock } from '../sandbox/clock.ts';
import type { QuotaPolicy } from '../smsc/quota-ledger.ts';
import type { RunSummary } from '../sync/run-stream.ts';
import { runSync, type SyncOptions } from '../sync/sync.ts';
import type { Warehouse as Db } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/schema.ts';
import type { JobDefinition } from './job.ts';
import { Permits, PgRunCoordinator } from './pg-run-coordinator.ts';

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

/** What stop() found when its deadline came. */
export interface StopResult {
  /** True when every job ended before the deadline. */
  readonly finished: boolean;
  /** `job:account` of the jobs still running at the deadline. */
  readonly running: readonly string[];
}

/** A resume earlier than this after its deferral is moved to this (no tight loop). */
const MIN_RESUME_DELAY_MS = 1000;
/** The start-up runs (SMSC_RUN_ON_START) come this long after start(). */
const START_UP_DELAY_MS = 2000;
/** Replicas started within this long of each other run the start-up runs once between them. */
const START_UP_WINDOW_MS = 60_000;

export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #clock: Clock;
  readonly #tasks: ScheduledTask[] = [];
  /** Running jobs by `job:account`. */
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #resumes = new Set<NodeJS.Timeout>();
  readonly #stop = new AbortController();
  readonly #coordinator: PgRunCoordinator;
  #idleWaiters: (() => void)[] = [];
  #running = false;
  /** Fires (and resumes) this replica ran (for tests and logs). */
  fires = 0;
  /** Resumes of deferred runs this replica ran. */
  resumes = 0;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    // One job permit per run slot: a replica claims a fire only when it could start it soon,
    // so of several replicas the idle ones take the fires, and nothing claimed waits behind a
    // long queue while another replica has room.
    this.#coordinator = new PgRunCoordinator(options.warehouse.db, this.#clock, {
      replica: options.replica,
      permits: new Permits(options.config.maxConcurrentRuns),
      signal: this.#stop.signal,
      // A cron fire of a job this replica runs already (its start-up run, a resume) is left
      // to another replica rather than claimed and skipped. (node-cron's key: name:ISO time.)
      isBusy: (key) => this.#inFlight.has(key.replace(/:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, '')),
    });
  }

  get running(): boolean {
    return this.#running;
  }

  /** `job:account` of the jobs running now. */
  get inFlight(): readonly string[] {
    return [...this.#inFlight.keys()];
  }

  /** Deferred runs waiting for their retry time. */
  get pendingResumes(): number {
    return this.#resumes.size;
  }

  /** Jobs running and fires being claimed right now (0: nothing under way). */
  get busy(): number {
    return this.#inFlight.size + this.#coordinator.pending;
  }

  /** The schedule each job runs on, after SMSC_SCHEDULE_<NAME> overrides. */
  schedules(): { job: string; schedule: string; streams: readonly string[] }[] {
    return (this.#options.jobs ?? JOBS).map((j) => ({ job: j.name, schedule: this.#options.config.schedules[j.name] ?? j.schedule, streams: j.streams }));
  }

  start(): void {
    const { config, logger } = this.#options;
    const cronLogger = cronLoggerOf(logger);
    // Each task gets it, and node-cron's module-wide logger too (its shutdown and background
    // tasks write there), so that none of its output bypasses the logger.
    cron.setLogger(cronLogger);
    for (const { job, schedule, streams } of this.schedules()) {
      for (const account of config.accounts) {
        const name = `${job}:${account.name}`;
        const task = cron.createTask(schedule, () => this.#fire(job, account.name, streams), {
          name,
          timezone: account.timezone,
          noOverlap: true,
          distributed: true,
          runCoordinator: this.#coordinator,
          logger: cronLogger,
        });
        task.on('execution:overlap', () => logger.info({ job: name }, 'previous run still going; this fire skipped'));
        void task.start();
        this.#tasks.push(task);
      }
    }
    this.#running = true;
    logger.info({ jobs: this.schedules(), accounts: config.accounts.map((a) => a.name), maxConcurrentRuns: config.maxConcurrentRuns, runOnStart: config.runOnStart }, 'scheduler started');
    // Without this a fresh installation would wait for each job's first fire (tariffs at
    // 03:17, short links at 23:55). Claimed like fires, so replicas started together run
    // each once.
    if (config.runOnStart) {
      const timer = setTimeout(() => {
        this.#resumes.delete(timer);
        for (const { job, streams } of this.schedules()) {
          for (const account of config.accounts) {
            void this.#claimAndFire(`startup:${job}:${account.name}`, job, account.name, streams, 'start-up run', START_UP_WINDOW_MS).then((ran) => {
              if (!ran && !this.#stop.signal.aborted) {
                this.#options.logger.info({ job: `${job}:${account.name}` }, 'start-up run left out: another replica ran it within the last minute');
              }
            });
          }
        }
      }, START_UP_DELAY_MS);
      timer.unref();
      this.#resumes.add(timer);
    }
    // A run the quota cut short before a restart resumes at its retry time, as it would have
    // in the process that ran it (its timer died with that process).
    void this.#resumeDeferredRuns().catch((error: unknown) => this.#options.logger.warn({ err: error }, 'could not read the deferred runs to resume them; the next fires run them'));
  }

  /** Schedules the resume of each (account, job) whose last run of a stream was deferred to a time still ahead. */
  async #resumeDeferredRuns(): Promise<void> {
    const { config, warehouse } = this.#options;
    const names = config.accounts.map((a) => a.name);
    if (names.length === 0) return;
    const rows = await sql<{ account: string; stream: string; deferred_until: Date }>`
      SELECT DISTINCT ON (account, stream) account, stream, outcome, deferred_until
      FROM smsc.sync_runs WHERE account IN (${sql.join(names)})
      ORDER BY account, stream, started_at DESC`.execute(warehouse.db);
    const now = this.#clock.now();
    for (const row of rows.rows as { account: string; stream: string; outcome?: string; deferred_until: Date | null }[]) {
      if (row.outcome !== 'deferred' || !row.deferred_until) continue;
      const at = new Date(row.deferred_until).getTime();
      // Already due: the start-up run covers it (without one, it runs now).
      if (at <= now + START_UP_DELAY_MS && config.runOnStart) continue;
      const job = this.schedules().find((j) => j.streams.includes(row.stream));
      if (job) this.#scheduleResume(job.job, row.account, job.streams, at);
    }
  }

  /** Runs the job once if this replica wins `claim` (start-up runs, resumes of deferred runs). */
  async #claimAndFire(claim: string, job: string, account: string, streams: readonly string[], what: string, renewAfterMs?: number): Promise<boolean> {
    if (this.#stop.signal.aborted || this.#inFlight.has(`${job}:${account}`)) return false;
    try {
      const won = renewAfterMs === undefined ? await this.#coordinator.shouldRun(claim) : await this.#coordinator.shouldRunUnlessRecent(claim, renewAfterMs);
      if (!won) return false;
      try {
        this.#options.logger.info({ job: `${job}:${account}` }, what);
        await this.#fire(job, account, streams);
      } finally {
        await this.#coordinator.onComplete(claim);
      }
      return true;
    } catch (error) {
      this.#options.logger.error({ err: error, job: `${job}:${account}` }, `${what} failed; the next fire retries`);
      return false;
    }
  }

  /** Resolves when no job is running (tests). */
  idle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #fire(job: string, account: string, streams: readonly string[]): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const key = `${job}:${account}`;
    if (this.#inFlight.has(key)) {
      this.#options.logger.info({ job: key }, 'previous run still going; this fire skipped');
      return;
    }
    this.fires += 1;
    const run = this.#runJob(job, account, streams);
    this.#inFlight.set(key, run);
    try {
      await run;
    } finally {
      this.#inFlight.delete(key);
      if (this.#inFlight.size === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  async #runJob(job: string, account: string, streams: readonly string[]): Promise<void> {
    const { config, warehouse, logger, metrics } = this.#options;
    let summaries: RunSummary[];
    try {
      summaries = await runSync({
        config: { ...config, accounts: config.accounts.filter((a) => a.name === account) },
        warehouse,
        logger,
        streams,
        signal: this.#stop.signal,
        clock: this.#clock,
        ...(metrics ? { metrics } : {}),
        ...(this.#options.client ? { client: this.#options.client } : {}),
        ...(this.#options.quota ? { quota: this.#options.quota } : {}),
      });
    } catch (error) {
      // The next fire tries again; nothing loops here.
      logger.error({ err: error, job: `${job}:${account}` }, 'job failed; the next fire retries');
      return;
    }
    const deferred = summaries.filter((s) => s.outcome === 'deferred' && s.deferredUntil);
    if (deferred.length > 0 && !this.#stop.signal.aborted) {
      const at = Math.max(...deferred.map((s) => s.deferredUntil!.getTime()));
      this.#scheduleResume(job, account, streams, at);
    }
  }

  /**
   * Runs the job again at `at` (a deferred run's retry time). Claimed in cron_fires like a
   * fire, so that of several replicas that deferred it, one resumes it.
   */
  #scheduleResume(job: string, account: string, streams: readonly string[], at: number): void {
    const delay = Math.max(MIN_RESUME_DELAY_MS, at - this.#clock.now());
    const claim = `resume:${job}:${account}:${new Date(this.#clock.now() + delay).toISOString().slice(0, 19)}`;
    const timer = setTimeout(() => {
      this.#resumes.delete(timer);
      void this.#claimAndFire(claim, job, account, streams, 'resuming a deferred run at its retry time').then((ran) => {
        if (ran) this.resumes += 1;
      });
    }, delay);
    timer.unref();
    this.#resumes.add(timer);
  }

  /**
   * Stops scheduling, asks running jobs to stop after their page, and waits for them up to
   * `timeoutMs`.
   */
  async stop(timeoutMs = this.#options.config.stopTimeoutMs): Promise<StopResult> {
    this.#running = false;
    this.#stop.abort();
    const unclaimed = this.#coordinator.pending;
    if (unclaimed > 0) this.#options.logger.info({ fires: unclaimed }, 'stopping: fires still waiting for a run slot are not claimed; another replica or the next fire runs them');
    for (const timer of this.#resumes) clearTimeout(timer);
    this.#resumes.clear();
    await Promise.all(this.#tasks.map((t) => t.destroy()));
    let timer: NodeJS.Timeout | undefined;
    // The jobs, then node-cron's bookkeeping of their fires (done after each job ends, on the
    // database the caller closes next).
    const done = Promise.allSettled([...this.#inFlight.values()])
      .then(() => this.#coordinator.drained(timeoutMs))
      .then(() => true);
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const finished = await Promise.race([done, late]);
    clearTimeout(timer);
    const running = finished ? [] : this.inFlight;
    if (!finished) this.#options.logger.warn({ timeoutMs, running }, 'jobs still running at the stop deadline');
    return { finished, running };
  }
}

/**
 * node-cron's own messages, through the logger (its default writes coloured text to stdout);
 * the logger writes the Dates in them (`missed execution at ${date}`) in ISO 8601.
 */
export function cronLoggerOf(logger: Logger): CronLogger {
  const log = logger.child({ component: 'node-cron' });
  const text = (m: string | Error) => (m instanceof Error ? m.message : m);
  return {
    info: (m: string) => log.debug(m),
    // Its overlap warning names no job; the scheduler's own line for the same skip does.
    warn: (m: string) => (/overlap prevention/.test(m) ? log.debug(m) : log.warn(m)),
    error: (m: string | Error, err?: Error) => log.error({ err: err ?? (m instanceof Error ? m : undefined) }, text(m)),
    debug: (m: string | Error, err?: Error) => log.debug({ err }, text(m)),
  };
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
