// One measured sync, in a process of its own so that its peak RSS is its own: the outbound
// stream exactly as `smsc-sync sync --streams outbound --since` runs it (client, normalizer,
// page commits), but with the quota ledger's limits lifted — the benchmark measures the
// pipeline, not SMSC's 30 requests an hour. Prints one JSON line.
//   node bench/pipeline.ts '{"sandboxUrl":…,"databaseUrl":…,"since":<ms>}'
import { configWithDefaults } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { runSync } from '../src/sync/sync.ts';
import { openWarehouse } from '../src/warehouse/database.ts';
import type { Warehouse } from '../src/warehouse/schema.ts';

const { sandboxUrl, databaseUrl, since } = JSON.parse(process.argv[2] ?? '{}') as { sandboxUrl: string; databaseUrl: string; since: number };
const config = configWithDefaults([{ name: 'bench', login: 'demo', password: 'demo', baseUrl: sandboxUrl, timezone: 'Europe/Moscow' }], { databaseUrl, logLevel: 'warn' });
const warehouse = await openWarehouse<Warehouse>({ databaseUrl });
const t0 = performance.now();
const [summary] = await runSync({
  config,
  warehouse,
  logger: createLogger({ level: 'warn' }),
  streams: ['outbound'],
  since: new Date(since),
  quota: { historyPerHour: 1e9, identicalPerMinute: 1e9 },
});
const seconds = (performance.now() - t0) / 1000;
await warehouse.close();
process.stdout.write(
  `${JSON.stringify({
    outcome: summary!.outcome,
    error: summary!.error,
    inserted: summary!.inserted,
    updated: summary!.updated,
    rejected: summary!.rejected,
    pages: summary!.pages,
    seconds,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);
