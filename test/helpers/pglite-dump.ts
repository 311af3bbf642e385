// What a pglite-project test file starts from: PGlite's initdb (a few seconds of WebAssembly)
// runs once per run, and each file loads a dump of its result (about a second).
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { migrateToLatest } from '../../src/warehouse/migrate.ts';

export interface PgliteDumps {
  /** A fresh cluster, as openWarehouse({}) makes it. */
  readonly empty: Uint8Array;
  /** The same with every migration applied. */
  readonly migrated: Uint8Array;
}

export async function dumpPglite(): Promise<PgliteDumps> {
  const pglite = await PGlite.create();
  const db = new Kysely<any>({ dialect: new PGliteDialect({ pglite }) });
  try {
    // Uncompressed: loading it is faster than gunzipping, and it lives only for the run.
    const empty = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
    await migrateToLatest(db);
    const migrated = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
    return { empty, migrated };
  } finally {
    await db.destroy();
  }
}
