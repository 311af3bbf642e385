// The README's example queries, taken from the README itself and run as written against a
// warehouse synced from the emulator; their figures are checked against the ground truth.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxClock } from '../src/sandbox/clock.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { localFields } from '../src/time/zoned-time.ts';
import type { TestDatabase } from './helpers/database.ts';
import { syncOnce } from './helpers/sync.ts';
import { migratedDatabase } from './helpers/warehouse.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### Example queries'), readme.indexOf('## Reports'));
const queries = [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);

let database: TestDatabase;
let sandbox: Sandbox;
beforeAll(async () => {
  database = await migratedDatabase('readme');
  // The queries use now(): the emulator's world stands still at the real time.
  sandbox = await startSandbox({ clock: new SandboxClock({ speed: 0 }), world: { historyDays: 20, futureDays: 0 } });
  const summaries = await syncOnce(sandbox, database.warehouse);
  expect(summaries.every((s) => s.outcome === 'succeeded')).toBe(true);
});
afterAll(async () => {
  await sandbox.stop();
  await database.drop();
});

const run = async (query: string) => (await sql.raw<Record<string, any>>(query).execute(database.warehouse.db)).rows;

describe('README example queries', () => {
  it('are three, each a single statement', () => {
    expect(queries).toHaveLength(3);
  });

  it('delivery rate by operator matches the truth', async () => {
    const truthSince = (at: number) => sandbox.world.truth('demo', sandbox.clock.now()).filter((v) => v.message.format !== 8 && v.message.sendTs >= at - 7 * 86_400_000);
    const before = truthSince(Date.now());
    const rows = await run(queries[0]!);
    const after = truthSince(Date.now());
    const total = rows.reduce((s, r) => s + Number(r.sent), 0);
    expect(total).toBeGreaterThanOrEqual(after.length);
    expect(total).toBeLessThanOrEqual(before.length);
    const mts = rows.find((r) => r.operator === 'МТС')!;
    const truthMts = before.filter((v) => v.message.operator?.operator === 'МТС');
    expect(Number(mts.delivered)).toBeLessThanOrEqual(truthMts.filter((v) => [1, 2, 4].includes(v.status)).length);
    expect(Number(mts.delivered)).toBeGreaterThan(0);
    expect(rows.some((r) => r.operator === 'unknown')).toBe(true);
  });

  it('spending per day and sender adds up to the truth to the kopeck', async () => {
    const rows = await run(queries[1]!);
    const truth = new Map<string, number>();
    for (const v of sandbox.world.truth('demo', sandbox.clock.now())) {
      const f = localFields(v.message.sendTs, 'Europe/Moscow');
      const key = `${f.year}-${String(f.month).padStart(2, '0')}-${String(f.day).padStart(2, '0')}|${v.message.sender}`;
      truth.set(key, (truth.get(key) ?? 0) + v.cost);
    }
    // The first run read from midnight 7 days back (Moscow), so every day held is complete.
    expect(rows.length).toBeGreaterThan(20);
    for (const r of rows) {
      const day = String(r.day);
      // Exact: numeric sums compared as text, kopecks as integers.
      expect(Math.round(Number(r.cost) * 100), `${day} ${r.sender_id}`).toBe(truth.get(`${day}|${r.sender_id}`));
      expect(String(r.cost)).toMatch(/^\d+\.\d{2}$/);
    }
  });

  it('pairs every reply with the last message sent to its number before it', async () => {
    const rows = await run(queries[2]!);
    expect(rows.length).toBe(sandbox.world.repliesAt('demo', sandbox.clock.now()).length);
    const paired = rows.filter((r) => r.in_reply_to !== null);
    expect(paired.length).toBeGreaterThan(rows.length / 2);
    for (const r of paired) expect(new Date(r.sent_at).getTime()).toBeLessThanOrEqual(new Date(r.received_at).getTime());
  });
});
