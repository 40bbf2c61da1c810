import { dirname, join } from 'node:path';
import { LockTimeoutError, StorageIoError, storageErrorOf } from '../contracts/index.js';
import { removeAtExit, type Clock, type Fs, type ProcessInfo, type Random, type SmallFs } from '../platform/index.js';
import { isNotFound, readTextIfExists, smallFsOf } from './atomic.js';

export interface LockDeps {
  readonly fs: Fs;
  /** The owners' small files read on the calling thread (see smallFsOf). */
  readonly smallFs?: SmallFs | undefined;
  readonly clock: Clock;
  readonly random: Random;
  readonly processInfo: ProcessInfo;
}

export interface LockOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * A lock whose holder has not taken or released a lock in its folder for this long is broken even if the holder
   * seems alive (default 120 s; locks are held briefly).
   */
  readonly staleMs?: number;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly at: number;
  readonly token: string;
}

/** This process's owner file in one lock folder. */
interface OwnerFile {
  readonly path: string;
  readonly token: string;
}

/** The name of an owner file starts with this, then the pid and a token. */
const OWNER_PREFIX = '.owner-';
/** This process's owner file in each lock folder, by folder (see ownerIn). */
const owners = new Map<string, Promise<OwnerFile>>();

/**
 * This process's owner file in `dir` (its pid, host and a token as JSON), made on first use: every lock the process
 * takes there is a hard link to it, so taking a lock makes no new file. A new file is the costliest thing a lock did:
 * on ext4 without a journal (these machines' disks) about 0.5 ms of kernel time, against 10 µs for a link, and a node
 * takes two or three locks. The file is removed when the process exits; the next process to make its own in the
 * folder removes those that processes killed outright on this host left.
 */
function ownerIn(deps: LockDeps, dir: string): Promise<OwnerFile> {
  const known = owners.get(dir);
  if (known) return known;
  const made = makeOwner(deps, dir);
  owners.set(dir, made);
  made.catch(() => forgetOwner(dir, made));
  return made;
}

function forgetOwner(dir: string, made: Promise<OwnerFile>): void {
  if (owners.get(dir) === made) owners.delete(dir);
}

async function makeOwner(deps: LockDeps, dir: string): Promise<OwnerFile> {
  await deps.fs.mkdir(dir, { recursive: true }).catch((e: unknown) => {
    throw storageErrorOf(e, dir) ?? e;
  });
  await clearDeadOwners(deps, dir).catch(() => undefined); // tidying only
  const { pid, hostname: host } = deps.processInfo;
  const token = deps.random.id('lock');
  const path = join(dir, `${OWNER_PREFIX}${pid}-${token}`);
  const owner: LockOwner = { pid, host, at: deps.clock.now().getTime(), token };
  let handle;
  try {
    handle = await deps.fs.open(path, 'wx');
  } catch (e) {
    throw storageErrorOf(e, path) ?? e;
  }
  try {
    try {
      await handle.writeFile(JSON.stringify(owner));
    } finally {
      await handle.close();
    }
  } catch (e) {
    // An empty owner linked as a lock would make every other process wait for it to go stale.
    await deps.fs.rm(path, { force: true }).catch(() => undefined);
    throw storageErrorOf(e, path) ?? e;
  }
  removeAtExit(path);
  return { path, token };
}

/** Removes the owner files in `dir` of processes on this host that are gone (a lock one was linked as stays). */
async function clearDeadOwners(deps: LockDeps, dir: string): Promise<void> {
  for (const name of await deps.fs.readdir(dir)) {
    if (!name.startsWith(OWNER_PREFIX)) continue;
    const pid = Number(name.slice(OWNER_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === deps.processInfo.pid || deps.processInfo.isAlive(pid)) continue;
    const file = join(dir, name);
    const owner = parseOwner(await readTextIfExists(smallFsOf(deps), file));
    if (owner?.host === deps.processInfo.hostname) await deps.fs.rm(file, { force: true });
  }
}

function parseOwner(text: string | undefined): Partial<LockOwner> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Partial<LockOwner>;
  } catch {
    return undefined;
  }
}

/** Errors of a file system that makes no hard links (some network and FUSE mounts, FAT). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);
/** Lock folders where linking failed so: their locks are files of their own, made with O_EXCL (see tryCreate). */
const unlinkable = new Set<string>();

/**
 * Links the owner file as the lock: true when taken, false when held, 'gone' when the owner file was removed, 'no
 * links' when the file system makes none.
 */
async function tryLink(owner: OwnerFile, deps: LockDeps, path: string): Promise<boolean | 'gone' | 'no links'> {
  try {
    await deps.fs.link(owner.path, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (code === 'ENOENT') return 'gone';
    if (NO_LINKS.has(code)) return 'no links';
    throw storageErrorOf(e, path) ?? e;
  }
}

/** Takes the lock as a file of its own holding the owner (O_EXCL): where the file system makes no hard links. */
async function tryCreate(deps: LockDeps, path: string, owner: OwnerFile): Promise<boolean> {
  let handle;
  try {
    handle = await deps.fs.open(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw storageErrorOf(e, path) ?? e;
  }
  const { pid, hostname: host } = deps.processInfo;
  try {
    try {
      await handle.writeFile(JSON.stringify({ pid, host, at: deps.clock.now().getTime(), token: owner.token }));
    } finally {
      await handle.close();
    }
    return true;
  } catch (e) {
    await deps.fs.rm(path, { force: true }).catch(() => undefined);
    throw storageErrorOf(e, path) ?? e;
  }
}

/**
 * How long ago `path` last changed, by the kernel's clock: against the change time of our own owner file, touched
 * now (no clock of the process, real or a test's, sets either).
 */
async function changedAgo(deps: LockDeps, path: string, ours: OwnerFile): Promise<number | null> {
  const now = deps.clock.now();
  await deps.fs.utimes(ours.path, now, now).catch(() => undefined);
  const [it, mine] = await Promise.all([
    deps.fs.lstat(path).catch(() => undefined),
    deps.fs.lstat(ours.path).catch(() => undefined),
  ]);
  return it === undefined || mine === undefined ? null : mine.ctimeMs - it.ctimeMs;
}

async function isStale(deps: LockDeps, path: string, staleMs: number, ours: OwnerFile): Promise<boolean> {
  const text = await readTextIfExists(smallFsOf(deps), path);
  if (text === undefined) return false;
  // The lock's change time is when it, or another lock of its owner's in the folder, was last taken or released.
  const age = await changedAgo(deps, path, ours);
  if (age === null) return false;
  const owner = parseOwner(text);
  // An empty lock: created but not yet written by a process of an earlier version, or left so by a crash.
  if (!owner || typeof owner.pid !== 'number') return age > 2_000;
  if (owner.host === deps.processInfo.hostname && !deps.processInfo.isAlive(owner.pid)) return true;
  return age > staleMs;
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
 * Runs `fn` while holding an exclusive lock file: a hard link to this process's owner file in the lock's folder (see
 * ownerIn), which fails when the lock exists; where the file system makes no hard links, a file of its own made with
 * O_EXCL. Works across processes on one host; a lock left by a dead process is broken. The lock is released even
 * when `fn` throws.
 */
export async function withLock<T>(deps: LockDeps, path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 120_000;
  const dir = dirname(path);
  const started = deps.clock.now().getTime();
  let wait = 2;
  let owner: OwnerFile;
  let remade = 0;
  for (;;) {
    const made = ownerIn(deps, dir);
    owner = await made;
    const taken = unlinkable.has(dir) ? await tryCreate(deps, path, owner) : await tryLink(owner, deps, path);
    if (taken === true) break;
    if (taken === 'no links') {
      unlinkable.add(dir);
      continue;
    }
    if (taken === 'gone') {
      // The owner file (or the whole folder) was removed under us: made again, a few times at most.
      forgetOwner(dir, made);
      if (++remade > 3) throw new StorageIoError(path, `the lock's owner file ${owner.path} keeps vanishing`);
      continue;
    }
    if (await isStale(deps, path, staleMs, owner)) {
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
    const text = await readTextIfExists(smallFsOf(deps), path);
    if (text?.includes(owner.token)) await deps.fs.rm(path, { force: true });
  }
}
