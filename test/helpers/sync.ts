// Running `sync` in-process against an emulator, and comparing the warehouse with its truth.
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { type Config, configWithDefaults } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { MessageView } from '../../src/sandbox/world.ts';
import type { QuotaPolicy } from '../../src/smsc/quota-ledger.ts';
import type { StreamOptions } from '../../src/streams/stream.ts';
import type { RunSummary } from '../../src/sync/run-stream.ts';
import { runSync } from '../../src/sync/sync.ts';
import type { Warehouse as Db } from '../../src/warehouse/database.ts';
import type { Warehouse } from '../../src/warehouse/schema.ts';
import { moneyText } from './oracle.ts';

export const logLines: string[] = [];
export const testLogger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk, _e, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
});

export function sandboxConfig(sandbox: Sandbox, overrides: Partial<Config> = {}): Config {
  return configWithDefaults([{ name: 'demo', login: 'demo', password: 'demo', apikey: undefined, baseUrl: sandbox.url, timezone: 'Europe/Moscow' }], {
    logLevel: 'debug',
    ...overrides,
  });
}

export function syncOnce(
  sandbox: Sandbox,
  warehouse: Db<Warehouse>,
  options: {
    streams?: string[];
    since?: Date;
    config?: Partial<Config>;
    streamOptions?: Partial<StreamOptions>;
    quota?: Partial<QuotaPolicy>;
    client?: { timeoutMs?: number; retries?: number };
  } = {},
): Promise<RunSummary[]> {
  return runSync({
    config: sandboxConfig(sandbox, options.config),
    warehouse,
    logger: testLogger,
    streams: options.streams ?? ['outbound', 'inbound'],
    since: options.since,
    clock: sandbox.clock,
    client: { timeoutMs: 5000, minBackoffMs: 5, maxBackoffMs: 20, ...options.client },
    ...(options.streamOptions ? { streamOptions: options.streamOptions } : {}),
    ...(options.quota ? { quota: options.quota } : {}),
  });
}

/** A message as a user checks it in the warehouse: exact values as text. */
export function truthRow(v: MessageView): Record<string, unknown> {
  const m = v.message;
  return {
    int_id: m.intId.toString(),
    message_id: String(m.id),
    channel: m.format === 8 ? 'email' : 'sms',
    phone: m.phone,
    message: m.text,
    status: v.status,
    err: v.err,
    cost: moneyText(v.cost),
    sent_at: new Date(m.sendTs).toISOString(),
    status_changed_at: new Date(v.lastTs).toISOString(),
    mcc: m.operator?.mcc ?? null,
    mnc: m.operator?.mnc ?? null,
    operator: m.operator?.operator ?? null,
    sms_cnt: m.parts,
    format: m.format,
    crc: m.crc.toString(),
  };
}

/** The warehouse's messages in the same shape, ordered by int_id. */
export async function warehouseRows(warehouse: Db<Warehouse>, account = 'demo'): Promise<Record<string, unknown>[]> {
  const rows = await warehouse.db
    .selectFrom('smsc.outbound_messages')
    .select(['int_id', 'message_id', 'channel', 'phone', 'message', 'status', 'err', 'cost', 'sent_at', 'status_changed_at', 'mcc', 'mnc', 'operator', 'sms_cnt', 'format', 'crc'])
    .where('account', '=', account)
    .orderBy('int_id')
    .execute();
  return rows.map((r) => ({
    ...r,
    sent_at: new Date(r.sent_at).toISOString(),
    status_changed_at: r.status_changed_at ? new Date(r.status_changed_at).toISOString() : null,
  }));
}

/** Per channel, every message sent since `sinceMs` up to the newest id held is held, once. */
export async function expectNoGapPerChannel(sandbox: Sandbox, warehouse: Db<Warehouse>, sinceMs: number): Promise<void> {
  const now = sandbox.clock.now();
  for (const channel of ['sms', 'email'] as const) {
    const held = (await warehouse.db.selectFrom('smsc.outbound_messages').select('int_id').where('channel', '=', channel).orderBy('int_id').execute()).map((r) => r.int_id);
    const newest = BigInt(held.at(-1)!);
    const truth = sandbox.world
      .truth('demo', now)
      .filter((v) => (v.message.format === 8) === (channel === 'email') && v.message.sendTs >= sinceMs && v.message.intId <= newest)
      .map((v) => v.message.intId.toString());
    expect(held, channel).toEqual(truth);
  }
}
