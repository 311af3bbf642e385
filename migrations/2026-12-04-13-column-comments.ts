// A COMMENT on every column of every table and view of schema smsc, what the read-only role
// and its BI tools see: the columns the earlier migrations left bare. test/warehouse/
// comments.test.ts fails, naming them, for any column added without one.
import { type Kysely, sql } from 'kysely';

const ACCOUNT = 'The SMSC account (SMSC_ACCOUNT_NAME or the login).';
const DAY = "Day, in the account's time zone (smsc.accounts.timezone).";
const RAW = 'The API object as it came.';

const COMMENTS: Record<string, Record<string, string>> = {
  accounts: {
    account: 'Name of the account, as every table carries it in account.',
    login: "The account's SMSC login; null for an account configured with an API key.",
    timezone: 'IANA zone the account\'s dates are written in and its days counted in (SMSC_TIMEZONE or the account\'s timezone).',
    updated_at: 'When a sync last wrote this row.',
  },
  completeness_daily: {
    account: ACCOUNT,
    day: DAY,
    messages_held: 'Messages of the day held in outbound_messages.',
    messages_reported: "Messages SMSC's statistics count for the day (daily_stats.messages of the own login, every balance read).",
  },
  cost_reconciliation_daily: {
    account: ACCOUNT,
    currency: 'Currency of every money column of the row (daily_stats.currency).',
    day: DAY,
    login: "Login of the statistics: the account's own, or a reseller's sub-client.",
  },
  daily_stats: {
    account: ACCOUNT,
    currency: 'Three-letter currency of credit and debit (get_stat with mycur=1: the account currency).',
    first_seen_at: 'When smsc-sync first stored the row.',
    messages: 'Messages SMSC counts for the login, day and balance (sms).',
    raw: RAW,
    updated_at: 'When a value of the row last changed.',
  },
  delivery_daily: {
    account: ACCOUNT,
    channel: 'sms or email.',
    country: 'Country of the recipient number, as SMSC gave it.',
    operator: 'Operator of the recipient number, as SMSC gave it.',
    sender_id: 'Sender name the messages were sent with.',
  },
  delivery_errors: {
    code: 'SMSC delivery error code (err).',
    name: 'What the code means.',
  },
  delivery_latency_daily: {
    account: ACCOUNT,
    channel: 'sms or email.',
    day: "Day the messages were sent, in the account's time zone.",
    max_seconds: 'Longest seconds from sending to final status.',
  },
  inbound_messages: {
    account: ACCOUNT,
    first_seen_at: 'When smsc-sync first stored the reply.',
    id: 'Reply id assigned by SMSC (the after_id cursor); see id_text.',
    message: 'Text of the reply; [CALL] for an incoming call to the account number.',
    raw: RAW,
  },
  message_formats: {
    code: 'SMSC message format code (format).',
    name: 'Format name (sms, flash, e-mail, viber, ...).',
  },
  outbound_messages: {
    country: 'Country of the recipient number, as SMSC gave it.',
    message: 'Text of the message (or e-mail).',
    operator: 'Operator of the recipient number, as SMSC gave it.',
    region: 'Region of the recipient number, as SMSC gave it.',
    sender_id: 'Sender name the message was sent with.',
    status_name: 'Name of the status as SMSC gave it.',
    type: 'Message type code as SMSC gave it.',
  },
  outbound_status_changes: {
    account: ACCOUNT,
    cost: 'Cost of the message when seen in this status, account currency (smsc.accounts.currency); null when SMSC gave none.',
    err: 'Delivery error code when seen (see smsc.delivery_errors).',
    int_id: 'Global message id (outbound_messages.int_id); see int_id_text.',
    status: 'Status code seen (see smsc.status_codes).',
  },
  phone_operators: {
    country: 'Country of the number.',
    looked_up_at: 'When the number was looked up (get_operator).',
    mcc: 'Mobile country code (text).',
    mnc: 'Mobile network code (text: 01 is not 1).',
    operator: 'Operator of the number (ported numbers are not resolved).',
    phone: 'The number looked up, as it was asked.',
    raw: RAW,
    region: 'Region of the number.',
  },
  rejected_rows: {
    account: ACCOUNT,
    id: 'Row id (identity); see id_text.',
    stream: 'Stream that read the row.',
  },
  reply_rate_daily: {
    account: ACCOUNT,
    day: "Day the messages were sent, in the account's time zone.",
    sender_id: 'Sender name the messages were sent with.',
    sent: 'SMS sent.',
  },
  short_link_clicks: {
    account: ACCOUNT,
    day: "Day of the snapshot, in the account's time zone.",
    link: 'The short link.',
    link_id: "The short link's id at SMSC; see link_id_text.",
    raw: RAW,
    snapshot_at: 'When the counters were read.',
  },
  status_codes: {
    code: 'SMSC message status code (status).',
    is_final: 'True when a message in this status no longer changes.',
    name: 'Status name (English).',
    name_ru: 'Status name as SMSC writes it (Russian).',
  },
  sync_runs: {
    account: ACCOUNT,
    error: 'Why the run failed (or what cut it short); null when it did not.',
    finished_at: 'When the run ended; null while running.',
    outcome: 'running, succeeded, deferred (the quota cut it short; it resumes at deferred_until), failed or skipped (another process held the stream).',
    pages: 'Pages committed.',
    requests: 'SMSC requests the run sent.',
    rows_inserted: 'Rows the run inserted.',
    rows_rejected: 'Rows rejected for the first time (see rejected_rows).',
    rows_updated: 'Rows the run changed.',
    run_id: 'Id of the run.',
    started_at: 'When the run started.',
    stream: 'Stream run: outbound, inbound, stats, tariffs, operators, short_links or balance.',
  },
  tariff_email_prices: {
    account: ACCOUNT,
    price: 'Price of an e-mail, account currency (smsc.accounts.currency).',
    valid_from: 'When this price was first seen in force.',
    valid_to: 'When it was seen replaced; null while current.',
  },
  tariff_operator_prices: {
    account: ACCOUNT,
    cost: 'Price of an SMS to this operator, account currency (smsc.accounts.currency).',
    mcc: 'Mobile country code (text).',
    mccmnc: 'Mobile country + network code of the operator.',
    mnc: 'Mobile network code (text: 01 is not 1).',
    raw: RAW,
    valid_from: 'When this price was first seen in force.',
    valid_to: 'When it was seen replaced; null while current.',
  },
  tariff_zones: {
    account: ACCOUNT,
    call: 'Price of a voice message, account currency.',
    hlr: 'Price of an HLR request, account currency.',
    mms: 'Price of an MMS, account currency.',
    name: 'Zone name (operator, country, ...).',
    raw: RAW,
    zone: 'Tariff zone.',
  },
};

export async function up(db: Kysely<any>): Promise<void> {
  for (const [relation, columns] of Object.entries(COMMENTS)) {
    for (const [column, text] of Object.entries(columns)) {
      await sql.raw(`COMMENT ON COLUMN smsc.${relation}.${column} IS '${text.replace(/'/g, "''")}'`).execute(db);
    }
  }
}

/** The comments go again (nothing depends on them). */
export async function down(db: Kysely<any>): Promise<void> {
  for (const [relation, columns] of Object.entries(COMMENTS)) {
    for (const column of Object.keys(columns)) await sql.raw(`COMMENT ON COLUMN smsc.${relation}.${column} IS NULL`).execute(db);
  }
}
