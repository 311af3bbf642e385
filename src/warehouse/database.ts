// Opens the warehouse: PostgreSQL through `pg` when a URL is given, otherwise embedded PGlite
// (PostgreSQL compiled to WebAssembly, files under the data folder). The same queries and
// migrations serve both; values come back alike (int8 and numeric as exact strings, date as
// YYYY-MM-DD).
import { mkdirSync } from 'node:fs';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface Warehouse<DB> {
  readonly db: Kysely<DB>;
  readonly kind: 'postgres' | 'pglite';
  /**
   * PostgreSQL only: a transaction on one connection that can also COPY FROM STDIN on it
   * (bulk rows reach a staging table several times faster than as query parameters).
   */
  readonly copyTransaction?: <T>(fn: (trx: Kysely<DB>, copy: CopyIn) => Promise<T>) => Promise<T>;
  close(): Promise<void>;
}

/** Streams COPY text (rows of tab-separated values) into `statement` (`COPY … FROM STDIN`). */
export type CopyIn = (statement: string, text: string) => Promise<void>;

export interface OpenWarehouseOptions {
  /** PostgreSQL URL; without it the embedded warehouse is used. */
  readonly databaseUrl?: string | undefined;
  /** Folder of the embedded warehouse; undefined keeps it in memory (tests). */
  readonly dataDir?: string | undefined;
  /** Connections in the pool. (Default: 5) */
  readonly poolSize?: number;
}

/** int8 stays a string: ids above 2^53 must not be rounded through a JavaScript number. */
const INT8_OID = 20;
/** date stays `YYYY-MM-DD`: a calendar day has no time zone to be shifted into. */
const DATE_OID = 1082;

export async function openWarehouse<DB>(options: OpenWarehouseOptions): Promise<Warehouse<DB>> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 5,
      application_name: 'smsc-sync',
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
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    const copyTransaction = async <T>(fn: (trx: Kysely<DB>, copy: CopyIn) => Promise<T>): Promise<T> => {
      const client = await pool.connect();
      let failed = false;
      try {
        // A Kysely bound to this one connection, for the transaction's other statements.
        const single = new Kysely<DB>({
          dialect: new PostgresDialect({
            pool: {
              connect: async () => ({ query: (...args: unknown[]) => (client.query as (...a: unknown[]) => unknown)(...args), release: () => {} }),
              end: async () => {},
            } as unknown as pg.Pool,
          }),
        });
        const copy: CopyIn = (statement, text) => pipeline(Readable.from([text]), client.query(copyFrom(statement)));
        return await single.transaction().execute((trx) => fn(trx, copy));
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A connection whose transaction failed may be in any state: it is not reused.
        client.release(failed);
      }
    };
    return { db, kind: 'postgres', copyTransaction, close: () => db.destroy() };
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    parsers: { [pgliteTypes.INT8]: (v: string) => v, [pgliteTypes.DATE]: (v: string) => v },
  });
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) });
  return { db, kind: 'pglite', close: () => db.destroy() };
}
