// Types of the warehouse tables for Kysely, as the migrations create them: the data in schema
// `smsc`, the plumbing (ledger, holds, login checks, cursors, cron claims) in `smsc_internal`.
// int8 and numeric come back as strings (exact); timestamptz as Date.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Int8 = ColumnType<string, string | bigint | number, string | bigint | number>;
type Numeric = ColumnType<string, string | number, string | number>;
type Json = ColumnType<unknown, string, string>;

export interface OutboundMessagesTable {
  account: string;
  int_id: Int8;
  message_id: Int8 | null;
  channel: 'sms' | 'email';
  phone: string;
  status: number;
  status_name: string | null;
  is_final: boolean;
  err: number | null;
  sent_at: Timestamp;
  status_changed_at: Timestamp | null;
  mccmnc: string | null;
  mcc: string | null;
  mnc: string | null;
  country: string | null;
  operator: string | null;
  region: string | null;
  /** Null when SMSC gave no cost (unknown). */
  cost: Numeric | null;
  sender_id: string | null;
  message: string;
  type: number | null;
  sms_cnt: number | null;
  format: number;
  crc: Int8 | null;
  raw: Json;
  raw_sha1: string | null;
  first_seen_at: Timestamp;
  updated_at: Timestamp;
}

export interface OutboundStatusChangesTable {
  account: string;
  int_id: Int8;
  status: number;
  changed_at: Timestamp;
  seen_at: Timestamp;
  err: number | null;
  cost: Numeric | null;
  reason: 'first_seen' | 'status' | 'cost';
}

export interface InboundMessagesTable {
  account: string;
  id: Int8;
  phone: string;
  to_phone: string | null;
  message: string;
  received_at: Timestamp;
  sent_at: Timestamp | null;
  raw: Json;
  first_seen_at: Timestamp;
}

export interface SyncStateTable {
  account: string;
  stream: string;
  cursor: Json;
  updated_at: Timestamp;
}

export type RunOutcome = 'running' | 'succeeded' | 'deferred' | 'failed' | 'skipped';

export interface SyncRunsTable {
  run_id: string;
  account: string;
  stream: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  outcome: RunOutcome;
  rows_inserted: ColumnType<number, number | undefined, number>;
  rows_updated: ColumnType<number, number | undefined, number>;
  rows_rejected: ColumnType<number, number | undefined, number>;
  pages: ColumnType<number, number | undefined, number>;
  requests: ColumnType<number, number | undefined, number>;
  error: ColumnType<string | null, string | null | undefined, string | null>;
  /** host:pid of the process that ran it. */
  process: ColumnType<string | null, string | null | undefined, string | null>;
  /** For a deferred run: when it resumes. */
  deferred_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface RejectedRowsTable {
  id: Generated<Int8>;
  account: string;
  stream: string;
  run_id: string | null;
  raw: string;
  reason: string;
  /** When it was first rejected (= first_seen_at). */
  rejected_at: Timestamp;
  /** SHA-256 (hex) of `raw`: one row per (account, stream, digest). */
  digest: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  /** How many times SMSC sent the row (every re-read of its page counts). */
  times_seen: number;
}

export interface ApiRequestsTable {
  id: Generated<Int8>;
  account: string;
  endpoint: string;
  fingerprint: string;
  sent_at: Timestamp;
  finished_at: Timestamp | null;
  outcome: 'pending' | 'ok' | 'error' | 'failed';
  error_code: number | null;
  http_status: number | null;
  attempt: ColumnType<number, number | undefined, number>;
  process: string;
  run_id: string | null;
  quota_key: string;
  unverified: ColumnType<boolean, boolean | undefined, boolean>;
  retry_at: Timestamp | null;
}

export interface LoginChecksTable {
  quota_key: string;
  credentials_mac: string;
  verified_at: Timestamp;
}

export interface AccountHoldsTable {
  account: string;
  error_code: number;
  reason: string;
  held_at: Timestamp;
  held_until: Timestamp | null;
  credentials_mac: string;
}

export interface DailyStatsTable {
  account: string;
  login: string;
  day: ColumnType<string, string, string>;
  balance: 'main' | 'electronic';
  messages: number;
  credit: Numeric;
  debit: Numeric;
  currency: string;
  raw: Json;
  first_seen_at: Timestamp;
  updated_at: Timestamp;
}

export interface TariffZonesTable {
  account: string;
  zone: string;
  name: string | null;
  api: Numeric | null;
  mass: Numeric | null;
  mms: Numeric | null;
  hlr: Numeric | null;
  call: Numeric | null;
  valid_from: Timestamp;
  valid_to: Timestamp | null;
  raw: Json;
}

export interface TariffOperatorPricesTable {
  account: string;
  mccmnc: string;
  mcc: string | null;
  mnc: string | null;
  cost: Numeric;
  valid_from: Timestamp;
  valid_to: Timestamp | null;
  raw: Json;
}

export interface TariffEmailPricesTable {
  account: string;
  price: Numeric;
  valid_from: Timestamp;
  valid_to: Timestamp | null;
}

export interface PhoneOperatorsTable {
  phone: string;
  found: boolean;
  country: string | null;
  operator: string | null;
  region: string | null;
  mcc: string | null;
  mnc: string | null;
  tz: number | null;
  looked_up_at: Timestamp;
  raw: Json;
}

export interface ShortLinkClicksTable {
  account: string;
  link_id: Int8;
  day: ColumnType<string, string, string>;
  link: string | null;
  cnt: number;
  cnt_day: number;
  cnt_yes: number;
  cnt_mon: number;
  cnt_pmon: number;
  raw: Json;
  snapshot_at: Timestamp;
}

export interface CronFiresTable {
  key: string;
  claimed_by: string;
  claimed_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface AccountsTable {
  account: string;
  login: string | null;
  /** SMSC host (smsc.ru, smsc.kz, …); null for rows written before it was recorded. */
  host: ColumnType<string | null, string | null | undefined, string | null>;
  timezone: string;
  /** The account's currency, as balance.php last gave it; null until the balance stream ran. */
  currency: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: Timestamp;
}

export interface BalanceHistoryTable {
  account: string;
  sampled_at: Timestamp;
  balance: Numeric;
  currency: string | null;
  raw: Json;
}

export interface CompletenessDailyView {
  day: ColumnType<string, never, never>;
  account: string;
  messages_held: number;
  messages_reported: number;
  gap: number;
}

export interface Warehouse {
  // Schema smsc: what the read-only role reads (src/warehouse/reader-role.ts).
  'smsc.accounts': AccountsTable;
  'smsc.completeness_daily': CompletenessDailyView;
  'smsc.daily_stats': DailyStatsTable;
  'smsc.balance_history': BalanceHistoryTable;
  'smsc.tariff_zones': TariffZonesTable;
  'smsc.tariff_operator_prices': TariffOperatorPricesTable;
  'smsc.tariff_email_prices': TariffEmailPricesTable;
  'smsc.phone_operators': PhoneOperatorsTable;
  'smsc.short_link_clicks': ShortLinkClicksTable;
  'smsc.outbound_messages': OutboundMessagesTable;
  'smsc.outbound_status_changes': OutboundStatusChangesTable;
  'smsc.inbound_messages': InboundMessagesTable;
  'smsc.sync_runs': SyncRunsTable;
  'smsc.rejected_rows': RejectedRowsTable;
  // Schema smsc_internal: the plumbing, never granted to the read-only role.
  'smsc_internal.api_requests': ApiRequestsTable;
  'smsc_internal.account_holds': AccountHoldsTable;
  'smsc_internal.login_checks': LoginChecksTable;
  'smsc_internal.sync_state': SyncStateTable;
  'smsc_internal.cron_fires': CronFiresTable;
}
