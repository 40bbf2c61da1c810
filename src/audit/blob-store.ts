import { BlobCorruptError, NotFoundError } from '../contracts/index.js';
import type { PlatformDeps, SqliteDb } from '../platform/index.js';
import { blobPath, inspectBlob, readBlob, sha256Hex, writeBlob } from './blobs.js';
import type { BlobStream, StreamedBlob } from './blob-stream.js';
import type { Redactor } from './redact.js';

/**
 * The audit log's blobs (transcripts, requests, responses): content-addressed files under `blobsDir` with a row in
 * `blobs` on SQLite; on the shared PostgreSQL store the bytes themselves, in `blobs.data`, so other machines read them.
 */
export interface BlobStore {
  /** Stores the bytes (redacted first) and returns their sha256 hex. */
  putBlob(data: string | Uint8Array, mediaType?: string): Promise<string>;
  /** A blob too big to hold in memory, written as a stream (redacted, hashed on the way); recorded when it ends. */
  openBlobStream(mediaType?: string): BlobStream;
  /** The bytes, verified against the hash (`MSO_BLOB_CORRUPT` when altered). */
  getBlob(hash: string): Promise<Buffer>;
  /** The stored bytes of a blob and whether they still match its hash (for replay, which reports alterations). */
  inspectBlob(hash: string): Promise<{ bytes: Buffer; intact: boolean; path: string }>;
}

export interface BlobStoreOptions {
  readonly db: SqliteDb;
  readonly redactor: Redactor;
  readonly blobsDir: string;
  /** The store as shown in messages (the SQLite file, or the URL without its password). */
  readonly where: string;
  readonly now: () => string;
}

/**
 * A blob whose bytes the shared (PostgreSQL) store keeps, verified against its hash: `MSO_NOT_FOUND` when absent,
 * `MSO_BLOB_CORRUPT` when altered. For readers that hold only the database handle.
 */
export function readStoredBlob(db: SqliteDb, hash: string): Buffer {
  return verifiedBlob(db, db.name, hash);
}

function verifiedBlob(db: SqliteDb, where: string, hash: string): Buffer {
  const b = storedBlob(db, where, hash);
  if (!b.intact) throw new BlobCorruptError(hash, null, 'its bytes no longer match its sha256 (edited)', b.path);
  return b.bytes;
}

/** A blob kept in the PostgreSQL store, with whether its bytes still match its hash. */
function storedBlob(db: SqliteDb, where: string, hash: string): { bytes: Buffer; intact: boolean; path: string } {
  const row = db.prepare('SELECT data FROM blobs WHERE hash = ?').get(hash) as { data: Buffer | null } | undefined;
  if (!row?.data) throw new NotFoundError('blob', hash);
  const bytes = Buffer.from(row.data);
  return { bytes, intact: sha256Hex(bytes) === hash, path: `${where}#blobs/${hash}` };
}

/** The blob half of the audit log over an open store (see {@link BlobStore}). */
export function createBlobStore(
  deps: PlatformDeps,
  { db, redactor, blobsDir, where, now }: BlobStoreOptions,
): BlobStore {
  const pg = db.dialect === 'postgres';
  /** The blob's row; on PostgreSQL with its bytes (`data`), which the SQLite store keeps as a file instead. */
  const recordRow = (hash: string, size: number, mediaType: string | undefined, data: Buffer | null): void => {
    if (data) {
      db.prepare(
        'INSERT INTO blobs (hash, size, media_type, created_at, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      ).run(hash, size, mediaType ?? null, now(), data);
    } else {
      db.prepare(
        'INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      ).run(hash, size, mediaType ?? null, now());
    }
  };
  return {
    async putBlob(data, mediaType) {
      // Redacted before hashing: a blob's hash is of the bytes stored, so replay can verify them.
      const bytes = redactor.bytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      const hash = pg ? sha256Hex(bytes) : (await writeBlob(deps, blobsDir, bytes)).hash;
      recordRow(hash, bytes.length, mediaType, pg ? Buffer.from(bytes) : null);
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
    getBlob: async (hash) => (pg ? verifiedBlob(db, where, hash) : readBlob(deps, blobsDir, hash)),
    inspectBlob: async (hash) => (pg ? storedBlob(db, where, hash) : inspectBlob(deps, blobsDir, hash)),
  };
}
