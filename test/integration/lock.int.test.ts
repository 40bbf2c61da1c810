import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform } from '../../src/platform/index.js';
import { withLock } from '../../src/workspace/index.js';
import { REPO_ROOT } from '../helpers/cli.js';

const platform = nodePlatform();
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const run = (args: readonly string[]): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });

describe('withLock', () => {
  it('takes every lock of a folder as a link to one owner file of the process, and removes that file at exit', async () => {
    const locks = join(dir, 'locks');
    const inodes: number[] = [];
    for (const name of ['a', 'b', 'a'])
      await withLock(platform, join(locks, `${name}.lock`), async () => {
        inodes.push((await lstat(join(locks, `${name}.lock`))).ino);
      });
    const [owner, ...others] = (await readdir(locks)).filter((n) => n.startsWith('.owner-'));
    expect(others).toEqual([]);
    expect(new Set([...inodes, (await stat(join(locks, owner as string))).ino]).size).toBe(1);
    expect(JSON.parse(await readFile(join(locks, owner as string), 'utf8'))).toMatchObject({ pid: process.pid });
    // Released: only the owner file is left while the process lives.
    expect(await readdir(locks)).toEqual([owner]);
    // A process that ends leaves nothing; one killed outright leaves its owner file, which the next one clears.
    const fixture = join(REPO_ROOT, 'test/fixtures/lock-counter.mjs');
    expect(await run([fixture, dir, '3'])).toEqual({ code: 0, out: 'done\n' });
    expect(await readdir(locks)).toEqual([owner]);
    await writeFile(
      join(locks, '.owner-999999999-lock-x'),
      JSON.stringify({ pid: 999999999, host: platform.processInfo.hostname }),
    );
    expect(await run([fixture, dir, '1'])).toEqual({ code: 0, out: 'done\n' });
    expect(await readdir(locks)).toEqual([owner]);
  });

  it('makes the owner file again when it was removed under the process', async () => {
    const locks = join(dir, 'locks');
    await withLock(platform, join(locks, 'x.lock'), async () => undefined);
    await rm(locks, { recursive: true });
    expect(await withLock(platform, join(locks, 'x.lock'), async () => 7)).toBe(7);
    expect((await readdir(locks)).filter((n) => n.startsWith('.owner-'))).toHaveLength(1);
  });

  it('breaks a lock of another host once it has not changed for staleMs, and waits for it before', async () => {
    const lock = join(dir, 'locks', 'x.lock');
    await mkdir(join(dir, 'locks'), { recursive: true });
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'another-host', at: 0, token: 'theirs' }));
    await expect(withLock(platform, lock, async () => 1, { timeoutMs: 50, staleMs: 60_000 })).rejects.toMatchObject({
      code: 'MSO_LOCK_TIMEOUT',
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(await withLock(platform, lock, async () => 2, { staleMs: 20 })).toBe(2);
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes a file of its own with O_EXCL where the file system makes no hard links', async () => {
    const noLinks = {
      ...platform,
      fs: { ...platform.fs, link: () => Promise.reject(Object.assign(new Error('EPERM: link'), { code: 'EPERM' })) },
    } as typeof platform;
    const lock = join(dir, 'nolinks', 'x.lock');
    let held = 0;
    let most = 0;
    await Promise.all(
      [1, 2, 3].map(() =>
        withLock(noLinks, lock, async () => {
          most = Math.max(most, ++held);
          const st = await lstat(lock);
          expect(st.nlink).toBe(1);
          expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: process.pid });
          await new Promise((r) => setTimeout(r, 5));
          held--;
        }),
      ),
    );
    expect(most).toBe(1);
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('loses no update when several processes take the same lock at once', async () => {
    const fixture = join(REPO_ROOT, 'test/fixtures/lock-counter.mjs');
    const results = await Promise.all([1, 2, 3, 4].map(() => run([fixture, dir, '25'])));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(await readFile(join(dir, 'count'), 'utf8')).toBe('100');
    expect(await readdir(join(dir, 'locks'))).toEqual([]);
  });
});
