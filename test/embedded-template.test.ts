// A new embedded warehouse's folder is filled from the installation's copy of a fresh cluster
// (src/warehouse/pglite-template.ts), not by PGlite's initdb each time. What a user relies on:
// the copy holds initdb's output and nothing of any user's folder (secret.key above all), a
// damaged copy is never loaded, and a folder that already holds a warehouse is never touched.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openWarehouse } from '../src/warehouse/database.ts';
import { migrateToLatest } from '../src/warehouse/migrate.ts';
import { isClusterTar, templateFile } from '../src/warehouse/pglite-template.ts';
import { useTempDirs } from './helpers/temp-dirs.ts';

const folder = useTempDirs();

/** The member names of a gzipped tar, as GNU tar lists them. */
const members = (gzipped: Buffer) =>
  execFileSync('tar', ['-tzf', '-'], { input: gzipped, encoding: 'utf8', maxBuffer: 16 << 20 })
    .split('\n')
    .filter((l) => l !== '');

const mark = async (dataDir: string, templates: string) => {
  const warehouse = await openWarehouse({ dataDir, clusterTemplateDir: templates });
  try {
    return (await sql<{ mark: string | null }>`SELECT to_regclass('public.kept_copy_mark')::text AS mark`.execute(warehouse.db)).rows[0]!.mark;
  } finally {
    await warehouse.close();
  }
};

describe('the copy of a fresh cluster that new embedded warehouses start from', () => {
  const templates = folder('smsc-template-');
  const first = folder('smsc-embedded-');
  const SECRET = 'a-key-that-must-stay-in-its-folder-4f1c9b';

  it('is made from initdb alone where none is kept or the one kept is damaged, and the warehouse works', async () => {
    // A copy cut short (copied from another machine by hand, say) ...
    const whole = gzipSync(randomBytes(1 << 16));
    writeFileSync(templateFile(templates), whole.subarray(0, whole.length >> 1));
    // ... and a user's folder that already holds its key.
    writeFileSync(join(first, 'secret.key'), SECRET);
    const warehouse = await openWarehouse({ dataDir: first, clusterTemplateDir: templates });
    try {
      await migrateToLatest(warehouse.db);
      const held = await sql<{ n: number }>`SELECT count(*)::int AS n FROM smsc.outbound_messages`.execute(warehouse.db);
      expect(held.rows[0]!.n).toBe(0);
    } finally {
      await warehouse.close();
    }
    expect(existsSync(join(first, 'PG_VERSION'))).toBe(true);
    expect(readFileSync(join(first, 'secret.key'), 'utf8')).toBe(SECRET);

    // Made again, whole, with nothing beside it (no temporary file, no probe).
    expect(readdirSync(templates)).toEqual([templateFile(templates).split('/').at(-1)]);
    const kept = readFileSync(templateFile(templates));
    const tar = gunzipSync(kept);
    const names = members(kept).map((n) => n.replace(/^\//, ''));
    expect(names).toContain('PG_VERSION');
    expect(names).toContain('global/pg_control');
    expect(names.filter((n) => n.startsWith('base/')).length).toBeGreaterThan(100);
    // Nothing of the user's folder: not the key, not the lock of the process that holds it.
    expect(names.filter((n) => /secret|smsc-sync|\.lock$/.test(n))).toEqual([]);
    expect(tar.includes(Buffer.from(SECRET))).toBe(false);

    // What a copy must be to be loaded: this one is; an archive of something else, or this one
    // cut short (and packed again, so that gzip's check passes), is not.
    expect(isClusterTar(tar)).toBe(true);
    const other = folder('smsc-not-a-cluster-');
    writeFileSync(join(other, 'hello.txt'), 'hi\n');
    expect(isClusterTar(execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', other, 'hello.txt']))).toBe(false);
    expect(isClusterTar(tar.subarray(0, tar.length >> 1))).toBe(false);
    expect(isClusterTar(tar.subarray(0, tar.length - 1024))).toBe(false);
  });

  it('fills a new folder, and never touches a folder that holds a warehouse already', async () => {
    // Put a mark into the kept copy: a new folder must then start with it.
    const pglite = await PGlite.create({ loadDataDir: new Blob([gunzipSync(readFileSync(templateFile(templates)))]) });
    try {
      await pglite.exec('CREATE TABLE kept_copy_mark (at text)');
      writeFileSync(templateFile(templates), Buffer.from(await (await pglite.dumpDataDir('gzip')).arrayBuffer()));
    } finally {
      await pglite.close();
    }
    expect(await mark(folder('smsc-embedded-'), templates)).toBe('kept_copy_mark');
    // The first folder was made before the mark and is opened as it is.
    expect(await mark(first, templates)).toBeNull();
  });
});
