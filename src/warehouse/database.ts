// Opens the warehouse: PostgreSQL through `pg` when a URL is given, otherwise embedded PGlite
// (PostgreSQL compiled to WebAssembly, files under the data folder). The same queries and
// migrations serve both; values come back alike (int8 and numeric as exact strings, date as
// YYYY-MM-DD).
//
// Nothing waits without a deadline: a connection that cannot be had from the pool within
// `dbTimeoutMs` is an error that says so, every session runs with lock_timeout and
// statement_timeout, and a run holds exactly one connection (its session) for its whole
// life, taken before it starts and given back when it ends. The pool is sized from the
// number of runs a process may have at once (`maxConcurrentRuns`) plus a few spare
// connections for the quota ledger, /healthz and /metrics, so runs can never exhaust it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pLimit, { type LimitFunction } from 'p-limit';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type EmbeddedLock, lockEmbeddedWarehouse } from './embedded-lock.ts';
import { DEFAULT_TEMPLATE_DIR, freshClusterDump } from './pglite-template.ts';

export interface Warehouse<DB> {
  /** The pool (PostgreSQL) or the one connection (PGlite), for short statements outside runs. */
  readonly db: Kysely<DB>;
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` on one connection of its own, held until `fn` ends: a run's advisory lock, its
   * page transactions and its cursor all live on it, so a run that loses its connection has
   * lost its lock and can no longer commit anything (fencing). On PGlite, the one connection.
   * @throws DatabaseBusyError when no connection frees up within `dbTimeoutMs`.
   */
  session<T>(fn: (session: Session<DB>) => Promise<T>): Promise<T>;
  /**
   * The process's run slots: at most `maxConcurrentRuns` runs at once, the others wait their
   * turn (holding no connection). Every run goes through it.
   */
  readonly runSlots: LimitFunction;
  /** Connections the pool may open (PostgreSQL); 1 for PGlite. */
  readonly poolSize: number;
  /** Closes the pool; connections still checked out after `deadlineMs` are abandoned. */
  close(deadlineMs?: number): Promise<void>;
}

/** One connection, held by one run. */
export interface Session<DB> {
  /** Kysely bound to this connection only. */
  readonly db: Kysely<DB>;
  /** PostgreSQL: COPY FROM STDIN on this connection (bulk rows reach a staging table faster than as parameters). */
  readonly copy?: CopyIn;
}

/** Streams COPY text (rows of tab-separated values) into `statement` (`COPY … FROM STDIN`). */
export type CopyIn = (statement: string, text: string) => Promise<void>;

export interface OpenWarehouseOptions {
  /** PostgreSQL URL; without it the embedded warehouse is used. */
  readonly databaseUrl?: string | undefined;
  /** Folder of the embedded warehouse; undefined keeps it in memory (tests). */
  readonly dataDir?: string | undefined;
  /** Runs at once in this process; the pool holds one connection per run and SPARE_CONNECTIONS more. (Default: 4) */
  readonly maxConcurrentRuns?: number;
  /** Longest wait for a pooled connection, and lock_timeout. (Default: 10000 ms) */
  readonly dbTimeoutMs?: number;
  /** statement_timeout of every session. (Default: 120000 ms) */
  readonly statementTimeoutMs?: number;
  /** Shown in pg_stat_activity. (Default: smsc-sync) */
  readonly applicationName?: string;
  /** What this process is, for the message that refuses a second process on an embedded warehouse. (Default: the command line) */
  readonly purpose?: string;
  /**
   * Embedded warehouse only: a dump (PGlite `dumpDataDir`) to start from instead of a fresh
   * cluster; loading one skips PGlite's initdb, which is what the tests use it for.
   */
  readonly loadDataDir?: Blob | undefined;
  /**
   * Embedded warehouse only: where the copy of a fresh cluster that fills a new warehouse's
   * folder is kept (pglite-template.ts); null runs PGlite's initdb in the folder instead.
   * (Default: the installation's node_modules/.cache/smsc-sync-pglite-template)
   */
  readonly clusterTemplateDir?: string | null | undefined;
}

/** Connections beyond one per run: the quota ledger's short transactions, /healthz, /metrics, status. */
export const SPARE_CONNECTIONS = 3;
const DEFAULT_MAX_CONCURRENT_RUNS = 4;
const DEFAULT_DB_TIMEOUT_MS = 10_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 120_000;

/** int8 stays a string: ids above 2^53 must not be rounded through a JavaScript number. */
const INT8_OID = 20;
/** date stays `YYYY-MM-DD`: a calendar day has no time zone to be shifted into. */
const DATE_OID = 1082;

/** No connection could be had from the pool in time. */
export class DatabaseBusyError extends Error {
  constructor(poolSize: number, waitedMs: number, cause: unknown) {
    super(
      `no database connection became free within ${Math.round(waitedMs / 1000)} s (pool of ${poolSize}): ` +
        'the database is slow or unreachable, or other work holds every connection; ' +
        'raise SMSC_DB_TIMEOUT_SECONDS, or lower SMSC_MAX_CONCURRENT_RUNS if the server limits connections',
      { cause },
    );
    this.name = 'DatabaseBusyError';
  }
}

// SQLSTATEs of a server that answered but refused the connection:
/** invalid_catalog_name: the database in the URL does not exist. */
const INVALID_CATALOG_NAME = '3D000';
/** invalid_password: password authentication failed. */
const INVALID_PASSWORD = '28P01';
/** invalid_authorization_specification: no such role, or pg_hba.conf has no entry for it. */
const INVALID_AUTHORIZATION = '28000';
/** Node's codes of a server that could not be reached at the network. */
const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE'];

/** The warehouse's server could not be reached, or refused the connection: what, where, and what to check. */
export class WarehouseConnectionError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'WarehouseConnectionError';
  }
}

/**
 * Explains an error of connecting to the warehouse's server (`databaseUrl`, from DATABASE_URL)
 * as what it is: the server could not be reached (refused, no route, unknown host, no answer
 * within `dbTimeoutMs`), the database does not exist, the login was refused, or the URL cannot
 * be read, with host:port and the driver's own words. Looks through wrapped errors (a
 * migration that failed because its connection did). Undefined for any other error. The
 * URL's password is never part of the message.
 */
export function connectionFailure(error: unknown, databaseUrl: string, dbTimeoutMs: number): WarehouseConnectionError | undefined {
  const where = serverOf(databaseUrl);
  for (const e of causes(error)) {
    const code = typeof e.code === 'string' ? e.code : '';
    const text = typeof e.message === 'string' && e.message ? e.message : code;
    if (code === 'ERR_INVALID_URL' || (e instanceof TypeError && /Invalid URL/.test(text))) {
      return new WarehouseConnectionError(
        'DATABASE_URL is not a URL the PostgreSQL driver can read (the value is not shown: it holds the password); expected postgres://user:password@host:5432/database, with @ : / ? # in the password percent-encoded',
        error,
      );
    }
    if (code === INVALID_CATALOG_NAME) {
      return new WarehouseConnectionError(`the database server at ${where.server} answered, but ${text}: create it (CREATE DATABASE "${where.database}") or correct the database name in DATABASE_URL`, error);
    }
    if (code === INVALID_PASSWORD || code === INVALID_AUTHORIZATION) {
      return new WarehouseConnectionError(`the database server at ${where.server} refused the login of user '${where.user}' (DATABASE_URL): ${text}; check the user and password in DATABASE_URL, and pg_hba.conf on the server`, error);
    }
    const timedOut = e instanceof DatabaseBusyError || /connection timeout|timeout expired/i.test(text);
    if (NETWORK_CODES.includes(code) || timedOut || /Connection terminated|connection error/i.test(text)) {
      const driver = e instanceof DatabaseBusyError && e.cause instanceof Error ? e.cause.message : text;
      const detail = timedOut ? `no answer within SMSC_DB_TIMEOUT_SECONDS (${dbTimeoutMs / 1000} s): ${driver}` : text;
      return new WarehouseConnectionError(
        `the database could not be reached at ${where.server} (DATABASE_URL): ${detail}; check that PostgreSQL runs there and accepts connections from this host, or correct DATABASE_URL`,
        error,
      );
    }
  }
  return undefined;
}

/** The error, its causes, and the errors of an AggregateError (a host with several addresses). */
export function* causes(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  const queue = [error];
  for (let n = 0; queue.length > 0 && n < 10; n++) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object') continue;
    yield e as { code?: unknown; message?: unknown };
    if ('cause' in e) queue.push(e.cause);
    if (e instanceof AggregateError) queue.push(...e.errors);
  }
}

/** Host:port, database and user of a connection URL, for messages; never its password. */
function serverOf(databaseUrl: string): { server: string; database: string; user: string } {
  try {
    const url = new URL(databaseUrl);
    const host = url.searchParams.get('host') ?? (url.hostname || 'localhost');
    const port = url.searchParams.get('port') ?? (url.port || '5432');
    return { server: `${host}:${port}`, database: decodeURIComponent(url.pathname.slice(1)) || '(default)', user: decodeURIComponent(url.username) || '(default)' };
  } catch {
    return { server: 'the server in DATABASE_URL', database: '(unknown)', user: '(unknown)' };
  }
}

export async function openWarehouse<DB>(options: OpenWarehouseOptions): Promise<Warehouse<DB>> {
  const runs = options.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS;
  const runSlots = pLimit(runs);
  if (options.databaseUrl) return openPostgres<DB>(options.databaseUrl, runs, runSlots, options);
  return openPglite<DB>(options, runSlots);
}

function openPostgres<DB>(databaseUrl: string, runs: number, runSlots: LimitFunction, options: OpenWarehouseOptions): Warehouse<DB> {
  const dbTimeoutMs = options.dbTimeoutMs ?? DEFAULT_DB_TIMEOUT_MS;
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const poolSize = runs + SPARE_CONNECTIONS;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    application_name: options.applicationName ?? 'smsc-sync',
    // A connection that cannot be had in time is an error, never a wait without end: this
    // bounds both opening a connection and waiting in the pool's queue for a free one.
    connectionTimeoutMillis: dbTimeoutMs,
    // Every statement of the sync has a deadline, and no lock is waited for long (a session
    // of anyone, the read-only role included, can hold an advisory lock's key).
    options: `-c statement_timeout=${statementTimeoutMs} -c lock_timeout=${dbTimeoutMs} -c idle_in_transaction_session_timeout=${statementTimeoutMs + dbTimeoutMs}`,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID || oid === DATE_OID ? (v: string) => v : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A client that loses its server (restart, pg_terminate_backend) must not crash the
  // process: idle ones report through the pool, and one in use emits 'error' on itself after
  // its query has already failed (and its transaction rolled back) with the reason.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const connect = async (): Promise<pg.PoolClient> => {
    const t0 = performance.now();
    try {
      return await pool.connect();
    } catch (error) {
      if (error instanceof Error && /timeout exceeded when trying to connect/.test(error.message)) {
        throw new DatabaseBusyError(poolSize, performance.now() - t0, error);
      }
      throw error;
    }
  };
  // Kysely asks this shim for connections, so that its waits carry the same deadline and message.
  const shim = {
    connect,
    end: () => pool.end(),
  } as unknown as pg.Pool;
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: shim }) });

  const session = async <T>(fn: (s: Session<DB>) => Promise<T>): Promise<T> => {
    const client = await connect();
    let broken = false;
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      const single = new Kysely<DB>({
        dialect: new PostgresDialect({
          pool: {
            connect: async () => ({ query: (...args: unknown[]) => (client.query as (...a: unknown[]) => unknown)(...args), release: () => {} }),
            end: async () => {},
          } as unknown as pg.Pool,
        }),
      });
      const copy: CopyIn = (statement, text) => pipeline(Readable.from([text]), client.query(copyFrom(statement)));
      return await fn({ db: single, copy });
    } catch (error) {
      // A session whose work failed may be in any state (an open transaction, a lost
      // server): it is not given back to the pool for reuse.
      broken = true;
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  };

  return {
    db,
    kind: 'postgres',
    session,
    runSlots,
    poolSize,
    close: (deadlineMs = 5000) => withDeadline(pool.end(), deadlineMs),
  };
}

async function openPglite<DB>(options: OpenWarehouseOptions, runSlots: LimitFunction): Promise<Warehouse<DB>> {
  let lock: EmbeddedLock | undefined;
  // The data folder belongs to one process: a second one opening the same files corrupts them.
  if (options.dataDir) lock = lockEmbeddedWarehouse(options.dataDir, options.purpose);
  let pglite: PGlite;
  try {
    let loadDataDir = options.loadDataDir;
    // A new folder is filled from the installation's copy of a fresh cluster, not by initdb.
    const templateDir = options.clusterTemplateDir === undefined ? DEFAULT_TEMPLATE_DIR : options.clusterTemplateDir;
    if (!loadDataDir && options.dataDir && templateDir !== null && !existsSync(join(options.dataDir, 'PG_VERSION'))) {
      loadDataDir = await freshClusterDump(templateDir);
    }
    pglite = await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(loadDataDir ? { loadDataDir } : {}),
      parsers: { [pgliteTypes.INT8]: (v: string) => v, [pgliteTypes.DATE]: (v: string) => v },
    });
  } catch (error) {
    lock?.release();
    throw error;
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    kind: 'pglite',
    // One connection for everyone: PGlite runs one transaction at a time.
    session: (fn) => fn({ db }),
    runSlots,
    poolSize: 1,
    close: async (deadlineMs = 5000) => {
      try {
        await withDeadline(db.destroy(), deadlineMs);
      } finally {
        lock?.release();
      }
    },
  };
}

/** Waits for `work` at most `ms`; what is still going on after that is abandoned. */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
