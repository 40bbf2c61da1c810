import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { storageErrorOf } from '../contracts/index.js';
import type { Redactor } from '../platform/index.js';
import type { AtomicDeps } from '../workspace/index.js';
import { blobPath } from './blobs.js';
import { createStreamRedactor } from './redact-stream.js';

/** A blob written as a stream: what was stored and what was given. */
export interface StreamedBlob {
  /** SHA-256 of the stored (redacted) bytes: the blob's address. */
  readonly hash: string;
  readonly size: number;
  /** SHA-256 and size of the bytes as they were written in, before redaction. */
  readonly rawSha256: string;
  readonly rawSize: number;
  /** Cuts redaction had to make without proof that no secret spans them (see `createStreamRedactor`). */
  readonly forcedCuts: number;
}

/** A content-addressed blob written piece by piece in constant memory: redacted, hashed, then renamed into place. */
export interface BlobStream {
  write(chunk: Uint8Array): void;
  /** Bytes given but not yet on disk: a producer pauses above a limit and waits for `drained()`. */
  readonly backlog: number;
  /** Resolves once the backlog is at most `below` bytes (or the stream failed). */
  drained(below?: number): Promise<void>;
  /** Flushes, syncs and moves the file to its address (an existing blob is kept); a storage failure is typed. */
  end(): Promise<StreamedBlob>;
  /** Stops and removes the temporary file. */
  abort(): Promise<void>;
}

type Handle = Awaited<ReturnType<AtomicDeps['fs']['open']>>;

/**
 * Opens a blob stream under `blobsDir`. Bytes pass through a streaming redactor (when given) before they are hashed
 * and written to a temporary file beside the blobs; `end` renames it to its content address, read-only. On any
 * failure, or `abort`, the temporary file is removed.
 */
export function openBlobStream(deps: AtomicDeps, blobsDir: string, redactor: Redactor | undefined): BlobStream {
  const tmp = join(blobsDir, 'sha256', `stream.tmp-${deps.processInfo.pid}-${deps.random.id('b')}`);
  const raw = createHash('sha256');
  const stored = createHash('sha256');
  let rawSize = 0;
  let size = 0;
  let backlog = 0;
  let failed: unknown = null;
  let handle: Promise<Handle> | null = null;
  let chain: Promise<void> = Promise.resolve();
  let waiters: Array<{ below: number; done: () => void }> = [];
  const open = (): Promise<Handle> =>
    (handle ??= deps.fs.mkdir(dirname(tmp), { recursive: true }).then(() => deps.fs.open(tmp, 'wx', 0o600)));
  const wake = (): void => {
    const ready = waiters.filter((w) => failed !== null || backlog <= w.below);
    waiters = waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.done();
  };
  const out = (b: Buffer): void => {
    stored.update(b);
    size += b.length;
    backlog += b.length;
    chain = chain.then(async () => {
      try {
        if (failed !== null) return;
        const h = await open();
        for (let off = 0; off < b.length;) off += (await h.write(b, off, b.length - off)).bytesWritten;
      } catch (e) {
        failed ??= e;
      } finally {
        backlog -= b.length;
        wake();
      }
    });
  };
  const red = redactor ? createStreamRedactor(redactor, out) : null;
  const cleanup = async (): Promise<void> => {
    await chain;
    if (handle) {
      await (await handle.catch(() => null))?.close().catch(() => undefined);
      await deps.fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  };
  return {
    write(chunk) {
      raw.update(chunk);
      rawSize += chunk.length;
      if (red) red.push(chunk);
      else out(Buffer.from(chunk));
    },
    get backlog() {
      return backlog;
    },
    drained(below = 0) {
      if (failed !== null || backlog <= below) return Promise.resolve();
      return new Promise((done) => waiters.push({ below, done }));
    },
    async end() {
      red?.end();
      await chain;
      try {
        if (failed !== null) throw failed;
        const h = await open();
        try {
          await h.sync();
        } finally {
          await h.close();
        }
        const hash = stored.digest('hex');
        const file = blobPath(blobsDir, hash);
        if (await deps.fs.stat(file).catch(() => undefined)) await deps.fs.rm(tmp, { force: true });
        else {
          await deps.fs.mkdir(dirname(file), { recursive: true });
          await deps.fs.chmod(tmp, 0o444);
          await deps.fs.rename(tmp, file);
        }
        return { hash, size, rawSha256: raw.digest('hex'), rawSize, forcedCuts: red?.forcedCuts ?? 0 };
      } catch (e) {
        failed ??= e;
        await deps.fs.rm(tmp, { force: true }).catch(() => undefined);
        throw storageErrorOf(e, tmp) ?? e;
      }
    },
    async abort() {
      failed ??= new Error('aborted');
      wake();
      await cleanup();
    },
  };
}
