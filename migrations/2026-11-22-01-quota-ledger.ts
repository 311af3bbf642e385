// The quota ledger. SMSC refuses a fourth identical request within a minute, a 31st history
// request within an hour, and blocks the customer's IP (stopping their production sending)
// after five failed logins. Every process of every replica records each request here before
// sending it, under a per-account advisory lock, so they all plan against one budget.
// account_holds keeps an account stopped after error 2 (bad credentials: until they change)
// or error 4 (IP blocked: for a cool-off), across processes and restarts.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS smsc`.execute(db);
  await sql`
    CREATE TABLE smsc.api_requests (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      account text NOT NULL,
      endpoint text NOT NULL,
      fingerprint text NOT NULL,
      sent_at timestamptz NOT NULL,
      finished_at timestamptz,
      outcome text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'ok', 'error', 'failed')),
      error_code integer,
      http_status integer,
      attempt integer NOT NULL DEFAULT 1,
      process text NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX api_requests_account_sent_at ON smsc.api_requests (account, sent_at)`.execute(db);
  await sql`CREATE INDEX api_requests_account_endpoint_sent_at ON smsc.api_requests (account, endpoint, sent_at)`.execute(db);
  await sql`CREATE INDEX api_requests_account_fingerprint_sent_at ON smsc.api_requests (account, fingerprint, sent_at)`.execute(db);
  await sql`
    CREATE TABLE smsc.account_holds (
      account text PRIMARY KEY,
      error_code integer NOT NULL,
      reason text NOT NULL,
      held_at timestamptz NOT NULL,
      held_until timestamptz,
      credentials_hash text NOT NULL
    )`.execute(db);
  await sql`COMMENT ON TABLE smsc.api_requests IS 'Every request sent to SMSC (no secrets): the quota ledger all processes share.'`.execute(db);
  await sql`COMMENT ON COLUMN smsc.api_requests.fingerprint IS 'Endpoint and parameters without credentials: what SMSC compares as identical requests.'`.execute(db);
  await sql`COMMENT ON COLUMN smsc.api_requests.outcome IS 'pending (in flight), ok, error (SMSC error code in error_code), failed (network, timeout, HTTP status, bad body).'`.execute(db);
  await sql`COMMENT ON TABLE smsc.account_holds IS 'Accounts stopped after SMSC error 2 (until the credentials change) or 4 (until held_until).'`.execute(db);
}
