import * as fs from 'node:fs';
import type { AtomicFs, SmallFs } from '../ports.js';

/** `fn(...args)` run now, as a settled promise. */
const now =
  <A extends unknown[], R>(fn: (...args: A) => R) =>
  (...args: A): Promise<R> => {
    try {
      return Promise.resolve(fn(...args));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  };

/**
 * `SmallFs` on the calling thread (node's synchronous calls behind the promise signatures). A worktree is about fifteen
 * such calls in a row on small files and folders; through the thread pool each is a round trip of 0.3–1 ms under
 * load on these machines around a call of tens of microseconds, and the next node of a chain waits for its worktree
 * (measured: a 30-node chain 7% faster, a 42-node fan-out 4%). The trade: the event loop waits for the disk during
 * those calls, up to a millisecond for a new file on a disk that is slow to make one. Its callers keep it to files
 * that stay small (a worktree's administrative files, a run's manifest, tickets, lock owners and design artifacts:
 * see smallFsOf); never for transcripts, patches or blobs, and never for an fsync.
 */
export const smallFs: SmallFs = {
  readdir: now(fs.readdirSync) as unknown as SmallFs['readdir'],
  mkdir: now(fs.mkdirSync) as unknown as SmallFs['mkdir'],
  realpath: now(fs.realpathSync) as unknown as SmallFs['realpath'],
  writeFile: now(fs.writeFileSync) as unknown as SmallFs['writeFile'],
  readFile: now(fs.readFileSync) as unknown as SmallFs['readFile'],
  rm: now(fs.rmSync) as unknown as SmallFs['rm'],
  stat: now(fs.statSync) as unknown as SmallFs['stat'],
};

/**
 * `AtomicFs` with every call but the fsync on the calling thread: creating, writing and closing a small file and
 * renaming it are tens of microseconds each, and a round trip through the thread pool is worth more (several per node
 * of a run: its tickets, its transcripts). The fsync, which waits for the disk, stays in the thread pool.
 */
export const atomicFs: AtomicFs = {
  writeNew(path, data, mode, sync = true) {
    let fd: number;
    try {
      fd = fs.openSync(path, 'wx', mode);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    try {
      fs.writeFileSync(fd, data);
    } catch (e) {
      // The write's error is the one to report (a full disk), not the close's.
      try {
        fs.closeSync(fd);
      } catch {
        // The descriptor is gone either way.
      }
      return Promise.reject(e as Error);
    }
    if (!sync) {
      try {
        fs.closeSync(fd);
      } catch (e) {
        return Promise.reject(e as Error);
      }
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      fs.fsync(fd, (synced) => {
        let failed: Error | null = synced;
        try {
          fs.closeSync(fd);
        } catch (e) {
          failed ??= e as Error;
        }
        if (failed) reject(failed);
        else resolve();
      }),
    );
  },
  rename: now(fs.renameSync),
};
