// The warehouse's message tables (design.md §2): sent history with every status seen,
// replies, the streams' cursors and runs, rows that failed validation, and lookup tables
// for SMSC's code lists. Timestamps are timestamptz, money numeric, API ids bigint, MCC and
// MNC text; every row keeps the API object as it came (raw) so that columns can be rebuilt
// without spending quota.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE smsc.outbound_messages (
      account text NOT NULL,
      int_id bigint NOT NULL,
      message_id bigint,
      channel text NOT NULL CHECK (channel IN ('sms', 'email')),
      phone text NOT NULL,
      status integer NOT NULL,
      status_name text,
      is_final boolean NOT NULL,
      err integer,
      sent_at timestamptz NOT NULL,
      status_changed_at timestamptz,
      mccmnc text,
      mcc text,
      mnc text,
      country text,
      operator text,
      region text,
      cost numeric NOT NULL,
      sender_id text,
      message text NOT NULL,
      type integer,
      sms_cnt integer,
      format integer NOT NULL,
      crc bigint,
      raw jsonb NOT NULL,
      first_seen_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (account, int_id)
    )`.execute(db);
  await sql`CREATE INDEX outbound_messages_sent_at ON smsc.outbound_messages (account, sent_at)`.execute(db);
  await sql`CREATE INDEX outbound_messages_pending ON smsc.outbound_messages (account, channel, sent_at) WHERE NOT is_final`.execute(db);
  await sql`CREATE INDEX outbound_messages_phone ON smsc.outbound_messages (phone, sent_at)`.execute(db);

  await sql`
    CREATE TABLE smsc.outbound_status_changes (
      account text NOT NULL,
      int_id bigint NOT NULL,
      status integer NOT NULL,
      changed_at timestamptz NOT NULL,
      seen_at timestamptz NOT NULL,
      err integer,
      cost numeric NOT NULL,
      reason text NOT NULL CHECK (reason IN ('first_seen', 'status', 'cost')),
      PRIMARY KEY (account, int_id, status, changed_at)
    )`.execute(db);

  await sql`
    CREATE TABLE smsc.inbound_messages (
      account text NOT NULL,
      id bigint NOT NULL,
      phone text NOT NULL,
      to_phone text,
      message text NOT NULL,
      received_at timestamptz NOT NULL,
      sent_at timestamptz,
      raw jsonb NOT NULL,
      first_seen_at timestamptz NOT NULL,
      PRIMARY KEY (account, id)
    )`.execute(db);
  await sql`CREATE INDEX inbound_messages_received_at ON smsc.inbound_messages (account, received_at)`.execute(db);
  await sql`CREATE INDEX inbound_messages_phone ON smsc.inbound_messages (phone, received_at)`.execute(db);

  await sql`
    CREATE TABLE smsc.sync_state (
      account text NOT NULL,
      stream text NOT NULL,
      cursor jsonb NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (account, stream)
    )`.execute(db);

  await sql`
    CREATE TABLE smsc.sync_runs (
      run_id uuid PRIMARY KEY,
      account text NOT NULL,
      stream text NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz,
      outcome text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'deferred', 'failed', 'skipped')),
      rows_inserted integer NOT NULL DEFAULT 0,
      rows_updated integer NOT NULL DEFAULT 0,
      rows_rejected integer NOT NULL DEFAULT 0,
      pages integer NOT NULL DEFAULT 0,
      requests integer NOT NULL DEFAULT 0,
      error text
    )`.execute(db);
  await sql`CREATE INDEX sync_runs_account_stream ON smsc.sync_runs (account, stream, started_at)`.execute(db);
  // Each ledger row names the run that sent it, so a run's request count is exact.
  await sql`ALTER TABLE smsc.api_requests ADD COLUMN run_id uuid`.execute(db);

  await sql`
    CREATE TABLE smsc.rejected_rows (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      account text NOT NULL,
      stream text NOT NULL,
      run_id uuid,
      raw text NOT NULL,
      reason text NOT NULL,
      rejected_at timestamptz NOT NULL
    )`.execute(db);

  await sql`CREATE TABLE smsc.status_codes (code integer PRIMARY KEY, name text NOT NULL, name_ru text NOT NULL, is_final boolean NOT NULL)`.execute(db);
  await sql`CREATE TABLE smsc.delivery_errors (code integer PRIMARY KEY, name text NOT NULL)`.execute(db);
  await sql`CREATE TABLE smsc.message_formats (code integer PRIMARY KEY, name text NOT NULL)`.execute(db);

  const comments: [string, string][] = [
    ['TABLE smsc.outbound_messages', 'Sent SMS and e-mail (get_messages), one row per message, kept up to date as statuses settle and costs are corrected.'],
    ['COLUMN smsc.outbound_messages.account', 'The SMSC account (SMSC_ACCOUNT_NAME or the login).'],
    ['COLUMN smsc.outbound_messages.int_id', 'Global message id assigned by SMSC (int_id).'],
    ['COLUMN smsc.outbound_messages.message_id', 'Message id the sender gave when sending (id); shared by the recipients of one send.'],
    ['COLUMN smsc.outbound_messages.channel', 'sms, or email for format 8.'],
    ['COLUMN smsc.outbound_messages.phone', "Recipient's number (or e-mail address)."],
    ['COLUMN smsc.outbound_messages.status', 'Current status code (see smsc.status_codes).'],
    ['COLUMN smsc.outbound_messages.is_final', 'True once the status can no longer change (delivered, failed, expired, ...).'],
    ['COLUMN smsc.outbound_messages.err', 'Delivery error code (see smsc.delivery_errors); 0 when none.'],
    ['COLUMN smsc.outbound_messages.sent_at', 'When the message was sent.'],
    ['COLUMN smsc.outbound_messages.status_changed_at', 'When the current status was set (last_timestamp).'],
    ['COLUMN smsc.outbound_messages.mccmnc', 'Mobile country + network code as SMSC gave it; null when empty or 0.'],
    ['COLUMN smsc.outbound_messages.mcc', 'Mobile country code (text: 250).'],
    ['COLUMN smsc.outbound_messages.mnc', 'Mobile network code (text: 01 is not 1).'],
    ['COLUMN smsc.outbound_messages.cost', 'Cost of the message in the account currency, exact; may be filled in or corrected after sending.'],
    ['COLUMN smsc.outbound_messages.sms_cnt', 'Number of SMS parts.'],
    ['COLUMN smsc.outbound_messages.format', 'Message format code (see smsc.message_formats).'],
    ['COLUMN smsc.outbound_messages.crc', 'Checksum of the message (64-bit).'],
    ['COLUMN smsc.outbound_messages.raw', 'The API object as it came.'],
    ['COLUMN smsc.outbound_messages.first_seen_at', 'When smsc-sync first stored the message.'],
    ['COLUMN smsc.outbound_messages.updated_at', 'When a value of the row last changed.'],
    ['TABLE smsc.outbound_status_changes', 'Every status (and cost) a message was seen in: delivery latency and funnels.'],
    ['COLUMN smsc.outbound_status_changes.changed_at', 'When the status changed per SMSC (last_timestamp); for a cost correction, when it was seen.'],
    ['COLUMN smsc.outbound_status_changes.seen_at', 'When smsc-sync saw it.'],
    ['COLUMN smsc.outbound_status_changes.reason', 'first_seen, status (a new status) or cost (the cost changed, status the same).'],
    ['TABLE smsc.inbound_messages', 'Replies received on the account numbers (get_answers). SMSC keeps them 7 days.'],
    ['COLUMN smsc.inbound_messages.phone', "Sender's (subscriber's) number."],
    ['COLUMN smsc.inbound_messages.to_phone', 'The account number that received it.'],
    ['COLUMN smsc.inbound_messages.received_at', 'When SMSC received it.'],
    ['COLUMN smsc.inbound_messages.sent_at', 'When the subscriber sent it.'],
    ['TABLE smsc.sync_state', "Each stream's cursor, written in the same transaction as the rows it covers."],
    ['TABLE smsc.sync_runs', 'Every run of every stream: outcome, rows, requests, error.'],
    ['TABLE smsc.rejected_rows', 'API rows that failed validation, with the reason and the row as it came; none is dropped silently.'],
    ['TABLE smsc.status_codes', 'SMSC message status codes.'],
    ['TABLE smsc.delivery_errors', 'SMSC delivery error codes (err).'],
    ['TABLE smsc.message_formats', 'SMSC message formats (format).'],
  ];
  for (const [target, text] of comments) await sql.raw(`COMMENT ON ${target} IS '${text.replace(/'/g, "''")}'`).execute(db);
}
