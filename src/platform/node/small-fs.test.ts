import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smallFs } from './small-fs.js';

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
    await expect(smallFs.readdir(join(dir, 'none'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(smallFs.mkdir(sub)).rejects.toMatchObject({ code: 'EEXIST' });
    await smallFs.rm(join(dir, 'a'), { recursive: true, force: true });
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });
});
