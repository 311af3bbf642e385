// A deferred run says when it resumes: `status` showed `deferred` with no time, so a user could
// not tell a run waiting a minute for the stats quota from one waiting most of an hour for the
// history quota.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE smsc.sync_runs ADD COLUMN deferred_until timestamptz`.execute(db);
  await sql`COMMENT ON COLUMN smsc.sync_runs.deferred_until IS 'For outcome deferred: when the SMSC quota that cut the run short allows its next request, and the run resumes (null for other outcomes, and for a run deferred by a stop signal).'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE smsc.sync_runs DROP COLUMN deferred_until`.execute(db);
}
