import { NotFoundError } from '../contracts/index.js';
import type { PlatformDeps, SqliteDb, SqliteStatement } from '../platform/index.js';
import { blobPath, corruptBlob, inspectBlob, sha256Hex, writeBlob } from './blobs.js';
import type { BlobStream, StreamedBlob } from './blob-stream.js';
import type { Redactor } from './redact.js';

/**
 * The audit log's blobs (transcripts, requests, responses), content-addressed, with a row each in `blobs`. The bytes
 * are in the row (`blobs.data`) on the shared PostgreSQL store, so other machines read them, and on SQLite for a blob
 * of up to {@link ROW_BLOB_MAX} bytes; a larger SQLite blob is a file under `blobsDir`.
 */
export interface BlobStore extends BlobReader {
  /** Stores the bytes (redacted first) and returns their sha256 hex. */
  putBlob(data: string | Uint8Array, mediaType?: string): Promise<string>;
  /** A blob too big to hold in memory, written as a stream (redacted, hashed on the way); recorded when it ends. */
  openBlobStream(mediaType?: string): BlobStream;
}

/** Reads blobs wherever their store keeps them: in their row, or (SQLite) in their file. */
interface BlobReader {
  /** The bytes, verified against the hash (`MSO_BLOB_CORRUPT` when altered, `MSO_NOT_FOUND` when absent). */
  getBlob(hash: string): Promise<Buffer>;
  /** The stored bytes of a blob and whether they still match its hash (for replay, which reports alterations). */
  inspectBlob(hash: string): Promise<{ bytes: Buffer; intact: boolean; path: string }>;
}

/**
 * The largest blob an SQLite store keeps in its row rather than in a file of its own: a node's request and response
 * (about 1 KB each) and most patches. A file per blob cost a new inode, a 4 KiB block and a rename, and most of a
 * run's files were these; a row costs a few hundred bytes of the commit that records the blob anyway. Streamed blobs
 * (an agent's whole output) stay files whatever their size.
 */
export const ROW_BLOB_MAX = 64 * 1024;

export interface BlobStoreOptions {
  readonly db: SqliteDb;
  readonly redactor: Redactor;
  readonly blobsDir: string;
  /** The store as shown in messages (the SQLite file, or the URL without its password). */
  readonly where: string;
  readonly now: () => string;
}

/** Whether the store's `blobs` rows can hold bytes: always on PostgreSQL, on SQLite from migration 007 on. */
const rowBytes = new WeakMap<SqliteDb, boolean>();
function hasRowBytes(db: SqliteDb): boolean {
  if (db.dialect === 'postgres') return true;
  let has = rowBytes.get(db);
  if (has === undefined) {
    // A reader may open a file an older mso wrote and no one has migrated yet: its blobs are all files.
    const cols = db.prepare('PRAGMA table_info(blobs)').all() as Array<{ name: string }>;
    has = cols.some((c) => c.name === 'data');
    rowBytes.set(db, has);
  }
  return has;
}

/** The blob's bytes kept in its row, with whether they still match its hash; undefined when its row holds none. */
function rowBlob(
  db: SqliteDb,
  where: string,
  hash: string,
): { bytes: Buffer; intact: boolean; path: string } | undefined {
  if (!hasRowBytes(db)) return undefined;
  const row = db.prepare('SELECT data FROM blobs WHERE hash = ?').get(hash) as { data: Buffer | null } | undefined;
  if (!row?.data) return undefined;
  const bytes = Buffer.from(row.data);
  return { bytes, intact: sha256Hex(bytes) === hash, path: `${where}#blobs/${hash}` };
}

/**
 * The bytes a blob's row keeps, verified against its hash (`MSO_BLOB_CORRUPT` when altered); undefined when its row
 * keeps none (a file blob of an SQLite store, or no such blob).
 */
export function readRowBlob(db: SqliteDb, where: string, hash: string): Buffer | undefined {
  const b = rowBlob(db, where, hash);
  if (b && !b.intact) throw corruptBlob(hash, b.path);
  return b?.bytes;
}

/**
 * Reads the blobs of an open store (a read-only handle does): from their rows, else (SQLite) from their files under
 * `blobsDir`. `where` names the store in messages.
 */
export function createBlobReader(
  deps: PlatformDeps,
  { db, blobsDir, where }: Pick<BlobStoreOptions, 'db' | 'blobsDir' | 'where'>,
): BlobReader {
  const pg = db.dialect === 'postgres';
  const inspect = async (hash: string): Promise<{ bytes: Buffer; intact: boolean; path: string }> => {
    const inRow = rowBlob(db, where, hash);
    if (inRow) return inRow;
    if (pg) throw new NotFoundError('blob', hash);
    return inspectBlob(deps, blobsDir, hash);
  };
  return {
    async getBlob(hash) {
      const b = await inspect(hash);
      if (!b.intact) throw corruptBlob(hash, b.path);
      return b.bytes;
    },
    inspectBlob: inspect,
  };
}

/** The blob half of the audit log over an open store (see {@link BlobStore}). */
export function createBlobStore(
  deps: PlatformDeps,
  { db, redactor, blobsDir, where, now }: BlobStoreOptions,
): BlobStore {
  const pg = db.dialect === 'postgres';
  // Prepared once each: a run records three blobs a node.
  let withBytes: SqliteStatement | undefined;
  let withoutBytes: SqliteStatement | undefined;
  /** The blob's row, with its bytes (`data`) when they are kept there rather than in a file. */
  const recordRow = (hash: string, size: number, mediaType: string | undefined, data: Buffer | null): void => {
    if (data) {
      withBytes ??= db.prepare(
        'INSERT INTO blobs (hash, size, media_type, created_at, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      );
      withBytes.run(hash, size, mediaType ?? null, now(), data);
    } else {
      withoutBytes ??= db.prepare(
        'INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      );
      withoutBytes.run(hash, size, mediaType ?? null, now());
    }
  };
  return {
    async putBlob(data, mediaType) {
      // Redacted before hashing: a blob's hash is of the bytes stored, so replay can verify them.
      const bytes = redactor.bytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      const inRow = pg || (bytes.length <= ROW_BLOB_MAX && hasRowBytes(db));
      const hash = inRow ? sha256Hex(bytes) : (await writeBlob(deps, blobsDir, bytes)).hash;
      recordRow(hash, bytes.length, mediaType, inRow ? Buffer.from(bytes) : null);
      return hash;
    },
    openBlobStream(mediaType) {
      // Loaded on first use: only a call whose output outgrows its transcript needs it, and start-up stays light.
      const real = import('./blob-stream.js').then((m) => m.openBlobStream(deps, blobsDir, redactor));
      let stream: BlobStream | null = null;
      let early: Uint8Array[] = [];
      let earlyBytes = 0;
      const ready = real.then((st) => {
        stream = st;
        for (const c of early) st.write(c);
        early = [];
        earlyBytes = 0;
        return st;
      });
      return {
        write(chunk) {
          if (stream) stream.write(chunk);
          else {
            early.push(chunk);
            earlyBytes += chunk.length;
          }
        },
        get backlog() {
          return stream ? stream.backlog : earlyBytes;
        },
        drained: async (below) => (await ready).drained(below),
        abort: async () => (await ready).abort(),
        async end(): Promise<StreamedBlob> {
          const b = await (await ready).end();
          // The shared store keeps the bytes itself (other machines read them): the spilled file, as written.
          recordRow(b.hash, b.size, mediaType, pg ? await deps.fs.readFile(blobPath(blobsDir, b.hash)) : null);
          return b;
        },
      };
    },
    ...createBlobReader(deps, { db, blobsDir, where }),
  };
}
