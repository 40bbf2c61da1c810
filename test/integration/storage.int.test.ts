import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuditLog, ROW_BLOB_MAX } from '../../src/audit/index.js';
import { nodePlatform, type AtomicFs, type Fs } from '../../src/platform/index.js';
import { allWritten, withLock, writeFileAtomic } from '../../src/workspace/index.js';
import { REPO_ROOT } from '../helpers/cli.js';

// Storage faults on real files and databases: a lost write-ahead log, and disk-full errors injected through the
// platform fs port (the e2e test uses a real 2 MB tmpfs where it can mount one).

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-storage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const platform = nodePlatform();
const enospc = (): NodeJS.ErrnoException =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });

/** The real fs, except that writes through an open handle fail as on a full disk. */
function fullDiskFs(): Fs {
  const fs = platform.fs;
  return {
    ...fs,
    open: (async (...args: Parameters<Fs['open']>) => {
      const handle = await fs.open(...args);
      return Object.assign(handle, {
        writeFile: async () => {
          throw enospc();
        },
      });
    }) as Fs['open'],
  };
}

/** The real atomic-write calls, except that writing a new file fails as on a full disk, once the file is made. */
function fullDiskAtomicFs(): AtomicFs {
  const atomic = platform.atomicFs as AtomicFs;
  return {
    ...atomic,
    writeNew: async (path, _data, mode) => {
      await atomic.writeNew(path, '', mode);
      throw enospc();
    },
  };
}

/** A full disk for every way a file is written: through open handles and through the atomic-write calls. */
const fullDisk = () => ({ ...platform, fs: fullDiskFs(), atomicFs: fullDiskAtomicFs() });

/** Runs the audit writer fixture until it committed `n` events, then SIGKILLs it. */
async function killWriterAfter(file: string, n: number): Promise<number[]> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'test', 'fixtures', 'audit-writer.mjs'), file, join(dir, 'blobs')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const committed: number[] = [];
  let buf = '';
  await new Promise<void>((done) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l) committed.push(Number(l));
      if (committed.length >= n && !child.killed) {
        child.kill('SIGKILL');
        done();
      }
    });
  });
  await new Promise((r) => child.once('exit', r));
  return committed;
}

describe('storage faults', () => {
  it('refuses an audit DB whose WAL was deleted after a kill (MSO_AUDIT_WAL_LOST), and opens it with the WAL back', async () => {
    const file = join(dir, 'audit.db');
    const open = () => openAuditLog(platform, { file, blobsDir: join(dir, 'blobs') });
    open().close();
    // Few enough commits that SQLite has not checkpointed yet (it does at 1,000 WAL pages): the log holds them all.
    const committed = await killWriterAfter(file, 50);
    await copyFile(`${file}-wal`, join(dir, 'saved-wal'));
    await rm(`${file}-wal`);
    expect(() => open()).toThrow(expect.objectContaining({ code: 'MSO_AUDIT_WAL_LOST', path: file }));
    // A WAL cut short is the same loss.
    await writeFile(`${file}-wal`, Buffer.alloc(100));
    expect(() => open()).toThrow(expect.objectContaining({ code: 'MSO_AUDIT_WAL_LOST' }));
    await copyFile(join(dir, 'saved-wal'), `${file}-wal`);
    const log = open();
    try {
      const n = (log.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      expect(n).toBeGreaterThanOrEqual(committed.length);
    } finally {
      log.close();
    }
  });

  it.skipIf(!existsSync('/proc/locks'))(
    "keeps SQLite's locks on the WAL index when the same process opens the log again (the WAL check reads no index then)",
    () => {
      const file = join(dir, 'audit.db');
      const open = () => openAuditLog(platform, { file, blobsDir: join(dir, 'blobs') });
      /** This process's POSIX locks on the -shm index, from /proc/locks (pid and device:inode per lock). */
      const shmLocks = (): number => {
        const inode = statSync(`${file}-shm`).ino;
        return readFileSync('/proc/locks', 'utf8')
          .split('\n')
          .filter((l) => / POSIX /.test(l))
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f[4] === String(process.pid) && f[5]?.split(':')[2] === String(inode)).length;
      };
      const first = open();
      try {
        first.appendEvent({ runId: '20261127-msoal-locks', type: 'tick', payload: {} });
        const held = shmLocks();
        // SQLite holds at least its shared lock on the index while the connection is open.
        expect(held).toBeGreaterThan(0);
        // A second open in the same process (the engine opens the log for reads beside its writer) must not close a
        // descriptor of the index: that would drop every lock above, and another process could reset the index.
        const second = open();
        try {
          expect(shmLocks()).toBeGreaterThanOrEqual(held);
        } finally {
          second.close();
        }
        expect(shmLocks()).toBeGreaterThan(0);
      } finally {
        first.close();
      }
    },
  );

  it('does not mistake another process closing the log for a lost WAL (4 processes open, write and close at once)', async () => {
    const file = join(dir, 'audit.db');
    openAuditLog(platform, { file, blobsDir: join(dir, 'blobs') }).close();
    const churn = (tag: string) =>
      new Promise<{ committed: number; errors: Record<string, number> }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [join(REPO_ROOT, 'test', 'fixtures', 'audit-churn.mjs'), file, join(dir, 'blobs'), '150', tag],
          { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PAD: '4000' } },
        );
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.once('error', reject);
        child.once('exit', () => resolve(JSON.parse(out)));
      });
    const results = await Promise.all(['a', 'b', 'c', 'd'].map(churn));
    expect(results).toEqual(Array(4).fill({ committed: 150, errors: {} }));
    const log = openAuditLog(platform, { file, blobsDir: join(dir, 'blobs') });
    try {
      expect((log.db.prepare("SELECT count(*) AS n FROM events WHERE type = 'tick'").get() as { n: number }).n).toBe(
        600,
      );
    } finally {
      log.close();
    }
  });

  it('opens an audit DB after a kill that left its WAL in place, losing nothing', async () => {
    const file = join(dir, 'audit.db');
    openAuditLog(platform, { file, blobsDir: join(dir, 'blobs') }).close();
    const committed = await killWriterAfter(file, 200);
    const log = openAuditLog(platform, { file, blobsDir: join(dir, 'blobs') });
    const n = (log.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    log.close();
    expect(n).toBeGreaterThanOrEqual(committed.length);
  });

  it('a full disk during an atomic write is MSO_STORAGE_FULL naming the file, and leaves no temp file', async () => {
    const target = join(dir, 'run', 'manifest.json');
    // Through the atomic-write calls (the platform's), and through `fs` alone (a platform without them).
    for (const deps of [fullDisk(), { ...platform, fs: fullDiskFs(), atomicFs: undefined }]) {
      await expect(writeFileAtomic(deps, target, '{"a":1}\n')).rejects.toMatchObject({
        code: 'MSO_STORAGE_FULL',
        path: target,
      });
      expect(await readdir(join(dir, 'run'))).toEqual([]);
    }
    // Both write the same file, with its mode, into a folder made when missing.
    for (const deps of [platform, { ...platform, atomicFs: undefined }]) {
      const made = join(dir, `made-${deps.atomicFs ? 'quick' : 'fs'}`, 'a.json');
      await writeFileAtomic(deps, made, '{"a":2}\n', { mode: 0o444 });
      expect(await readFile(made, 'utf8')).toBe('{"a":2}\n');
      expect((await stat(made)).mode & 0o777).toBe(0o444);
      await writeFileAtomic(deps, made, '{"a":3}\n', { mode: 0o444 });
      expect(await readFile(made, 'utf8')).toBe('{"a":3}\n');
      expect(await readdir(dirname(made))).toEqual(['a.json']);
    }
    // A large file (a transcript, a patch) goes through the thread pool: the calling thread never writes it.
    const quick: string[] = [];
    const atomic = platform.atomicFs as AtomicFs;
    const spied = {
      ...platform,
      atomicFs: {
        ...atomic,
        writeNew: (p: string, d: string | Uint8Array, m: number) => (quick.push(p), atomic.writeNew(p, d, m)),
      },
    };
    await writeFileAtomic(spied, join(dir, 'small.txt'), 'x'.repeat(1000));
    await writeFileAtomic(spied, join(dir, 'large.txt'), 'x'.repeat(200_000));
    expect(quick.map((p) => basename(p).replace(/\.tmp-.*/, ''))).toEqual(['small.txt']);
    expect((await stat(join(dir, 'large.txt'))).size).toBe(200_000);
    // Not flushed (a mirror's file): the same whole file, on both ways.
    await writeFileAtomic(platform, join(dir, 'small.txt'), 'y'.repeat(1000), { durable: false });
    await writeFileAtomic(platform, join(dir, 'large.txt'), 'y'.repeat(200_000), { durable: false });
    expect(await readFile(join(dir, 'small.txt'), 'utf8')).toBe('y'.repeat(1000));
    expect(await readFile(join(dir, 'large.txt'), 'utf8')).toBe('y'.repeat(200_000));
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('a write the kernel refuses half-way (a file size limit) fails as a full disk on both ways, and leaves nothing', () => {
    // The real calls fail here, not a fake: a child whose file size limit is one block (SIGXFSZ ignored, so write(2)
    // returns EFBIG), writing 4 KB through the platform's atomic-write calls and through fs alone.
    const target = join(dir, 'limited', 'a.json');
    const script = [
      `import { writeFileAtomic } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist/workspace/index.js')).href)};`,
      `import { nodePlatform } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist/platform/index.js')).href)};`,
      'const out = [];',
      'for (const deps of [nodePlatform(), { ...nodePlatform(), atomicFs: undefined }]) {',
      `  await writeFileAtomic(deps, ${JSON.stringify(target)}, 'x'.repeat(4096)).then(() => out.push('written'), (e) => out.push(e.code));`,
      '}',
      'console.log(JSON.stringify(out));',
    ].join('\n');
    const r = spawnSync(
      'sh',
      ['-c', `trap '' XFSZ; ulimit -f 1; exec "$0" --input-type=module -e "$1"`, process.execPath, script],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['MSO_STORAGE_FULL', 'MSO_STORAGE_FULL']);
    expect(existsSync(join(dir, 'limited')) ? readdirSync(join(dir, 'limited')) : []).toEqual([]);
  });

  it('writes made side by side report their first failure only once every one has ended', async () => {
    let slowEnded = false;
    const slow = new Promise((r) => setTimeout(r, 50)).then(() => {
      slowEnded = true;
    });
    const failing = (m: string) => Promise.reject(new Error(m));
    await expect(allWritten([failing('first'), slow, failing('second')])).rejects.toThrow('first');
    expect(slowEnded).toBe(true);
    await expect(allWritten([slow, Promise.resolve(1)])).resolves.toBeUndefined();
  });

  it('a full disk while taking a lock leaves no empty lock behind for others to wait on', async () => {
    const deps = { ...platform, fs: fullDiskFs() };
    const lock = join(dir, 'locks', 'x.lock');
    await expect(withLock(deps, lock, async () => 1)).rejects.toMatchObject({ code: 'MSO_STORAGE_FULL' });
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await withLock(platform, lock, async () => 2)).toBe(2);
  });

  it('a full disk while storing a blob file leaves neither the blob nor a temp file', async () => {
    const file = join(dir, 'audit.db');
    const blobsDir = join(dir, 'blobs');
    const log = openAuditLog(fullDisk(), { file, blobsDir });
    try {
      // Larger than a row keeps: a file of its own.
      await expect(log.putBlob('t'.repeat(ROW_BLOB_MAX + 1))).rejects.toMatchObject({ code: 'MSO_STORAGE_FULL' });
    } finally {
      log.close();
    }
    const left = (await readdir(blobsDir, { recursive: true }).catch(() => [])).map(String);
    expect(left.filter((f) => !f.match(/^sha256(\/[0-9a-f]{2})?$/))).toEqual([]);
  });
});
