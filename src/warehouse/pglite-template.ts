// A new embedded warehouse starts from a copy of a freshly initialised PGlite cluster instead
// of running PGlite's initdb, a second WebAssembly program, in its folder again (a new warehouse
// opened and migrated: 1.5 s and 2.4 s of CPU against 2.5 s and 3.8 s, bench/startup.ts). The
// copy is made once per installation and PGlite version, in memory, from nothing but initdb's
// output (never from a user's folder, which holds secret.key), and kept gzipped beside the
// compile cache in the installation's node_modules/.cache. It is written under a temporary name
// and renamed, so a reader sees a whole file or none, and it must pass gzip's check and hold a
// whole archive of a cluster before it is used: a damaged one is made again. Where that folder cannot be written and
// holds no copy, a new warehouse runs initdb as it always did.
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
 * into a new warehouse's folder: the one kept in `dir`, or, when there is none there that is a
 * whole cluster, one made now and kept there. Undefined when `dir` holds none and cannot be
 * written: the caller then lets PGlite run initdb in the folder, which costs no more than before.
 */
export async function freshClusterDump(dir: string): Promise<Blob | undefined> {
  const file = templateFile(dir);
  let gzipped: Buffer | undefined;
  try {
    // A regular file only: reading a named pipe put there would wait for a writer for ever.
    if (statSync(file).isFile()) gzipped = readFileSync(file);
  } catch {
    // None yet (or unreadable): made below where the folder can be written.
  }
  if (gzipped) {
    try {
      const tar = gunzipSync(gzipped);
      if (isClusterTar(tar)) return new Blob([tar]);
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
    removeOthers(dir, file);
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

/**
 * Whether `tar` is a whole archive of a PostgreSQL cluster: every header a ustar header whose
 * file fits in what follows, the end-of-archive blocks reached, PG_VERSION and global/pg_control
 * among the members. (A foreign archive, or one cut short and packed again, is not loaded.)
 */
export function isClusterTar(tar: Uint8Array): boolean {
  const names = new Set<string>();
  const text = (from: number, length: number) => Buffer.from(tar.subarray(from, from + length)).toString('latin1').replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length; ) {
    if (tar.subarray(at, at + 512).every((b) => b === 0)) {
      // The end: two zero blocks (the second may be the last block of the file).
      return at + 1024 <= tar.length && names.has('PG_VERSION') && names.has('global/pg_control');
    }
    if (text(at + 257, 5) !== 'ustar') return false;
    const size = Number.parseInt(text(at + 124, 12).trim() || 'x', 8);
    if (!Number.isSafeInteger(size) || size < 0) return false;
    const prefix = text(at + 345, 155);
    names.add(`${prefix ? `${prefix}/` : ''}${text(at, 100)}`.replace(/^(\.?\/)+/, ''));
    at += 512 + Math.ceil(size / 512) * 512;
    if (at > tar.length) return false;
  }
  return false;
}

/** Copies of other PGlite versions (about 4.5 MB each), and temporary files left by a process killed while writing one. */
function removeOthers(dir: string, kept: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      const stale = name.endsWith('.tmp') && Date.now() - statSync(path).mtimeMs > 3_600_000;
      if (path !== kept && (/^cluster-pglite-.*\.tar\.gz$/.test(name) || stale)) unlinkSync(path);
    } catch {
      // Gone already (another process's).
    }
  }
}

/** Whether the copy can be kept in `dir` (made when missing): checked before initdb is paid for it. */
function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
