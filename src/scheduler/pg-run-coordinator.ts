// node-cron's RunCoordinator backed by PostgreSQL: the first replica to insert a fire's key
// runs it, the others skip it. Works the same on embedded PGlite (one process).
// A replica claims a fire only once it holds one of its job permits (as many as its run
// slots): a busy replica waits, so an idle one claims the fire first, and a replica that is
// stopping claims nothing more; what it had not claimed is left to the others.
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { RunCoordinator } from 'node-cron';
import type { Clock } from '../sandbox/clock.ts';
import type { Warehouse } from '../warehouse/schema.ts';

const RETENTION_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** Counting semaphore, first come first served. */
export class Permits {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(count: number) {
    this.#free = count;
  }

  /** Waiting for a permit. */
  get waiting(): number {
    return this.#waiting.length;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free += 1;
  }
}

export interface RunCoordinatorOptions {
  /** Name of this replica in cron_fires. (Default: host:pid) */
  readonly replica?: string | undefined;
  /** Held from a won claim to its onComplete; none: claims are not limited. */
  readonly permits?: Permits | undefined;
  /** Once aborted, nothing more is claimed (waiting claims return false). */
  readonly signal?: AbortSignal | undefined;
  /** True when this replica is running the fire's job already: the fire is left to others. */
  readonly isBusy?: ((key: string) => boolean) | undefined;
}

export class PgRunCoordinator implements RunCoordinator {
  readonly #db: Kysely<Warehouse>;
  readonly #clock: Clock;
  readonly #replica: string;
  readonly #permits: Permits | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #isBusy: ((key: string) => boolean) | undefined;
  /** Keys whose claim this replica won and holds a permit for, until onComplete. */
  readonly #held = new Set<string>();
  #lastPrune = -Infinity;

  constructor(db: Kysely<Warehouse>, clock: Clock, options: RunCoordinatorOptions | string = {}) {
    const o = typeof options === 'string' ? { replica: options } : options;
    this.#db = db;
    this.#clock = clock;
    this.#replica = o.replica ?? `${hostname()}:${process.pid}`;
    this.#permits = o.permits;
    this.#signal = o.signal;
    this.#isBusy = o.isBusy;
  }

  /** Claims being decided or waiting for a permit right now (tests wait for them before moving a fake clock). */
  pending = 0;
  /** onComplete calls writing finished_at right now. */
  #completing = 0;

  /**
   * Resolves once no claim is being decided, held or marked complete, or after `withinMs`:
   * node-cron marks a fire complete only after its job has ended, so a scheduler that stops
   * waits for this too before the database is closed under these statements.
   */
  async drained(withinMs: number): Promise<void> {
    const deadline = performance.now() + withinMs;
    while ((this.pending > 0 || this.#held.size > 0 || this.#completing > 0) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async shouldRun(key: string): Promise<boolean> {
    return this.#decide(key, undefined);
  }

  /**
   * Like shouldRun, for a key claimed again and again (`startup:<job>:<account>`): won when no
   * replica has claimed it within the last `renewAfterMs`.
   */
  shouldRunUnlessRecent(key: string, renewAfterMs: number): Promise<boolean> {
    return this.#decide(key, renewAfterMs);
  }

  async #decide(key: string, renewAfterMs: number | undefined): Promise<boolean> {
    this.pending += 1;
    try {
      await this.#permits?.acquire();
      let claimed = false;
      try {
        claimed = !this.#signal?.aborted && !this.#isBusy?.(key) && (await this.#claim(key, renewAfterMs));
      } finally {
        if (claimed) this.#held.add(key);
        else this.#permits?.release();
      }
      return claimed;
    } finally {
      this.pending -= 1;
    }
  }

  async #claim(key: string, renewAfterMs: number | undefined): Promise<boolean> {
    const now = new Date(this.#clock.now());
    const claimed = await this.#db
      .insertInto('smsc_internal.cron_fires')
      .values({ key, claimed_by: this.#replica, claimed_at: now })
      .onConflict((oc) =>
        renewAfterMs === undefined
          ? oc.column('key').doNothing()
          : oc
              .column('key')
              .doUpdateSet({ claimed_by: this.#replica, claimed_at: now, finished_at: null })
              .where('smsc_internal.cron_fires.claimed_at', '<', new Date(now.getTime() - renewAfterMs)),
      )
      .returning('key')
      .executeTakeFirst();
    if (now.getTime() - this.#lastPrune > PRUNE_EVERY_MS) {
      this.#lastPrune = now.getTime();
      await this.#db.deleteFrom('smsc_internal.cron_fires').where('claimed_at', '<', new Date(now.getTime() - RETENTION_MS)).execute();
    }
    return claimed !== undefined;
  }

  async onComplete(key: string): Promise<void> {
    this.#completing += 1;
    try {
      if (this.#held.delete(key)) this.#permits?.release();
      await this.#db.updateTable('smsc_internal.cron_fires').set({ finished_at: new Date(this.#clock.now()) }).where('key', '=', key).execute();
    } finally {
      this.#completing -= 1;
    }
  }
}
