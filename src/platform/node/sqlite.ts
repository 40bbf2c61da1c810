import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditWalLostError, withStorageErrors } from '../../contracts/index.js';
import type { OpenSqlite, SqliteDb } from '../ports.js';

const WAL_INDEX_VERSION = 3007000;
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * Pages committed to the write-ahead log but not yet copied into the database, as the shared-memory index
 * (`-shm`) records them, with the bytes read; 0 when the index is absent, uninitialized or unreadable.
 * Layout (sqlite.org/walformat.html): two copies of the 48-byte index header (iVersion u32, unused u32, iChange u32,
 * isInit u8, bigEndCksum u8, szPage u16, mxFrame u32, ...), then the checkpoint info whose first field is nBackfill.
 */
function unsavedWalPages(shm: string): { pages: number; pageSize: number; index: string } {
  const buf = Buffer.alloc(100);
  const none = { pages: 0, pageSize: 0, index: '' };
  let fd: number | undefined;
  try {
    fd = openSync(shm, 'r');
    if (readSync(fd, buf, 0, buf.length, 0) < buf.length) return none;
  } catch {
    return none;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // The index is in the machine's native byte order.
  const le = endianness() === 'LE';
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  // A header whose two copies differ is being rewritten by a live writer right now: not evidence of a loss.
  if (u32(0) !== WAL_INDEX_VERSION || buf[12] !== 1 || !buf.subarray(0, 48).equals(buf.subarray(48, 96))) return none;
  const rawSize = u16(14);
  const pageSize = rawSize === 1 ? 65536 : rawSize;
  const mxFrame = u32(16);
  const nBackfill = u32(96);
  return { pages: Math.max(0, mxFrame - nBackfill), pageSize, index: buf.toString('hex') };
}

/** Bytes of the WAL file, or -1 when there is none. */
function walBytes(wal: string): number {
  try {
    return statSync(wal).size;
  } catch {
    return -1;
  }
}

/**
 * One look at the log and its index: the committed pages the index records that the log does not hold (0 when it
 * holds them all), with the index bytes it judged by. The log is looked at before and after the index: a log that
 * changed in between belongs to a live connection (`lost` 0).
 */
function walLook(file: string): { lost: number; index: string } {
  const wal = `${file}-wal`;
  const before = walBytes(wal);
  const { pages, pageSize, index } = unsavedWalPages(`${file}-shm`);
  const after = walBytes(wal);
  if (pages === 0 || before !== after) return { lost: 0, index };
  return { lost: after >= WAL_HEADER_BYTES + pages * (WAL_FRAME_HEADER_BYTES + pageSize) ? 0 : pages, index };
}

const LOOKS = 5;
const LOOK_PAUSE_MS = 20;

/**
 * Refuses a database whose write-ahead log was deleted (or cut short) while its index still records committed
 * pages: SQLite would open it without complaint and those transactions would be gone. The files are read without
 * SQLite's locks, so a connection closing in another process (checkpoint, then unlink of index and log) can show a
 * moment that looks like a loss; a loss is only declared when several looks a little apart all see the same index
 * and no log.
 */
function assertWalIntact(file: string): void {
  if (!existsSync(`${file}-shm`)) return;
  let seen = walLook(file);
  for (let look = 1; seen.lost > 0 && look < LOOKS; look++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOOK_PAUSE_MS);
    const next = walLook(file);
    if (next.index !== seen.index) return;
    seen = next;
  }
  if (seen.lost > 0) throw new AuditWalLostError(file, seen.lost);
}

/**
 * Connections this process holds open, per database path. SQLite's locks on the `-shm` index are POSIX record locks,
 * and closing *any* descriptor of a file drops every such lock the process holds on it: reading the index with a
 * descriptor of our own while a connection is open would silently release that connection's locks, and another
 * process would then reset the index under it (SIGBUS on the mapped index, or a lost read lock). So the WAL check runs
 * only when this process has no connection to the file.
 */
const openHere = new Map<string, number>();

/**
 * Opens an SQLite file through better-sqlite3 (N-API prebuilds, no compile step). A missing or truncated WAL with
 * committed pages is `MSO_AUDIT_WAL_LOST`; read-only, full or damaged storage becomes its storage error.
 */
export const openSqlite: OpenSqlite = (file, options = {}) => {
  const key = resolve(file);
  if (!openHere.get(key)) assertWalIntact(file);
  const opened = withStorageErrors(
    file,
    () => new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false }),
  );
  const db = options.readonly ? readableImage(opened, file) : opened;
  if (db.memory) return db as unknown as SqliteDb;
  openHere.set(key, (openHere.get(key) ?? 0) + 1);
  const close = db.close.bind(db);
  let closed = false;
  db.close = () => {
    if (!closed) {
      closed = true;
      const n = (openHere.get(key) ?? 1) - 1;
      if (n > 0) openHere.set(key, n);
      else openHere.delete(key);
    }
    return close();
  };
  return db as unknown as SqliteDb;
};

/**
 * The empty audit database of this build, beside the bundled code (`scripts/bundle.mjs` makes it by migrating a new
 * file). A build made by tsc alone has none: its new files are migrated.
 */
const SEED = fileURLToPath(new URL('./audit-template.db', import.meta.url));

/**
 * Puts a copy of `seed` (this build's: {@link SEED}) at `file` when neither it nor a write-ahead log of it exists (see PlatformDeps.seedSqlite).
 * The copy is made beside it, flushed to disk, then linked into place: linking fails when another process made the
 * file first, and that file is used instead.
 */
export function seedSqlite(file: string, seed = SEED): boolean {
  if (existsSync(file) || existsSync(`${file}-wal`) || !existsSync(seed)) return false;
  const copy = `${file}.seed-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    copyFileSync(seed, copy);
    const fd = openSync(copy, 'r+');
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(copy, file);
    return true;
  } catch {
    // No room, no such folder, or made by another process first: opening the file says what is wrong, if anything.
    return false;
  } finally {
    rmSync(copy, { force: true });
  }
}

/**
 * A read-only handle that can read. A WAL database needs its `-shm` index to be read, and SQLite cannot create it in a
 * folder it may not write (`SQLITE_READONLY_DIRECTORY`). With no `-wal` file beside it, every committed page is in the
 * database file itself, so an in-memory copy of the file (its header switched to the rollback journal) reads the same.
 * The copy costs the file's size in memory, only in that case.
 */
function readableImage(db: Database.Database, file: string): Database.Database {
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!['SQLITE_READONLY_DIRECTORY', 'SQLITE_CANTOPEN'].includes(code) || walBytes(`${file}-wal`) >= 0) {
      db.close();
      throw withStorageErrorsOf(e, file);
    }
    db.close();
  }
  const image = withStorageErrors(file, () => readFileSync(file));
  // Bytes 18 and 19 are the file format's write and read versions: 2 is WAL, 1 the rollback journal.
  if (image.length >= 20 && image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
  return withStorageErrors(file, () => new Database(image, { readonly: true }));
}

const withStorageErrorsOf = (e: unknown, file: string): unknown => {
  try {
    return withStorageErrors(file, () => {
      throw e;
    });
  } catch (typed) {
    return typed;
  }
};
