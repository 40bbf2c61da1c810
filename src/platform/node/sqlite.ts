import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { AuditWalLostError, withStorageErrors } from '../../contracts/index.js';
import type { OpenSqlite, SqliteDb } from '../ports.js';

const WAL_INDEX_VERSION = 3007000;
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * Pages committed to the write-ahead log but not yet copied into the database, as the shared-memory index
 * (`-shm`) records them; 0 when the index is absent, uninitialized or unreadable.
 * Layout (sqlite.org/walformat.html): two copies of the 48-byte index header (iVersion u32, unused u32, iChange u32,
 * isInit u8, bigEndCksum u8, szPage u16, mxFrame u32, ...), then the checkpoint info whose first field is nBackfill.
 */
function unsavedWalPages(shm: string): { pages: number; pageSize: number } {
  const buf = Buffer.alloc(100);
  let fd: number | undefined;
  try {
    fd = openSync(shm, 'r');
    if (readSync(fd, buf, 0, buf.length, 0) < buf.length) return { pages: 0, pageSize: 0 };
  } catch {
    return { pages: 0, pageSize: 0 };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // The index is in the machine's native byte order.
  const le = endianness() === 'LE';
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  // A header whose two copies differ is being rewritten by a live writer right now: not evidence of a loss.
  if (u32(0) !== WAL_INDEX_VERSION || buf[12] !== 1 || !buf.subarray(0, 48).equals(buf.subarray(48, 96)))
    return { pages: 0, pageSize: 0 };
  const rawSize = u16(14);
  const pageSize = rawSize === 1 ? 65536 : rawSize;
  const mxFrame = u32(16);
  const nBackfill = u32(96);
  return { pages: Math.max(0, mxFrame - nBackfill), pageSize };
}

/**
 * Refuses a database whose write-ahead log was deleted (or cut short) while its index still records committed
 * pages: SQLite would open it without complaint and those transactions would be gone.
 */
function assertWalIntact(file: string): void {
  const shm = `${file}-shm`;
  if (!existsSync(shm)) return;
  const { pages, pageSize } = unsavedWalPages(shm);
  if (pages === 0) return;
  const wal = `${file}-wal`;
  const walSize = existsSync(wal) ? statSync(wal).size : -1;
  const needed = WAL_HEADER_BYTES + pages * (WAL_FRAME_HEADER_BYTES + pageSize);
  if (walSize < 0 || walSize < needed) throw new AuditWalLostError(file, pages);
}

/**
 * Opens an SQLite file through better-sqlite3 (N-API prebuilds, no compile step). A missing or truncated WAL with
 * committed pages is `MSO_AUDIT_WAL_LOST`; read-only, full or damaged storage becomes its storage error.
 */
export const openSqlite: OpenSqlite = (file, options = {}) => {
  assertWalIntact(file);
  const db = withStorageErrors(
    file,
    () => new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false }),
  );
  return db as unknown as SqliteDb;
};
