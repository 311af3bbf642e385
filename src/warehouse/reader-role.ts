// The read-only role for analysts and BI tools: USAGE on schema smsc and SELECT on its tables
// and views (also those later migrations add), EXECUTE on its functions, nothing else. The
// plumbing in smsc_internal (quota ledger, holds, login checks, cursors, cron claims, the
// migrator's tables) is never granted, and whatever the role holds there is revoked: an
// installation granted before the plumbing left smsc closes that door by running it again.
import { type Kysely, sql } from 'kysely';

/** PostgreSQL's duplicate_object: another process created the role first. */
const DUPLICATE_OBJECT = '42710';
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates the role when missing (NOLOGIN: give logins membership) and grants read access to smsc only; idempotent. */
export async function grantReader(db: Kysely<any>, role: string): Promise<void> {
  if (!ROLE_NAME.test(role)) throw new Error(`role name '${role}': use lower-case letters, digits and _ (at most 63)`);
  const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${role}`.execute(db);
  if (exists.rows[0]!.n === 0) {
    try {
      await sql`CREATE ROLE ${sql.id(role)} NOLOGIN`.execute(db);
    } catch (error) {
      if ((error as { code?: string }).code !== DUPLICATE_OBJECT) throw error;
    }
  }
  const r = sql.id(role);
  await sql`GRANT USAGE ON SCHEMA smsc TO ${r}`.execute(db);
  await sql`GRANT SELECT ON ALL TABLES IN SCHEMA smsc TO ${r}`.execute(db);
  await sql`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA smsc TO ${r}`.execute(db);
  await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA smsc GRANT SELECT ON TABLES TO ${r}`.execute(db);
  await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA smsc GRANT EXECUTE ON FUNCTIONS TO ${r}`.execute(db);
  const internal = await sql<{ found: boolean }>`SELECT to_regnamespace('smsc_internal') IS NOT NULL AS found`.execute(db);
  if (!internal.rows[0]!.found) return;
  // Grants on a table follow it into another schema: the old schema-wide grant left SELECT on
  // the tables that moved, unusable only for want of USAGE on the schema.
  await sql`REVOKE ALL ON SCHEMA smsc_internal FROM ${r}`.execute(db);
  await sql`REVOKE ALL ON ALL TABLES IN SCHEMA smsc_internal FROM ${r}`.execute(db);
  await sql`REVOKE ALL ON ALL SEQUENCES IN SCHEMA smsc_internal FROM ${r}`.execute(db);
  await sql`REVOKE ALL ON ALL ROUTINES IN SCHEMA smsc_internal FROM ${r}`.execute(db);
  await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA smsc_internal REVOKE ALL ON TABLES FROM ${r}`.execute(db);
  await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA smsc_internal REVOKE ALL ON SEQUENCES FROM ${r}`.execute(db);
  await sql`ALTER DEFAULT PRIVILEGES IN SCHEMA smsc_internal REVOKE ALL ON FUNCTIONS FROM ${r}`.execute(db);
}
