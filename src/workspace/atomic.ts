import { dirname } from 'node:path';
import type { z } from 'zod';
import { InvalidArtifactError, NotFoundError, parseArtifact } from '../contracts/index.js';
import type { Fs, ProcessInfo, Random } from '../platform/index.js';

export interface AtomicDeps {
  readonly fs: Fs;
  readonly random: Random;
  readonly processInfo: ProcessInfo;
}

/**
 * Writes a file so readers see the old content or the new, never a mix: temp file in the same folder, fsync,
 * rename. `mode` 0o444 makes the result read-only (rename still replaces it, since that needs only the folder).
 */
export async function writeFileAtomic(
  deps: AtomicDeps,
  path: string,
  data: string | Uint8Array,
  options: { readonly mode?: number } = {},
): Promise<void> {
  await deps.fs.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${deps.processInfo.pid}-${deps.random.id('w')}`;
  const handle = await deps.fs.open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await deps.fs.rename(tmp, path);
  } catch (e) {
    await deps.fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Writes pretty JSON atomically, with a final newline. */
export async function writeJsonAtomic(deps: AtomicDeps, path: string, value: unknown, options: { readonly mode?: number } = {}): Promise<void> {
  await writeFileAtomic(deps, path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** True when the error is a missing-file error. */
export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Reads a file, or returns undefined when it does not exist. */
export async function readTextIfExists(fs: Fs, path: string): Promise<string | undefined> {
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
export async function readJsonArtifact<S extends z.ZodType>(fs: Fs, path: string, schema: S, what: string): Promise<z.output<S>> {
  const text = await readTextIfExists(fs, path);
  if (text === undefined) throw new NotFoundError(what, path);
  return parseArtifact(schema, parseJsonText(text, path), path);
}
