import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BlobCorruptError, NotFoundError } from '../contracts/index.js';
import { writeFileAtomic, type AtomicDeps } from '../workspace/index.js';

/** Where a blob with this sha256 lives: `<blobsDir>/sha256/ab/cdef...`. */
export function blobPath(blobsDir: string, hash: string): string {
  return join(blobsDir, 'sha256', hash.slice(0, 2), hash.slice(2));
}

/** sha256 hex of bytes or UTF-8 text. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes a content-addressed blob once (an existing blob is never rewritten) and returns its hash. */
export async function writeBlob(
  deps: AtomicDeps,
  blobsDir: string,
  data: Uint8Array,
): Promise<{ hash: string; created: boolean }> {
  const hash = sha256Hex(data);
  const file = blobPath(blobsDir, hash);
  if (await deps.fs.stat(file).catch(() => undefined)) return { hash, created: false };
  await writeFileAtomic(deps, file, data, { mode: 0o444, verbatim: true });
  return { hash, created: true };
}

/** Reads a blob as stored, saying whether its bytes still match its hash (an altered record reads as not intact). */
export async function inspectBlob(
  deps: AtomicDeps,
  blobsDir: string,
  hash: string,
): Promise<{ bytes: Buffer; intact: boolean; path: string }> {
  const path = blobPath(blobsDir, hash);
  const bytes = await deps.fs.readFile(path).catch(() => {
    throw new NotFoundError('blob', hash);
  });
  return { bytes, intact: sha256Hex(bytes) === hash, path };
}

/** The error for a blob whose stored bytes no longer match its hash; `path` says where it is stored. */
export const corruptBlob = (hash: string, path: string): BlobCorruptError =>
  new BlobCorruptError(hash, null, 'its bytes no longer match its sha256 (edited or truncated)', path);

/** Reads a file in 1 MB pieces (constant memory, whatever its size). */
async function* pieces(deps: Pick<AtomicDeps, 'fs'>, path: string): AsyncGenerator<Buffer> {
  const h = await deps.fs.open(path, 'r');
  try {
    const buf = Buffer.alloc(1024 * 1024);
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  } finally {
    await h.close();
  }
}

/**
 * A blob too big to read whole (an agent's full output): its whole hash is checked first, in pieces, then `chunks()`
 * reads it again piece by piece. An altered or cut blob is `MSO_BLOB_CORRUPT`, a missing one `MSO_NOT_FOUND`.
 */
export async function streamBlob(
  deps: Pick<AtomicDeps, 'fs'>,
  blobsDir: string,
  hash: string,
): Promise<{ path: string; size: number; chunks(): AsyncGenerator<Buffer> }> {
  const path = blobPath(blobsDir, hash);
  const st = await deps.fs.stat(path).catch(() => {
    throw new NotFoundError('blob', hash);
  });
  const h = createHash('sha256');
  for await (const p of pieces(deps, path)) h.update(p);
  if (h.digest('hex') !== hash) throw corruptBlob(hash, path);
  return { path, size: st.size, chunks: () => pieces(deps, path) };
}
