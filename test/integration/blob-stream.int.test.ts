import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openBlobStream } from '../../src/audit/blob-stream.js';
import { blobPath, createRedactor } from '../../src/audit/index.js';
import { nodePlatform, type Fs } from '../../src/platform/index.js';

// Blob streams on real files: what `mso logs --full` reads back, and what a failing disk leaves behind (nothing).

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-blobstream-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const platform = nodePlatform();
const redactor = createRedactor({ values: ['Plover-7731-Quill'] });
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const files = async (): Promise<string[]> => (await readdir(dir, { recursive: true })).map(String);

describe('openBlobStream', () => {
  it('stores 12 MB written in pieces at its hash, redacted, read-only, with the raw hash beside it', async () => {
    const piece = Buffer.from('x'.repeat(1023) + '\n');
    const secret = 'token Plover-7731-Quill end';
    const s = openBlobStream(platform, dir, redactor);
    const raw = createHash('sha256');
    for (let i = 0; i < 12 * 1024; i++) {
      const b = i === 6000 ? Buffer.concat([piece, Buffer.from(secret)]) : piece;
      raw.update(b);
      s.write(b);
      if (s.backlog > 4 * 1024 * 1024) await s.drained(1024 * 1024);
    }
    const b = await s.end();
    const stored = await readFile(blobPath(dir, b.hash));
    expect(sha(stored)).toBe(b.hash);
    expect((await stat(blobPath(dir, b.hash))).mode & 0o777).toBe(0o444);
    expect(b.rawSha256).toBe(raw.digest('hex'));
    expect(stored.includes('Plover-7731-Quill')).toBe(false);
    expect(stored.includes('token [REDACTED:listed] end')).toBe(true);
    expect(b.rawSize - b.size).toBe('Plover-7731-Quill'.length - '[REDACTED:listed]'.length);
    expect((await files()).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // The same bytes again: one blob, the temp file gone.
    const again = openBlobStream(platform, dir, redactor);
    again.write(stored);
    expect((await again.end()).hash).toBe(b.hash);
    expect((await files()).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('leaves no temporary file when aborted or when the disk fails, and names the storage error', async () => {
    const a = openBlobStream(platform, dir, redactor);
    a.write(Buffer.alloc(3 * 1024 * 1024, 0x61));
    await a.abort();
    expect((await files()).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const full: Fs = {
      ...platform.fs,
      open: (async (...args: Parameters<Fs['open']>) => {
        const h = await platform.fs.open(...args);
        return Object.assign(h, {
          write: async () => {
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          },
        });
      }) as Fs['open'],
    };
    const f = openBlobStream({ ...platform, fs: full }, dir, redactor);
    f.write(Buffer.alloc(3 * 1024 * 1024, 0x62));
    await expect(f.end()).rejects.toMatchObject({ code: 'MSO_STORAGE_FULL' });
    expect((await files()).filter((x) => x.includes('.tmp-'))).toEqual([]);
  });
});
