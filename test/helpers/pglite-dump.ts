// What a pglite-project test file starts from: a fresh cluster (the installation's copy of
// initdb's output, src/warehouse/pglite-template.ts, made now if there is none) and the same
// with every migration applied, made once per run; each file loads one of them.
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { migrateToLatest } from '../../src/warehouse/migrate.ts';
import { DEFAULT_TEMPLATE_DIR, freshClusterDump } from '../../src/warehouse/pglite-template.ts';

export interface PgliteDumps {
  /** A fresh cluster, as a new warehouse starts. */
  readonly empty: Uint8Array;
  /** The same with every migration applied. */
  readonly migrated: Uint8Array;
}

export async function dumpPglite(): Promise<PgliteDumps> {
  const fresh = await freshClusterDump(DEFAULT_TEMPLATE_DIR);
  const pglite = await PGlite.create(fresh ? { loadDataDir: fresh } : {});
  const db = new Kysely<any>({ dialect: new PGliteDialect({ pglite }) });
  try {
    // Uncompressed: loading it is faster than gunzipping, and it lives only for the run.
    const empty = new Uint8Array(await (fresh ?? (await pglite.dumpDataDir('none'))).arrayBuffer());
    await migrateToLatest(db);
    const migrated = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
    return { empty, migrated };
  } finally {
    await db.destroy();
  }
}
