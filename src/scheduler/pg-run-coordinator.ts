// node-cron's RunCoordinator backed by PostgreSQL: the first replica to insert a fire's key
// runs it, the others skip it. Works the same on embedded PGlite (one process).
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { RunCoordinator } from 'node-cron';
import type { Clock } from '../sandbox/clock.ts';
import type { Warehouse } from '../warehouse/schema.ts';

const RETENTION_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export class PgRunCoordinator implements RunCoordinator {
  readonly #db: Kysely<Warehouse>;
  readonly #clock: Clock;
  readonly #replica: string;
  #lastPrune = -Infinity;

  constructor(db: Kysely<Warehouse>, clock: Clock, replica = `${hostname()}:${process.pid}`) {
    this.#db = db;
    this.#clock = clock;
    this.#replica = replica;
  }

  /** Claims being decided right now (tests wait for them before moving a fake clock). */
  pending = 0;

  async shouldRun(key: string): Promise<boolean> {
    this.pending += 1;
    try {
      return await this.#claim(key);
    } finally {
      this.pending -= 1;
    }
  }

  async #claim(key: string): Promise<boolean> {
    const now = new Date(this.#clock.now());
    const claimed = await this.#db
      .insertInto('smsc_internal.cron_fires')
      .values({ key, claimed_by: this.#replica, claimed_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('key')
      .executeTakeFirst();
    if (now.getTime() - this.#lastPrune > PRUNE_EVERY_MS) {
      this.#lastPrune = now.getTime();
      await this.#db.deleteFrom('smsc_internal.cron_fires').where('claimed_at', '<', new Date(now.getTime() - RETENTION_MS)).execute();
    }
    return claimed !== undefined;
  }

  async onComplete(key: string): Promise<void> {
    await this.#db.updateTable('smsc_internal.cron_fires').set({ finished_at: new Date(this.#clock.now()) }).where('key', '=', key).execute();
  }
}
