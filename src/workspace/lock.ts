import { dirname } from 'node:path';
import { LockTimeoutError, storageErrorOf } from '../contracts/index.js';
import type { Clock, Fs, ProcessInfo, Random } from '../platform/index.js';
import { isNotFound, readTextIfExists } from './atomic.js';

export interface LockDeps {
  readonly fs: Fs;
  readonly clock: Clock;
  readonly random: Random;
  readonly processInfo: ProcessInfo;
}

export interface LockOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** A lock older than this is broken even if its holder seems alive (default 120 s; locks are held briefly). */
  readonly staleMs?: number;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly at: number;
  readonly token: string;
}

async function tryCreate(deps: LockDeps, path: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await deps.fs.open(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storageErrorOf(e, path) ?? e;
  }
  try {
    try {
      await handle.writeFile(JSON.stringify(owner));
    } finally {
      await handle.close();
    }
    return true;
  } catch (e) {
    // An empty lock (disk full) would make every other process wait for it to go stale.
    await deps.fs.rm(path, { force: true }).catch(() => undefined);
    throw storageErrorOf(e, path) ?? e;
  }
}

async function isStale(deps: LockDeps, path: string, staleMs: number): Promise<boolean> {
  const text = await readTextIfExists(deps.fs, path);
  if (text === undefined) return false;
  const now = deps.clock.now().getTime();
  let owner: Partial<LockOwner> | undefined;
  try {
    owner = JSON.parse(text) as Partial<LockOwner>;
  } catch {
    owner = undefined;
  }
  if (!owner || typeof owner.pid !== 'number') {
    // Created but not yet written by its owner, or left empty by a crash between open and write.
    const st = await deps.fs.stat(path).catch(() => undefined);
    return st !== undefined && now - st.mtimeMs > 2_000;
  }
  if (owner.host === deps.processInfo.hostname && !deps.processInfo.isAlive(owner.pid)) return true;
  return typeof owner.at === 'number' && now - owner.at > staleMs;
}

async function breakLock(deps: LockDeps, path: string): Promise<void> {
  // Rename first: of several processes that judged the lock stale, exactly one wins the rename.
  const aside = `${path}.stale-${deps.random.id('x')}`;
  try {
    await deps.fs.rename(path, aside);
    await deps.fs.rm(aside, { force: true });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * Runs `fn` while holding an exclusive lock file (O_EXCL create). Works across processes on one host; a lock left
 * by a dead process is broken. The lock is released even when `fn` throws.
 */
export async function withLock<T>(deps: LockDeps, path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 120_000;
  await deps.fs.mkdir(dirname(path), { recursive: true }).catch((e: unknown) => {
    throw storageErrorOf(e, dirname(path)) ?? e;
  });
  const owner: LockOwner = {
    pid: deps.processInfo.pid,
    host: deps.processInfo.hostname,
    at: deps.clock.now().getTime(),
    token: deps.random.id('lock'),
  };
  const started = deps.clock.now().getTime();
  let wait = 2;
  while (!(await tryCreate(deps, path, { ...owner, at: deps.clock.now().getTime() }))) {
    if (await isStale(deps, path, staleMs)) {
      await breakLock(deps, path);
      continue;
    }
    const waited = deps.clock.now().getTime() - started;
    if (waited >= timeoutMs) throw new LockTimeoutError(path, waited);
    await deps.clock.sleep(wait + deps.random.int(wait + 1));
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    const text = await readTextIfExists(deps.fs, path);
    if (text?.includes(owner.token)) await deps.fs.rm(path, { force: true });
  }
}
