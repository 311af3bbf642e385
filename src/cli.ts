// `smsc-sync`: thin commands over the modules in src/. Each command's errors end the process
// with a message that says what to fix and a non-zero exit code.
import { takeEarlySignal } from './early-signals.ts'; // first: see the module
import { Command, InvalidArgumentError } from 'commander';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createLogger, type Logger, resolveLogFormat } from './logger.ts';
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
import { type CalendarDay, parseCalendarDay } from './time/calendar.ts';
import { connectionFailure, openWarehouse, type Warehouse as Db } from './warehouse/database.ts';
import { EmbeddedWarehouseBusyError } from './warehouse/embedded-lock.ts';
import { migrateWarehouse } from './warehouse/migrate.ts';
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
  .option('--since <dd.mm.yyyy>', "first run: history from this day on, from midnight in each account's zone (default: 7 days back; SMSC keeps half a year)", date)
  .action(async (opts: { streams: string[]; since?: CalendarDay }) => {
    await withWarehouse({ requireAccount: true }, async ({ config, warehouse, logger }) => {
      const stop = stopOnSignal(logger, config.stopTimeoutMs, 'stopping after the page in flight');
      const summaries = await runSync({ config, warehouse, logger, streams: opts.streams, since: opts.since, signal: stop.signal });
      if (!syncSucceeded(summaries)) process.exitCode = 1;
      if (stop.exitCode !== undefined) process.exitCode = stop.exitCode;
    });
  });

program
  .command('backfill')
  .description('Walk history back to a day within the quotas, waiting for each next slot; resumable after a stop; shows progress')
  .requiredOption('--since <dd.mm.yyyy>', "the first day to hold, from midnight in each account's zone (SMSC keeps half a year of history)", date)
  .option('--streams <list>', 'comma-separated streams that can reach back (outbound, stats)', list, ['outbound', 'stats'])
  .action(async (opts: { since: CalendarDay; streams: string[] }) => {
    await withWarehouse({ requireAccount: true }, async ({ config, warehouse, logger }) => {
      const stop = stopOnSignal(logger, config.stopTimeoutMs, 'stopping after the page in flight; run backfill again to go on');
      const signal = stop.signal;
      // The progress line redrawn in place is for a person at a terminal; JSON logs get log lines.
      const tty = process.stderr.isTTY && resolveLogFormat(config.logFormat, Boolean(process.stdout.isTTY)) === 'pretty';
      const summaries = await runBackfill({
        config,
        warehouse,
        logger,
        streams: opts.streams,
        since: opts.since,
        signal,
        onProgress: (p) => {
          if (tty) process.stderr.write(`\r${formatProgress(p)}\x1b[K`);
          else logger.info({ ...p, waitingUntil: p.waitingUntil?.toISOString() }, formatProgress(p));
        },
      });
      if (tty) process.stderr.write('\n');
      if (!syncSucceeded(summaries)) process.exitCode = 1;
      if (stop.exitCode !== undefined) process.exitCode = stop.exitCode;
    });
  });

program
  .command('start')
  .description('The long-running scheduler: the cron jobs of jobs/ for every account; SIGTERM/SIGINT stop it gracefully')
  .action(async () => {
    // Signals are heard from the first moment: a SIGTERM while start-up still opens and
    // migrates the warehouse (as a rolling update sends it) ends the process as cleanly as a
    // later one, with exit 0, once start-up is through.
    let early: string | undefined = takeEarlySignal();
    const stopRequested = new Promise<string>((resolve) => {
      if (early) resolve(early);
      process.once('SIGTERM', () => resolve((early ??= 'SIGTERM')));
      process.once('SIGINT', () => resolve((early ??= 'SIGINT')));
    });
    await withWarehouse({ requireAccount: true }, async ({ config, warehouse, logger }) => {
      if (early) {
        logger.info({ signal: early }, 'stopped during start-up, before any job was scheduled');
        return;
      }
      const ledger = new QuotaLedger(warehouse.db, systemClock);
      const metrics = new Metrics(ledger, config.accounts);
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
      const signal = await stopRequested;
      logger.info({ signal, deadlineSeconds: config.stopTimeoutMs / 1000 }, 'stopping: no new runs, the page in flight commits or rolls back');
      // A second signal does not wait for anything.
      const again = () => {
        logger.warn('second signal: exiting now; an open page rolls back');
        process.exit(0);
      };
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      const stopped = await scheduler.stop(config.stopTimeoutMs);
      await http?.close();
      if (!stopped.finished) {
        // What still runs holds no page that could half-commit: a transaction not committed
        // rolls back when the connection goes.
        logger.warn({ running: stopped.running }, 'exiting at the stop deadline with jobs still running; their open pages roll back');
        await warehouse.close(1000);
        process.exit(0);
      }
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
      const report = await readStatus(warehouse.db, config, systemClock, { kind: warehouse.kind });
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
    takeEarlySignal();
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
    const summaries = await runDemo({ config, logger: createLogger({ level: 'warn', format: config.logFormat, noColor: config.noColor }), seed: opts.seed });
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
  const logger = createLogger({ level: options.quiet ? 'warn' : config.logLevel, format: config.logFormat, noColor: config.noColor });
  warningsThrough(logger);
  let warehouse: Db<Warehouse>;
  try {
    warehouse = await openWarehouse<Warehouse>({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      maxConcurrentRuns: config.maxConcurrentRuns,
      dbTimeoutMs: config.dbTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
    });
  } catch (error) {
    // The embedded warehouse in use by another process: one line that says by whom and what to do.
    if (error instanceof EmbeddedWarehouseBusyError) console.error(`smsc-sync: ${error.message}`);
    else logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
    return;
  }
  try {
    let applied: string[];
    try {
      applied = await migrateWarehouse(warehouse);
    } catch (error) {
      // Migrating is the first use of the server: a connection that fails there says so.
      throw (config.databaseUrl && connectionFailure(error, config.databaseUrl, config.dbTimeoutMs)) || error;
    }
    await fn({ config, logger, warehouse }, applied);
  } catch (error) {
    logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  } finally {
    await warehouse.close(2000);
  }
}

/**
 * Node's own warnings (a library's deprecation, pg's notice on `sslmode=require` in
 * DATABASE_URL) as log lines, where Node would write them to stderr as plain text.
 */
function warningsThrough(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ warning: warning.name, code: (warning as { code?: unknown }).code }, warning.message));
}

/** Exit codes of a one-shot command stopped by a signal, as shells report them (128 + signal). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * The first SIGTERM or SIGINT aborts `signal` (runs stop after the page in flight) and sets
 * the exit code (130 for Ctrl-C, 143 for SIGTERM); if the command is still running
 * `deadlineMs` later, or at a second signal, the process exits at once with that code and
 * logs what it gave up (an open page rolls back with its connection).
 */
function stopOnSignal(logger: Logger, deadlineMs: number, message: string): { signal: AbortSignal; readonly exitCode: number | undefined } {
  const controller = new AbortController();
  let exitCode: number | undefined;
  const onSignal = (name: keyof typeof SIGNAL_EXIT) => {
    if (exitCode !== undefined) {
      logger.warn({ signal: name }, 'second signal: exiting now; the page in flight rolls back');
      process.exit(exitCode);
    }
    exitCode = SIGNAL_EXIT[name];
    logger.warn({ signal: name, deadlineSeconds: deadlineMs / 1000 }, message);
    controller.abort();
    setTimeout(() => {
      logger.warn({ deadlineSeconds: deadlineMs / 1000 }, 'still running at the stop deadline: exiting; the page in flight rolls back');
      process.exit(exitCode);
    }, deadlineMs).unref();
  };
  takeEarlySignal();
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCode;
    },
  };
}

function list(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !STREAM_NAMES.includes(n));
  if (unknown.length > 0 || names.length === 0) throw new InvalidArgumentError(`unknown stream(s) ${unknown.join(', ')}; known: ${STREAM_NAMES.join(', ')}`);
  return names;
}

/** A calendar day, not an instant: each account reads it in its own zone. */
function date(value: string): CalendarDay {
  const day = parseCalendarDay(value);
  if (!day) throw new InvalidArgumentError('expected a date dd.mm.yyyy or yyyy-mm-dd');
  return day;
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
