// The embedded warehouse (PGlite files in a folder) belongs to one process: PGlite is a
// single-user PostgreSQL, and a second process opening the same files (a `status` beside a
// running `sync`) has been seen to leave them unopenable. A lock file in the folder names the
// process that holds it; a second process is refused with one line saying who holds it and
// that DATABASE_URL is the way to share a warehouse. A lock left by a process that died is
// taken over. A folder this user may not create or write (a container's user, a read-only
// mount) is one line naming the folder and what to set.
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedLock {
  release(): void;
}

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly purpose: string;
  readonly since: string;
}

const LOCK_FILE = 'smsc-sync.lock';

/** Another live process holds the embedded warehouse. */
export class EmbeddedWarehouseBusyError extends Error {
  constructor(dataDir: string, holder: LockInfo) {
    super(
      `the embedded warehouse in ${dataDir} is in use by process ${holder.pid} (${holder.purpose}, since ${holder.since}); ` +
        'only one process may open it: stop that one first, or set DATABASE_URL to a PostgreSQL database to share a warehouse between processes',
    );
    this.name = 'EmbeddedWarehouseBusyError';
  }
}

/** The embedded warehouse's folder cannot be created or written by this process's user. */
export class EmbeddedWarehouseFolderError extends Error {
  readonly code: string | undefined;
  constructor(dataDir: string, cause: NodeJS.ErrnoException) {
    const user = process.getuid ? ` (uid ${process.getuid()})` : '';
    super(
      `the embedded warehouse's folder ${dataDir} cannot be ${cause.syscall === 'mkdir' ? 'created' : 'written'} by this user${user}: ${cause.code ?? cause.message}; ` +
        'set SMSC_DATA_DIR to a folder it may write, or DATABASE_URL to a PostgreSQL database',
      { cause },
    );
    this.name = 'EmbeddedWarehouseFolderError';
    this.code = cause.code;
  }
}

/** Takes the folder's lock or throws EmbeddedWarehouseBusyError (or EmbeddedWarehouseFolderError). */
export function lockEmbeddedWarehouse(dataDir: string, purpose = defaultPurpose()): EmbeddedLock {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new EmbeddedWarehouseFolderError(dataDir, error as NodeJS.ErrnoException);
  }
  const path = join(dataDir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), purpose, since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${JSON.stringify(mine)}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new EmbeddedWarehouseFolderError(dataDir, error as NodeJS.ErrnoException);
      if (attempt > 2) throw error;
      const holder = readLock(path);
      if (holder && holder.pid !== process.pid && alive(holder)) throw new EmbeddedWarehouseBusyError(dataDir, holder);
      // Left by a process that is gone (or unreadable): take it over.
      try {
        unlinkSync(path);
      } catch {
        // Another process took it over first; the next attempt finds out who.
      }
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readLock(path)?.pid === process.pid) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  process.on('exit', release);
  return { release };
}

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    if (typeof info.pid !== 'number') return undefined;
    return { pid: info.pid, host: String(info.host ?? ''), purpose: String(info.purpose ?? 'smsc-sync'), since: String(info.since ?? '?') };
  } catch {
    return undefined;
  }
}

/** Whether the holder still runs. A holder on another host (a shared folder) is taken as alive. */
function alive(holder: LockInfo): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function defaultPurpose(): string {
  const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
  return command ? `smsc-sync ${command}` : 'smsc-sync';
}
