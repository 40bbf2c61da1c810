import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicFs, smallFs } from './small-fs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-small-fs-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('smallFs', () => {
  it('does each call at once, and answers as fs/promises does, errors included', async () => {
    const sub = join(dir, 'a', 'b');
    const made = smallFs.mkdir(sub, { recursive: true });
    expect(existsSync(sub)).toBe(true); // done before the promise is awaited
    await made;
    await smallFs.writeFile(join(sub, 'f'), 'text\n');
    expect(await smallFs.readFile(join(sub, 'f'), 'utf8')).toBe('text\n');
    expect(await smallFs.readdir(sub)).toEqual(['f']);
    expect(await smallFs.realpath(join(sub, '..', 'b'))).toBe(sub);
    expect((await smallFs.stat(join(sub, 'f'))).size).toBe(5);
    await expect(smallFs.stat(join(dir, 'none'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(smallFs.readdir(join(dir, 'none'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(smallFs.mkdir(sub)).rejects.toMatchObject({ code: 'EEXIST' });
    await smallFs.rm(join(dir, 'a'), { recursive: true, force: true });
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('atomicFs makes a new file whole and flushed, refuses one that exists or a missing folder, and renames', async () => {
    const f = join(dir, 'new.tmp');
    await atomicFs.writeNew(f, 'first\n', 0o444);
    expect(await readFile(f, 'utf8')).toBe('first\n');
    expect(statSync(f).mode & 0o777).toBe(0o444);
    await expect(atomicFs.writeNew(f, 'again\n', 0o644)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(atomicFs.writeNew(join(dir, 'none', 'x'), 'x', 0o644)).rejects.toMatchObject({ code: 'ENOENT' });
    await atomicFs.writeNew(join(dir, 'bytes.tmp'), new Uint8Array([1, 2, 3]), 0o644);
    await atomicFs.rename(join(dir, 'bytes.tmp'), f);
    expect([...(await readFile(f))]).toEqual([1, 2, 3]);
    expect(existsSync(join(dir, 'bytes.tmp'))).toBe(false);
    // Unflushed (sync false): made and closed all the same, refused all the same where it exists.
    await atomicFs.writeNew(join(dir, 'unsynced.tmp'), 'z', 0o644, false);
    expect(await readFile(join(dir, 'unsynced.tmp'), 'utf8')).toBe('z');
    await expect(atomicFs.writeNew(f, 'z', 0o644, false)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
