// What the run machinery needs to hold up with many accounts and replicas:
// - api_requests.quota_key: SMSC counts its quotas per login on each host, not per account
//   name; two names for one login must share one budget. Rows written before count under
//   their account name.
// - api_requests.unverified: a request sent with credentials that have not yet succeeded;
//   while one is in flight no other request of that login is sent, and the installation
//   never has more failed logins in 30 minutes than SMSC tolerates.
// - api_requests.retry_at: HTTP 429's Retry-After, which every process respects.
// - login_checks: the credentials of each login that last succeeded, as an HMAC keyed by a
//   secret kept outside the database (nothing a password can be recovered from).
// - account_holds.credentials_mac replaces the unsalted SHA-256 of the credentials; holds
//   written before lose it and count as "credentials changed" (one check, within the
//   installation's failed-login budget).
// - sync_runs.process: which process ran it (host:pid), for status and for people.
// - accounts.host: where the account lives; with the login, what an account name stands for
//   (a name already used for another login is refused rather than merged).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE smsc.api_requests ADD COLUMN quota_key text`.execute(db);
  await sql`UPDATE smsc.api_requests SET quota_key = account`.execute(db);
  await sql`ALTER TABLE smsc.api_requests ALTER COLUMN quota_key SET NOT NULL`.execute(db);
  await sql`ALTER TABLE smsc.api_requests ADD COLUMN unverified boolean NOT NULL DEFAULT false`.execute(db);
  await sql`ALTER TABLE smsc.api_requests ADD COLUMN retry_at timestamptz`.execute(db);
  await sql`DROP INDEX smsc.api_requests_account_endpoint_sent_at`.execute(db);
  await sql`DROP INDEX smsc.api_requests_account_fingerprint_sent_at`.execute(db);
  await sql`CREATE INDEX api_requests_quota_endpoint_sent_at ON smsc.api_requests (quota_key, endpoint, sent_at)`.execute(db);
  await sql`CREATE INDEX api_requests_quota_fingerprint_sent_at ON smsc.api_requests (quota_key, fingerprint, sent_at)`.execute(db);
  await sql`CREATE INDEX api_requests_pending ON smsc.api_requests (quota_key, sent_at) WHERE outcome = 'pending'`.execute(db);
  await sql`CREATE INDEX api_requests_failed_logins ON smsc.api_requests (sent_at) WHERE error_code = 2`.execute(db);
  await sql`CREATE INDEX api_requests_retry_at ON smsc.api_requests (quota_key, retry_at) WHERE retry_at IS NOT NULL`.execute(db);
  await sql`CREATE INDEX api_requests_run_id ON smsc.api_requests (run_id)`.execute(db);

  await sql`
    CREATE TABLE smsc.login_checks (
      quota_key text PRIMARY KEY,
      credentials_mac text NOT NULL,
      verified_at timestamptz NOT NULL
    )`.execute(db);

  await sql`ALTER TABLE smsc.account_holds RENAME COLUMN credentials_hash TO credentials_mac`.execute(db);
  await sql`UPDATE smsc.account_holds SET credentials_mac = ''`.execute(db);

  await sql`ALTER TABLE smsc.sync_runs ADD COLUMN process text`.execute(db);
  // An account name already holding another login's (or host's) data is refused by sync.
  await sql`ALTER TABLE smsc.accounts ADD COLUMN host text`.execute(db);

  const comments: [string, string][] = [
    ['COLUMN smsc.api_requests.quota_key', 'SMSC host and login the request counts against (SMSC counts quotas per login): host/login, or host/apikey/<account> for API-key accounts.'],
    ['COLUMN smsc.api_requests.unverified', 'Sent with credentials that had not yet succeeded; at most one such request per login is in flight.'],
    ['COLUMN smsc.api_requests.retry_at', "HTTP 429's Retry-After: no request of this login is sent before it."],
    ['TABLE smsc.login_checks', 'Per login, an HMAC of the credentials that last succeeded (keyed by a secret outside the database): until they have, requests go one at a time.'],
    ['COLUMN smsc.account_holds.credentials_mac', 'HMAC of the credentials SMSC refused (error 2), keyed by a secret outside the database: the hold lifts when they change.'],
    ['COLUMN smsc.sync_runs.process', 'host:pid of the process that ran it.'],
    ['COLUMN smsc.accounts.host', 'SMSC host of the account (smsc.ru, smsc.kz, ...).'],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
