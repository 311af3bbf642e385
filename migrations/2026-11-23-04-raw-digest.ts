// outbound_messages.raw_sha1: the SHA-1 of each history row's raw JSON as it came. Every run
// re-reads the newest page, most of it unchanged since the last run; rows whose digest is
// already held skip the page's write (parsing a thousand raw objects into jsonb is most of
// its cost). Rows written before this migration have none: they go through the merge (a
// no-op when unchanged) as before.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE smsc.outbound_messages ADD COLUMN raw_sha1 text`.execute(db);
  await sql`COMMENT ON COLUMN smsc.outbound_messages.raw_sha1 IS 'SHA-1 (hex) of raw as SMSC sent it; a re-read row with the same digest is not written again.'`.execute(db);
}
