// `smsc-sync`: thin commands over the modules in src/. Each command's errors end the process
// with a message that says what to fix and a non-zero exit code.
import { takeEarlySignal } from './early-signals.ts'; // first: see the module
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createLogger, type Logger, resolveLogFormat } from './logger.ts';
import { parseMonth } from './report/month.ts';
import type { Month } from './report/read-report.ts';
import { STREAM_NAMES } from './streams/names.ts';
import { type CalendarDay, parseCalendarDay } from './time/calendar.ts';
import type { Warehouse as Db } from './warehouse/database.ts';
import { EmbeddedWarehouseBusyError, EmbeddedWarehouseFolderError } from './warehouse/embedded-lock.ts';
import type { Warehouse } from './warehouse/schema.ts';

// What a command needs beyond this is imported when it runs: a process starts one command,
// and loading every command's modules (the streams, the scheduler, the emulator, the report)
// would cost each start about a tenth of a second of CPU more.

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const program = new Command()
  .name('smsc-sync')
  .description('Keeps a PostgreSQL warehouse in step with SMSC SMS gateway accounts.')
  .version(VERSION, '-V, --version', 'print the version of smsc-sync')
  .showHelpAfterError();

/** The streams whose history reaches back to a day (the others hold only what is current). */
const BACKFILL_STREAMS = ['outbound', 'stats'];

/** `--account a,b`: the configured accounts to work on (default: all). */
const ACCOUNT_OPTION = ['--account <names>', 'comma-separated account names (as in SMSC_ACCOUNTS; default: every configured account)'] as const;

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
  .option('--since <date>', "first run: history from this day on (yyyy-mm-dd or dd.mm.yyyy), from midnight in each account's zone (default: 7 days back; SMSC keeps half a year)", date)
  .option(...ACCOUNT_OPTION, names)
  .option('--json', 'print the runs as one JSON document on stdout when done (log lines go to stderr)')
  .action(async (opts: { streams: string[]; since?: CalendarDay; account?: string[]; json?: boolean }) => {
    await withWarehouse({ requireAccount: true, accounts: opts.account, logToStderr: opts.json === true }, async ({ config, warehouse, logger }) => {
      const stop = stopOnSignal(logger, config.stopTimeoutMs, 'stopping after the page in flight');
      const [{ runSync, syncSucceeded }, { formatSummary, summaryJson }] = await Promise.all([import('./sync/sync.ts'), import('./sync/summary.ts')]);
      const summaries = await runSync({ config, warehouse, logger, streams: opts.streams, since: opts.since, signal: stop.signal });
      const ok = syncSucceeded(summaries);
      // A table for a person at a terminal; a document for machines.
      if (opts.json) console.log(summaryJson(summaries, ok));
      else if (process.stdout.isTTY) console.log(`\n${formatSummary(summaries)}`);
      if (!ok) process.exitCode = 1;
      if (stop.exitCode !== undefined) process.exitCode = stop.exitCode;
    });
  });

program
  .command('backfill')
  .description('Walk history back to a day within the quotas, waiting for each next slot; resumable after a stop; shows progress')
  .requiredOption('--since <date>', "the first day to hold (yyyy-mm-dd or dd.mm.yyyy), from midnight in each account's zone (SMSC keeps half a year of history)", date)
  .option('--streams <list>', `comma-separated streams that can reach back (${BACKFILL_STREAMS.join(', ')})`, backfillList, [...BACKFILL_STREAMS])
  .option(...ACCOUNT_OPTION, names)
  .action(async (opts: { since: CalendarDay; streams: string[]; account?: string[] }) => {
    await withWarehouse({ requireAccount: true, accounts: opts.account }, async ({ config, warehouse, logger }) => {
      const stop = stopOnSignal(logger, config.stopTimeoutMs, 'stopping after the page in flight; run backfill again to go on');
      const [{ formatProgress, runBackfill }, { syncSucceeded }] = await Promise.all([import('./sync/backfill.ts'), import('./sync/sync.ts')]);
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
        // A whole line per pass (a pass ends at each quota wait): a \r-redrawn line would run
        // into the log lines printed meanwhile.
        onProgress: (p) => {
          if (tty) process.stderr.write(`${formatProgress(p)}\n`);
          else logger.info({ done: p.done, rows: p.rows, pages: p.pages, requestsLeft: p.requestsLeft, etaMs: p.etaMs, waitingUntil: p.waitingUntil?.toISOString(), streams: p.streams }, formatProgress(p));
        },
      });
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
      const [{ Metrics }, { Scheduler, schedulerHealth }, { startHttp }] = await Promise.all([import('./metrics.ts'), import('./scheduler/scheduler.ts'), import('./scheduler/http.ts')]);
      const metrics = new Metrics({ db: warehouse.db, accounts: config.accounts, logger });
      const scheduler = new Scheduler({ config, warehouse, logger, metrics });
      // Listening comes before any job: a port that cannot be had ends start-up with a line
      // that names it, rather than a scheduler running blind beside a dead listener.
      let http: Awaited<ReturnType<typeof startHttp>> | undefined;
      if (config.httpPort !== undefined) {
        // The warehouse's gauges are read before listening: the first scrape already has them.
        await metrics.startRefreshing();
        try {
          http = await startHttp({ port: config.httpPort, metrics, health: schedulerHealth(scheduler, warehouse.db) });
        } catch (error) {
          metrics.stopRefreshing();
          const code = (error as { code?: unknown }).code;
          throw new Error(
            code === 'EADDRINUSE'
              ? `SMSC_HTTP_PORT: port ${config.httpPort} is already in use by another process; choose another port or stop that process`
              : `SMSC_HTTP_PORT: cannot listen on port ${config.httpPort}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        logger.info({ port: http.port }, 'http listening (/healthz, /metrics)');
      }
      scheduler.start();
      const signal = await stopRequested;
      const firstSignalAt = performance.now();
      logger.info({ signal, deadlineSeconds: config.stopTimeoutMs / 1000 }, 'stopping: no new runs, the page in flight commits or rolls back');
      // A second signal does not wait for anything. (The same one within a second is the first
      // again: a terminal's Ctrl-C reaches both the launcher on an older node and this process.)
      const again = (name: string) => {
        if (name === signal && performance.now() - firstSignalAt < SAME_SIGNAL_MS) return;
        logger.warn('second signal: exiting now; an open page rolls back');
        process.exit(0);
      };
      process.on('SIGTERM', () => again('SIGTERM'));
      process.on('SIGINT', () => again('SIGINT'));
      const stopped = await scheduler.stop(config.stopTimeoutMs);
      metrics.stopRefreshing();
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
      const { grantReader } = await import('./warehouse/reader-role.ts');
      await grantReader(warehouse.db, opts.role);
      logger.info({ role: opts.role }, `role ${opts.role} may read schema smsc; let a login use it: CREATE ROLE metabase LOGIN PASSWORD '…' IN ROLE ${opts.role}`);
    });
  });

program
  .command('status')
  .description('Per account and stream: last run, outcome, rows, cursor, lag, quota used this hour, warnings')
  .option('--json', 'print JSON for machines')
  .option(...ACCOUNT_OPTION, names)
  .action(async (opts: { json?: boolean; account?: string[] }) => {
    await withWarehouse({ requireAccount: false, quiet: true, accounts: opts.account }, async ({ config, warehouse }) => {
      const [{ formatStatus, readStatus }, { systemClock }] = await Promise.all([import('./sync/status.ts'), import('./sandbox/clock.ts')]);
      const report = await readStatus(warehouse.db, config, systemClock, { kind: warehouse.kind, configuredOnly: opts.account !== undefined });
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatStatus(report));
      // For monitoring: 1 when anything needs a person (the problems are in the report).
      if (report.some((a) => a.problems.length > 0)) process.exitCode = 1;
    });
  });

program
  .command('check')
  .description('Prove the setup: the configuration, the warehouse, and one cheap request (balance.php) per account; exit 1 on any failure')
  .option(...ACCOUNT_OPTION, names)
  .option('--json', 'print JSON for machines')
  .action(async (opts: { account?: string[]; json?: boolean }) => {
    await withWarehouse(
      {
        requireAccount: true,
        quiet: true,
        accounts: opts.account,
        // Every account gets its line even when the warehouse (which holds the quota ledger
        // every request goes through) cannot be opened: nothing is sent then.
        onOpenFailure: (config, message) => {
          if (opts.json) console.log(JSON.stringify({ ok: false, warehouse: { ok: false, detail: message }, accounts: config.accounts.map((a) => ({ account: a.name, ok: false, result: 'not_checked', detail: 'the quota ledger lives in the warehouse' })) }, null, 2));
          else {
            console.log(`FAILED  warehouse: ${message}`);
            for (const a of config.accounts) console.log(`SKIPPED account ${a.name}: not checked (every request goes through the quota ledger in the warehouse)`);
          }
        },
      },
      async ({ config, warehouse }, applied) => {
        // The report is the output: the client's own warnings (a retry, a refusal) are in it.
        const logger = createLogger({ level: 'silent' });
        const where = warehouse.kind === 'pglite' ? `embedded (${config.dataDir})` : describeDatabase(config.databaseUrl);
        const migrated = applied.length ? `${applied.length} migration(s) applied` : 'migrations up to date';
        const { checkAccounts, formatChecks } = await import('./sync/check.ts');
        const checks = await checkAccounts({ config, warehouse, logger });
        const ok = checks.every((c) => c.ok);
        if (opts.json) console.log(JSON.stringify({ ok, warehouse: { ok: true, detail: `${where}, ${migrated}` }, accounts: checks }, null, 2));
        else console.log([`ok      configuration: ${config.accounts.length} account(s)`, `ok      warehouse: ${where}, ${migrated}`, formatChecks(checks)].join('\n'));
        if (!ok) process.exitCode = 1;
      },
    );
  });

program
  .command('report')
  .description("A month of an account as a self-contained HTML page (charts, each with its table), or the same figures as CSV files for finance")
  .option('--account <names>', 'comma-separated account names (default: every configured account, or every account the warehouse holds when none is configured)', names)
  .option('--month <yyyy-mm>', "the month (default: the current month in the account's zone)", month)
  .addOption(new Option('--out <file>', 'the HTML file (default: smsc-report-<account>-<yyyy-mm>.html in the current folder); one account only').conflicts('csv'))
  .option('--csv <dir>', 'write the figures as CSV files, one per table (smsc-report-<account>-<yyyy-mm>-<table>.csv), into this folder instead of the page')
  .action(async (opts: { account?: string[]; month?: Month; out?: string; csv?: string }) => {
    await withWarehouse({ requireAccount: false, quiet: true, readsOnly: true }, async ({ config, warehouse }) => {
      // The warehouse is what is reported: an analyst with DATABASE_URL alone needs no credentials.
      const [{ warehouseAccounts }, { writeReport }] = await Promise.all([import('./report/read-report.ts'), import('./report/write-report.ts')]);
      const held = (await warehouseAccounts(warehouse.db)).map((a) => a.account);
      const wanted = opts.account ?? (config.accounts.length > 0 ? config.accounts.map((a) => a.name) : held);
      const missing = wanted.filter((n) => !held.includes(n));
      const fail = (message: string, code: number) => {
        console.error(`smsc-sync: ${message}`);
        process.exitCode = code;
      };
      if (wanted.length === 0) return fail('the warehouse holds no account yet: run smsc-sync sync first', 1);
      if (missing.length > 0) return fail(`the warehouse holds nothing of account ${missing.map((n) => `'${n}'`).join(', ')} (run smsc-sync sync first, or name one with --account); it holds: ${held.map((n) => `'${n}'`).join(', ') || 'none'}`, 2);
      if (opts.out !== undefined && wanted.length > 1) return fail(`--out names one file, for one account: choose it with --account (${wanted.map((n) => `'${n}'`).join(', ')})`, 2);
      for (const account of wanted) {
        for (const path of await writeReport(warehouse.db, { account, month: opts.month, out: opts.out, csvDir: opts.csv })) console.log(path);
      }
    });
  });

program
  .command('sandbox')
  .description('Run the local SMSC emulator (the six data endpoints and the balance, quotas, fault injection) for trying things without an account')
  .option('--port <n>', 'port to listen on (0: any free port)', integer, 8123)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--seed <n>', 'seed of the generated account data', integer, 1)
  .option('--speed <n>', 'virtual seconds per real second (statuses settle and messages arrive faster)', number, 1)
  .action(async (opts: { port: number; host: string; seed: number; speed: number }) => {
    const [{ startSandbox }, { SandboxClock }] = await Promise.all([import('./sandbox/server.ts'), import('./sandbox/clock.ts')]);
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
    // Started in the background through npx (`npx smsc-sync sandbox &`), `kill %1` ends npm,
    // which does not pass the signal on: the emulator would go on holding its port. It stops
    // when the process that started it is gone (it is re-parented).
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 500).unref();
  });

program
  .command('demo')
  .description('One-command trial: start the emulator, sync every stream into its own embedded warehouse (or DATABASE_URL with --use-database-url), print a report')
  .option('--seed <n>', 'seed of the generated account data', integer, 1)
  .option('--use-database-url', 'write the demo rows (account sandbox-demo) into the warehouse DATABASE_URL names; without it the demo never touches a configured warehouse')
  .action(async (opts: { seed: number; useDatabaseUrl?: boolean }) => {
    let config: Config;
    try {
      config = loadConfig(process.env, { requireAccount: false });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`smsc-sync: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    // A configured warehouse is the user's: the demo writes there only when asked.
    if (config.databaseUrl && !opts.useDatabaseUrl) {
      console.log('DATABASE_URL is set but not used: the demo writes to its own embedded warehouse; pass --use-database-url to write its rows (account sandbox-demo) there.');
    }
    const [{ runDemo }, { syncSucceeded }] = await Promise.all([import('./demo/demo.ts'), import('./sync/sync.ts')]);
    const summaries = await runDemo({ config: { dataDir: config.dataDir, databaseUrl: opts.useDatabaseUrl ? config.databaseUrl : undefined }, logger: createLogger({ level: 'warn', format: config.logFormat, noColor: config.noColor }), seed: opts.seed });
    if (!syncSucceeded(summaries)) process.exitCode = 1;
  });

interface Opened {
  readonly config: Config;
  readonly logger: Logger;
  readonly warehouse: Db<Warehouse>;
}

/** PostgreSQL refused the statement for want of a privilege (42501), here or in a cause. */
function insufficientPrivilege(error: unknown, causes: (error: unknown) => Iterable<{ code?: unknown }>): boolean {
  for (const e of causes(error)) if (e.code === '42501') return true;
  return false;
}

/** Loads the configuration, opens and migrates the warehouse, runs `fn`, closes everything. */
async function withWarehouse(
  options: {
    requireAccount: boolean;
    quiet?: boolean;
    /** --account: only these configured accounts (an unknown name is a configuration error). */
    accounts?: readonly string[] | undefined;
    /** Log lines to stderr, leaving stdout to the command's output (--json). */
    logToStderr?: boolean;
    /** Told why the warehouse could not be opened or migrated (instead of the fatal log line). */
    onOpenFailure?: (config: Config, message: string) => void;
    /**
     * The command only reads: a role that may not migrate (the read-only role of grant-reader)
     * reads the warehouse as it is, instead of failing on the migrator's tables.
     */
    readsOnly?: boolean;
  },
  fn: (opened: Opened, applied: string[]) => Promise<void>,
): Promise<void> {
  let config: Config;
  try {
    config = selectAccounts(loadConfig(process.env, { requireAccount: options.requireAccount }), options.accounts);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`smsc-sync: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger({
    level: options.quiet ? 'warn' : config.logLevel,
    format: config.logFormat,
    noColor: config.noColor,
    ...(options.logToStderr ? { destination: pino.destination(2) } : {}),
  });
  warningsThrough(logger);
  const [{ causes, connectionFailure, openWarehouse }, { migrateWarehouse }] = await Promise.all([import('./warehouse/database.ts'), import('./warehouse/migrate.ts')]);
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
    // The embedded warehouse in use by another process, or its folder not writable: one line
    // that says by whom or where, and what to do.
    if (options.onOpenFailure) {
      const reason = (config.databaseUrl && connectionFailure(error, config.databaseUrl, config.dbTimeoutMs)) || error;
      options.onOpenFailure(config, reason instanceof Error ? reason.message : String(reason));
    } else if (error instanceof EmbeddedWarehouseBusyError || error instanceof EmbeddedWarehouseFolderError) console.error(`smsc-sync: ${error.message}`);
    else logger.fatal({ err: error }, error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
    return;
  }
  try {
    let applied: string[];
    try {
      applied = await migrateWarehouse(warehouse);
    } catch (error) {
      if (options.readsOnly && insufficientPrivilege(error, causes)) return await fn({ config, logger, warehouse }, []);
      // Migrating is the first use of the server: a connection that fails there says so.
      const reason = (config.databaseUrl && connectionFailure(error, config.databaseUrl, config.dbTimeoutMs)) || error;
      if (!options.onOpenFailure) throw reason;
      options.onOpenFailure(config, reason instanceof Error ? reason.message : String(reason));
      process.exitCode = 1;
      return;
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

/** The configuration narrowed to the accounts named by --account. */
function selectAccounts(config: Config, names: readonly string[] | undefined): Config {
  if (!names) return config;
  const known = config.accounts.map((a) => a.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new ConfigError([`--account: no configured account named ${unknown.map((n) => `'${n}'`).join(', ')}; configured: ${known.map((n) => `'${n}'`).join(', ') || 'none'}`]);
  }
  return { ...config, accounts: config.accounts.filter((a) => names.includes(a.name)) };
}

/** host:port/database of a PostgreSQL URL, without its user or password. */
function describeDatabase(url: string | undefined): string {
  if (!url) return 'PostgreSQL';
  try {
    const u = new URL(url);
    return `PostgreSQL ${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}

/** A signal repeated within this long is taken as the first one, not a second. */
const SAME_SIGNAL_MS = 1000;

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
  let firstAt = 0;
  let first: string | undefined;
  const onSignal = (name: keyof typeof SIGNAL_EXIT) => {
    // The same signal again within a second is the first one twice (a terminal's Ctrl-C
    // reaches both the launcher on an older node, which passes it on, and this process).
    if (name === first && performance.now() - firstAt < SAME_SIGNAL_MS) return;
    first ??= name;
    if (firstAt === 0) firstAt = performance.now();
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

function backfillList(value: string): string[] {
  const streams = list(value);
  const other = streams.filter((n) => !BACKFILL_STREAMS.includes(n));
  if (other.length > 0) throw new InvalidArgumentError(`${other.join(', ')} cannot reach back to a day; backfill walks ${BACKFILL_STREAMS.join(', ')} (sync brings the others)`);
  return streams;
}

function names(value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('expected one or more account names, comma-separated');
  return list;
}

/** A calendar day, not an instant: each account reads it in its own zone. */
function date(value: string): CalendarDay {
  const day = parseCalendarDay(value);
  if (!day) {
    throw new InvalidArgumentError(
      /^\d{2}\.\d{2}\.\d{4}$|^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value} is not a day of the calendar` : 'expected a date dd.mm.yyyy or yyyy-mm-dd',
    );
  }
  // A day after tomorrow (anywhere on Earth) holds nothing yet: a typo, not a wish.
  if (Date.parse(`${day}T00:00:00Z`) > Date.now() + 86_400_000) throw new InvalidArgumentError(`${value} is in the future`);
  return day;
}

function month(value: string): Month {
  const m = parseMonth(value);
  if (!m) throw new InvalidArgumentError('expected a month yyyy-mm');
  // A month that has begun nowhere on Earth yet (UTC+14 is the earliest) holds nothing: a typo.
  if (m > new Date(Date.now() + 14 * 3_600_000).toISOString().slice(0, 7)) throw new InvalidArgumentError(`${value} has not begun yet`);
  return m;
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

// A bad option or argument is a usage error: exit 2, as for bad configuration (commander's
// own code is 1, which here means a stream failed).
for (const command of [program, ...program.commands]) command.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  process.exit(error.exitCode === 0 ? 0 : 2);
}
