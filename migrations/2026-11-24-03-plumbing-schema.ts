// The warehouse's plumbing moves out of the analysts' sight (issue 13): `grant-reader` grants
// the read-only role all of schema smsc, and the quota ledger (api_requests: every request,
// its account, quota key and outcome), the holds and login checks (HMACs of the credentials),
// the cursors (sync_state) and the cron claims (cron_fires) are nothing an analyst needs, and
// the HMACs are values derived from a secret. They move to schema smsc_internal, which
// `grant-reader` never grants; smsc keeps the data tables, the lookup tables, accounts (host,
// login and zone: no secret), the views, sync_runs and rejected_rows. (The migrator's own
// tables move there before it runs: src/warehouse/migrate.ts.)
// ALTER TABLE … SET SCHEMA takes the table's indexes, constraints, identity sequence and
// grants along: the grants a reader received on these tables (and the migrator's) through the
// old schema-wide grant are revoked here, so they cannot come back to life should anyone ever
// be given USAGE on smsc_internal.
import { type Kysely, sql } from 'kysely';

/** The plumbing tables, moved from smsc to smsc_internal. */
const PLUMBING = ['api_requests', 'account_holds', 'login_checks', 'sync_state', 'cron_fires'];

export async function up(db: Kysely<any>): Promise<void> {
  // (The migrator may have made the schema already, for its own tables.)
  await sql`CREATE SCHEMA IF NOT EXISTS smsc_internal`.execute(db);
  await sql`COMMENT ON SCHEMA smsc_internal IS 'smsc-sync''s plumbing (quota ledger, holds, login checks, cursors, cron claims, migrations); never granted to the read-only role.'`.execute(db);
  await sql`REVOKE ALL ON SCHEMA smsc_internal FROM PUBLIC`.execute(db);
  for (const table of PLUMBING) await sql`ALTER TABLE ${sql.table(`smsc.${table}`)} SET SCHEMA smsc_internal`.execute(db);
  // Every grant anything in smsc_internal carries (the plumbing, its sequences, the migrator's
  // tables moved before this ran), except its owner's own; regrole prints a name quoted as needed.
  const grants = await sql<{ kind: string; name: string; grantee: string }>`
    SELECT DISTINCT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, c.relname AS name,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
    WHERE n.nspname = 'smsc_internal' AND a.grantee <> c.relowner`.execute(db);
  for (const g of grants.rows) await sql`REVOKE ALL ON ${sql.raw(g.kind)} ${sql.table(`smsc_internal.${g.name}`)} FROM ${sql.raw(g.grantee)}`.execute(db);
}

/**
 * Puts the plumbing back in smsc. The migrator's own tables stay in smsc_internal (this code
 * keeps them there whatever is migrated down), and so does the schema.
 */
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of PLUMBING) await sql`ALTER TABLE ${sql.table(`smsc_internal.${table}`)} SET SCHEMA smsc`.execute(db);
}
