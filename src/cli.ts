// `smsc-sync`: thin commands over the modules in src/. Each command's errors end the process
// with a message that says what to fix and a non-zero exit code.
import { Command, InvalidArgumentError } from 'commander';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { runDemo } from './demo/demo.ts';
import { SandboxClock, systemClock } from './sandbox/clock.ts';
import { startSandbox } from './sandbox/server.ts';
import { startHttp } from './scheduler/http.ts';
import { Scheduler, schedulerHealth } from './scheduler/scheduler.ts';
import { QuotaLedger } from './smsc/quota-ledger.ts';
import { STREAM_NAMES } from './streams/index.ts';
import { formatProgress, runBackfill } from './sync/backfill.ts';
import { formatStatus, readStatus } from './sync/status.ts';
import { runSync, syncSucceeded } from './sync/sync.ts';
import { parseDateTime } from './time/zoned-time.ts';
import { openWarehouse, type Warehouse as Db } from './warehouse/database.ts';
import { migrateToLatest } from './warehouse/migrate.ts';
import { grantReader } from './warehouse/reader-role.ts';
import type { Warehouse } from './warehouse/schema.ts';

const program = new Command()
  .name('smsc-sync')
  .description('Keeps a PostgreSQL warehouse in step with SMSC SMS gateway accounts.')
  .showHelpAfterError();

program
  .command('migrate')
  .description('Apply pending warehouse migrations (idempotent; every other command does it first)')
  .action(async () => {
    await withWarehouse({ requireAccount: false }, async ({ warehouse, logger }, applied) => {
      logger.info({ applied, warehouse: warehouse.kind }, applied.length ? 'migrations applied' : 'warehouse is up to date');
    });
  });

program
  .command('sync')
  .description('One pass of the named streams for every configured account, then exit (0 only when every stream succeeded)')
  .option('--streams <list>', `comma-separated streams (${STREAM_NAMES.join(', ')})`, list, STREAM_NAMES)
  .option('--since <dd.mm.yyyy>', "first run: history from this day on (default: 7 days back; SMSC keeps half a year)", date)
  .action(async (opts: { streams: string[]; since?: string }) => {
    await withWarehouse({ requireAccount: true }, async ({ config, warehouse, logger }) => {
      const since = opts.since ? new Date(parseDateTime(opts.since, config.accounts[0]!.timezone)!) : undefined;
      const signal = abortOnSignal(logger, 'stopping after the page in flight');
      const summaries = await runSync({ config, warehouse, logger, streams: opts.streams, since, signal });
      if (!syncSucceeded(summaries)) process.exitCode = 1;
    });
  });

program
  .command('backfill')
  .description('Walk history back to a day within the quotas, waiting for each next slot; resumable after a stop; shows progress')
  .requiredOption('--since <dd.mm.yyyy>', 'the first day to hold (SMSC keeps half a year of history)', date)
  .option('--streams <list>', 'comma-separated streams that can reach back (outbound, stats)', list, ['outbound', 'stats'])
  .action(async (opts: { since: string; streams: string[] }) => {
    await withWarehouse({ requireAccount: true }, async ({ config, warehouse, logger }) => {
      const since = new Date(parseDateTime(opts.since, config.accounts[0]!.timezone)!);
      const signal = abortOnSignal(logger, 'stopping after the page in flight; run backfill again to go on');
      const tty = process.stderr.isTTY;
      const summaries = await runBackfill({
        config,
        warehouse,
        logger,
        streams: opts.streams,
        since,
        signal,
        onProgress: (p) => {
          if (tty) process.stderr.write(`\r${formatProgress(p)}\x1b[K`);
          else logger.info({ ...p }, formatProgress(p));
        },
      });
      if (tty) process.stderr.write('\n');
      if (!syncSucceeded(summaries)) process.exitCode = 1;
    });
  });

program
  .command('start')
  .description('The long-running scheduler: the cron jobs of jobs/ for every account; SIGTERM/SIGINT stop it gracefully')
  .action(async () => {
    await withWarehouse({ requireAccount: true }, async ({ config, warehouse, logger }) => {
      const ledger = new QuotaLedger(warehouse.db, systemClock);
      const metrics = new Metrics(ledger, config.accounts.map((a) => a.name));
      const scheduler = new Scheduler({ config, warehouse, logger, metrics });
      scheduler.start();
      const http =
        config.httpPort === undefined
          ? undefined
          : await startHttp({
              port: config.httpPort,
              metrics,
              health: schedulerHealth(scheduler, warehouse.db),
            });
      if (http) logger.info({ port: http.port }, 'http listening (/healthz, /metrics)');
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      logger.info({ signal }, 'stopping: no new runs, the page in flight commits or rolls back');
      await scheduler.stop();
      await http?.close();
      logger.info('stopped');
    });
  });

program
  .command('grant-reader')
  .description('Create (if missing) a read-only role with SELECT on the warehouse, for analysts and BI tools; idempotent')
  .option('--role <name>', 'role name', 'smsc_reader')
  .action(async (opts: { role: string }) => {
    await withWarehouse({ requireAccount: false }, async ({ warehouse, logger }) => {
      if (warehouse.kind === 'pglite') throw new Error('the embedded warehouse has no other users; grant-reader needs DATABASE_URL');
      await grantReader(warehouse.db, opts.role);
      logger.info({ role: opts.role }, `role ${opts.role} may read schema smsc; let a login use it: CREATE ROLE metabase LOGIN PASSWORD '…' IN ROLE ${opts.role}`);
    });
  });

program
  .command('status')
  .description('Per account and stream: last run, outcome, rows, cursor, lag, quota used this hour, warnings')
  .option('--json', 'print JSON for machines')
  .action(async (opts: { json?: boolean }) => {
    await withWarehouse({ requireAccount: false, quiet: true }, async ({ config, warehouse }) => {
      const report = await readStatus(warehouse.db, config, systemClock);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    });
  });

program
  .command('sandbox')
  .description('Run the local SMSC emulator (all six data endpoints, quotas, fault injection) for trying things without an account')
  .option('--port <n>', 'port to listen on (0: any free port)', integer, 8123)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--seed <n>', 'seed of the generated account data', integer, 1)
  .option('--speed <n>', 'virtual seconds per real second (statuses settle and messages arrive faster)', number, 1)
  .action(async (opts: { port: number; host: string; seed: number; speed: number }) => {
    const sandbox = await startSandbox({ port: opts.port, host: opts.host, seed: opts.seed, clock: new SandboxClock({ speed: opts.speed }) });
    const account = [...sandbox.world.accounts.values()][0]!;
    console.log(`SMSC sandbox listening on ${sandbox.url}`);
    console.log(`  account: login '${account.login}', password '${account.spec.password}', apikey '${account.spec.apikey ?? '-'}'`);
    console.log(`  history: ${account.messages.filter((m) => m.sendTs <= sandbox.clock.now()).length} messages so far, ${account.replies.length} replies scheduled`);
    console.log(`  try: curl -d 'get_messages=1&login=${account.login}&psw=${account.spec.password}&fmt=3&cnt=5&charset=utf-8' ${sandbox.url}/sys/get.php`);
    const stop = () => void sandbox.stop().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('demo')
  .description('One-command trial: start the emulator, sync every stream into the warehouse (embedded unless DATABASE_URL is set), print a report')
  .option('--seed <n>', 'seed of the generated account data', integer, 1)
  .action(async (opts: { seed: number }) => {
    let config: Config;
    try {
      config = loadConfig(process.env, { requireAccount: false });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`smsc-sync: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    const summaries = await runDemo({ config, logger: createLogger({ level: 'warn' }), seed: opts.seed });
    if (!syncSucceeded(summaries)) process.exitCode = 1;
  });

interface Opened {
  readonly config: Config;
  readonly logger: Logger;
  readonly warehouse: Db<Warehouse>;
}

/** Loads the configuration, opens and migrates the warehouse, runs `fn`, closes everything. */
async function withWarehouse(
  options: { requireAccount: boolean; quiet?: boolean },
  fn: (opened: Opened, applied: string[]) => Promise<void>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, { requireAccount: options.requireAccount });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`smsc-sync: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({ level: options.quiet ? 'warn' : config.logLevel });
  const warehouse = await openWarehouse<Warehouse>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await migrateToLatest(warehouse.db);
    await fn({ config, logger, warehouse }, applied);
  } catch (error) {
    logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  } finally {
    await warehouse.close();
  }
}

/** A signal aborted by the first SIGTERM or SIGINT, which is logged with what happens next. */
function abortOnSignal(logger: Logger, message: string): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    logger.warn(message);
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return controller.signal;
}

function list(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !STREAM_NAMES.includes(n));
  if (unknown.length > 0 || names.length === 0) throw new InvalidArgumentError(`unknown stream(s) ${unknown.join(', ')}; known: ${STREAM_NAMES.join(', ')}`);
  return names;
}

function date(value: string): string {
  if (!/^\d{2}\.\d{2}\.\d{4}$/.test(value) || parseDateTime(value, 'UTC') === undefined) throw new InvalidArgumentError('expected a date dd.mm.yyyy');
  return value;
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

await program.parseAsync(process.argv);
