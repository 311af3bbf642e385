// A new embedded warehouse starts from a copy of a freshly initialised PGlite cluster instead
// of running PGlite's initdb, a second WebAssembly program, in its folder again (a new warehouse
// opened and migrated: 1.5 s and 2.4 s of CPU against 2.5 s and 3.8 s, bench/startup.ts). The
// copy is made once per installation and PGlite version, in memory, from nothing but initdb's
// output (never from a user's folder, which holds secret.key), and kept gzipped beside the
// compile cache in the installation's node_modules/.cache. It is written under a temporary name
// and renamed, so a reader sees a whole file or none, and it must pass gzip's check and read as
// a tar before it is used: a damaged one is made again. Where that folder cannot be written and
// holds no copy, a new warehouse runs initdb as it always did.
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';

/** Where the installation keeps the copy: its node_modules/.cache, as the CLI's compile cache. */
export const DEFAULT_TEMPLATE_DIR = fileURLToPath(new URL('../../node_modules/.cache/smsc-sync-pglite-template', import.meta.url));

/** Changes when what the copy holds changes for a reason other than PGlite's version. */
const FORMAT = 1;

let pgliteVersion: string | undefined;

/** The installed PGlite's version: a cluster made by another version's initdb is not used. */
function installedPgliteVersion(): string {
  if (pgliteVersion) return pgliteVersion;
  const main = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = JSON.parse(readFileSync(join(main, '../../package.json'), 'utf8')) as { version?: unknown };
  if (typeof manifest.version !== 'string') throw new Error(`no version in the package.json of @electric-sql/pglite beside ${main}`);
  return (pgliteVersion = manifest.version);
}

/** The copy's file in `dir` for the installed PGlite. */
export function templateFile(dir: string): string {
  return join(dir, `cluster-pglite-${installedPgliteVersion()}-v${FORMAT}.tar.gz`);
}

/**
 * A dump (PGlite `dumpDataDir`, an uncompressed tar) of a freshly initialised cluster, to load
 * into a new warehouse's folder: the one kept in `dir`, or, when there is none there that passes
 * gzip's check, one made now and kept there. Undefined when `dir` holds none and cannot be
 * written: the caller then lets PGlite run initdb in the folder, which costs no more than before.
 */
export async function freshClusterDump(dir: string): Promise<Blob | undefined> {
  const file = templateFile(dir);
  let gzipped: Buffer | undefined;
  try {
    gzipped = readFileSync(file);
  } catch {
    // None yet (or unreadable): made below where the folder can be written.
  }
  if (gzipped) {
    try {
      const tar = gunzipSync(gzipped);
      // A tar's first header says "ustar" at byte 257 (what PGlite's dumpDataDir writes).
      if (tar.subarray(257, 262).toString('latin1') === 'ustar') return new Blob([tar]);
    } catch {
      // Cut short or damaged: made again below.
    }
  }
  if (!writable(dir)) return undefined;
  const pglite = await PGlite.create();
  let tar: Uint8Array<ArrayBuffer>;
  try {
    tar = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
  } finally {
    await pglite.close();
  }
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, gzipSync(tar));
    renameSync(temporary, file);
  } catch {
    // A full disk, say: this warehouse starts from the dump all the same, the next makes it again.
    try {
      unlinkSync(temporary);
    } catch {
      // Never written.
    }
  }
  return new Blob([tar]);
}

function writable(dir: string): boolean {
  const probe = join(dir, `.probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    unlinkSync(probe);
    return true;
  } catch {
    return false;
  }
}
