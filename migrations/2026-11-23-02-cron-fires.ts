// Several replicas of `smsc-sync start` run the same cron jobs; each fire must run on one of
// them only. A replica claims a fire by inserting its key (job, account, scheduled minute);
// the primary key lets exactly one insert win. Rows are pruned after a week.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE smsc.cron_fires (
      key text PRIMARY KEY,
      claimed_by text NOT NULL,
      claimed_at timestamptz NOT NULL,
      finished_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX cron_fires_claimed_at ON smsc.cron_fires (claimed_at)`.execute(db);
  await sql`COMMENT ON TABLE smsc.cron_fires IS 'Cron fires claimed by the replicas of smsc-sync start: each (job, account, scheduled time) runs once.'`.execute(db);
}
