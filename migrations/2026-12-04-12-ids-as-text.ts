// Every 64-bit id of schema smsc also as text, for JavaScript clients: a JavaScript number
// holds integers exactly only up to 2^53, and SMSC's int_id and crc pass it, so a BI tool or
// script that reads int8 as a number (Evidence, Cube, Retool, n8n, node-postgres with an int8
// parser) shows a neighbouring id without a word. Generated columns (computed on write, so
// nothing in the sync changes) beside each id; the views have no 64-bit id.
import { type Kysely, sql } from 'kysely';

/** [table, bigint column]: each gets `<column>_text`. */
export const TEXT_IDS: readonly (readonly [string, string])[] = [
  ['outbound_messages', 'int_id'],
  ['outbound_messages', 'message_id'],
  ['outbound_messages', 'crc'],
  ['outbound_status_changes', 'int_id'],
  ['inbound_messages', 'id'],
  ['short_link_clicks', 'link_id'],
  ['rejected_rows', 'id'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, column] of TEXT_IDS) {
    await sql.raw(`ALTER TABLE smsc.${table} ADD COLUMN ${column}_text text GENERATED ALWAYS AS (${column}::text) STORED`).execute(db);
    await sql
      .raw(`COMMENT ON COLUMN smsc.${table}.${column}_text IS '${column} as text (exact in JavaScript clients, which round integers above 2^53 when they read int8 as a number); null when ${column} is null.'`)
      .execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table, column] of TEXT_IDS) await sql.raw(`ALTER TABLE smsc.${table} DROP COLUMN ${column}_text`).execute(db);
}
