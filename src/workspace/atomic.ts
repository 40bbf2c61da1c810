import { dirname } from 'node:path';
import type { z } from 'zod';
import { InvalidArtifactError, NotFoundError, parseArtifact, storageErrorOf } from '../contracts/index.js';
import type { AtomicFs, Fs, ProcessInfo, Random, Redactor, SmallFs } from '../platform/index.js';

export interface AtomicDeps {
  readonly fs: Fs;
  /** The same write with fewer thread-pool round trips (see AtomicFs); absent, `fs` makes it. */
  readonly atomicFs?: AtomicFs | undefined;
  /** Small files read on the calling thread (see smallFsOf); absent, `fs` reads them. */
  readonly smallFs?: SmallFs | undefined;
  readonly random: Random;
  readonly processInfo: ProcessInfo;
  /** Secrets are removed from every text written (see `WriteOptions.verbatim`). */
  readonly redactor?: Redactor | undefined;
}

export interface WriteOptions {
  readonly mode?: number;
  /**
   * Write the bytes exactly as given, without redaction: for data already redacted and hashed (blobs) and for the
   * user's own configuration, whose listed secret values must survive a rewrite (policy.yaml).
   */
  readonly verbatim?: boolean;
  /**
   * false: not flushed to the disk before the rename (still atomic for readers; after a power loss the file may be
   * empty or old). For files made again from the record at will: the observation workspace's mirror.
   */
  readonly durable?: boolean;
}

/**
 * Writes a file so readers see the old content or the new, never a mix: temp file in the same folder, fsync (unless
 * `durable` is false), rename. `mode` 0o444 makes the result read-only (rename still replaces it, since that needs
 * only the folder). Text passes through the redactor first. On any failure (disk full, read-only folder) the temp file
 * is removed.
 */
export async function writeFileAtomic(
  deps: AtomicDeps,
  path: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  const r = options.verbatim ? undefined : deps.redactor;
  const bytes = r === undefined ? data : typeof data === 'string' ? r.text(data) : r.bytes(data);
  const tmp = `${path}.tmp-${deps.processInfo.pid}-${deps.random.id('w')}`;
  const mode = options.mode ?? 0o644;
  // A large file (a transcript, a patch) is written through the thread pool: the calling thread never waits on it.
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length;
  const quick = size <= QUICK_MAX_BYTES ? deps.atomicFs : undefined;
  // The folder is made only when it is missing: most writes go to one that exists (one round trip less).
  const inFolder = <T>(make: () => Promise<T>): Promise<T> =>
    make().catch(async (e: unknown) => {
      if (!isNotFound(e)) throw e;
      await deps.fs.mkdir(dirname(path), { recursive: true });
      return make();
    });
  if (quick) {
    try {
      await inFolder(() => quick.writeNew(tmp, bytes, mode, options.durable !== false));
      await quick.rename(tmp, path);
    } catch (e) {
      // Whether or not the temp file was made: its name is this write's own.
      await deps.fs.rm(tmp, { force: true }).catch(() => undefined);
      throw storageErrorOf(e, path) ?? e;
    }
    return;
  }
  let created = false;
  try {
    const handle = await inFolder(() => deps.fs.open(tmp, 'wx', mode));
    created = true;
    try {
      await handle.writeFile(bytes);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await deps.fs.rename(tmp, path);
  } catch (e) {
    if (created) await deps.fs.rm(tmp, { force: true }).catch(() => undefined);
    throw storageErrorOf(e, path) ?? e;
  }
}

/**
 * Awaits writes made side by side: when any failed, the first failure is thrown once every one has ended, so none is
 * left running behind the caller's error handling.
 */
export async function allWritten(writes: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** The largest file written through AtomicFs (see writeFileAtomic). */
const QUICK_MAX_BYTES = 64 * 1024;

/** Writes pretty JSON atomically, with a final newline; secrets are removed and the result stays valid JSON. */
export async function writeJsonAtomic(deps: AtomicDeps, path: string, value: unknown, options: WriteOptions = {}): Promise<void> {
  const text = options.verbatim || !deps.redactor ? JSON.stringify(value, null, 2) : deps.redactor.json(value, 2);
  await writeFileAtomic(deps, path, `${text}\n`, { ...options, verbatim: true });
}

/** True when the error is a missing-file error. */
export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * The calls for the workspace's small files and folders (a manifest, a ticket, a lock's owner, a design artifact, a
 * run's stats and folders): the platform's on the calling thread when it has them (a read through `fs` is four
 * thread-pool round trips: open, stat, read, close), else `fs`.
 */
export const smallFsOf = (deps: { readonly fs: Fs; readonly smallFs?: SmallFs | undefined }): SmallFs =>
  deps.smallFs ?? deps.fs;

/** Reads a file, or returns undefined when it does not exist. */
export async function readTextIfExists(fs: Pick<Fs, 'readFile'>, path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Parses JSON text, naming the file when it is not JSON. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InvalidArtifactError(file, [{ path: '(root)', message: `not valid JSON: ${(e as Error).message}` }]);
  }
}

/** Reads and validates a JSON artifact; a missing file is `NotFoundError`, a bad one `InvalidArtifactError`. */
export async function readJsonArtifact<S extends z.ZodType>(
  fs: Pick<Fs, 'readFile'>,
  path: string,
  schema: S,
  what: string,
): Promise<z.output<S>> {
  const text = await readTextIfExists(fs, path);
  if (text === undefined) throw new NotFoundError(what, path);
  const seen = checked.get(path);
  // The same text checked by the same schema: a copy of what it gave (a caller may change its own).
  if (seen?.text === text && seen.schema === schema) return structuredClone(seen.value) as z.output<S>;
  const value = parseArtifact(schema, parseJsonText(text, path), path);
  checked.delete(path);
  checked.set(path, { text, schema, value: structuredClone(value) });
  // The oldest goes past the bound: a long-lived process (the MCP server, the dashboard) reads many runs.
  if (checked.size > CHECKED_MAX) checked.delete(checked.keys().next().value as string);
  return value;
}

/**
 * The last text of each artifact read, with the schema it was checked against and the result: a run reads its plan,
 * topology and manifest again and again (the gate, the tickets, the engine, each manifest update), and checking them
 * was most of a read's cost. The last {@link CHECKED_MAX} files read are kept.
 */
const CHECKED_MAX = 32;
const checked = new Map<string, { readonly text: string; readonly schema: z.ZodType; readonly value: unknown }>();
