// The read-only role for analysts and BI tools: USAGE on schema smsc and SELECT on its tables
// and views (also those later migrations add), EXECUTE on its functions, nothing else.
import { type Kysely, sql } from 'kysely';

/** PostgreSQL's duplicate_object: another process created the role first. */
const DUPLICATE_OBJECT = '42710';
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates the role when missing (NOLOGIN: give logins membership) and grants read access; idempotent. */
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
}
