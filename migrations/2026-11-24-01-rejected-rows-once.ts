// rejected_rows keeps one row per bad API row. A rejected row is never held, so every re-read
// of its page (the newest history page is read every 5 minutes) inserted it again: hundreds of
// copies a day of one bad message, and every run reported it as newly rejected. Now a row is
// told apart by the SHA-256 of its raw text (`digest`); seeing it again moves `last_seen_at`
// and counts `times_seen`. Existing copies collapse into their first row (its run_id: the run
// that first saw it), with the first and last time seen and how many copies there were.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE smsc.rejected_rows
      ADD COLUMN digest text,
      ADD COLUMN first_seen_at timestamptz,
      ADD COLUMN last_seen_at timestamptz,
      ADD COLUMN times_seen integer`.execute(db);
  // The same digest as the sync computes: SHA-256 of raw's UTF-8 bytes.
  await sql`UPDATE smsc.rejected_rows SET digest = encode(sha256(convert_to(raw, 'UTF8')), 'hex')`.execute(db);
  await sql`
    WITH copies AS (
      SELECT account, stream, digest, min(id) AS keep, min(rejected_at) AS first_seen, max(rejected_at) AS last_seen, count(*)::int AS n
      FROM smsc.rejected_rows GROUP BY account, stream, digest
    )
    UPDATE smsc.rejected_rows r SET first_seen_at = c.first_seen, last_seen_at = c.last_seen, times_seen = c.n
    FROM copies c WHERE r.id = c.keep`.execute(db);
  await sql`DELETE FROM smsc.rejected_rows WHERE times_seen IS NULL`.execute(db);
  await sql`
    ALTER TABLE smsc.rejected_rows
      ALTER COLUMN digest SET NOT NULL,
      ALTER COLUMN first_seen_at SET NOT NULL,
      ALTER COLUMN last_seen_at SET NOT NULL,
      ALTER COLUMN times_seen SET NOT NULL`.execute(db);
  await sql`CREATE UNIQUE INDEX rejected_rows_once ON smsc.rejected_rows (account, stream, digest)`.execute(db);

  const comments: [string, string][] = [
    ['TABLE smsc.rejected_rows', 'API rows that failed validation, one row per bad API row (account, stream, digest), with the reason and the row as it came; none is dropped silently.'],
    ['COLUMN smsc.rejected_rows.run_id', 'The run that first rejected the row.'],
    ['COLUMN smsc.rejected_rows.raw', 'The API row as it came (JSON text; bytes that were not UTF-8 appear as \\udcXX).'],
    ['COLUMN smsc.rejected_rows.reason', 'Field and why it was refused (the latest reason, should it change).'],
    ['COLUMN smsc.rejected_rows.rejected_at', 'When the row was first rejected (same as first_seen_at).'],
    ['COLUMN smsc.rejected_rows.digest', 'SHA-256 (hex) of raw: what tells one bad API row from another.'],
    ['COLUMN smsc.rejected_rows.first_seen_at', 'When SMSC first sent the row.'],
    ['COLUMN smsc.rejected_rows.last_seen_at', 'When SMSC last sent the row (each re-read of its page).'],
    ['COLUMN smsc.rejected_rows.times_seen', 'How many times SMSC sent the row.'],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
