import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { nodePlatform } from '../platform/index.js';
import { readJsonArtifact } from './atomic.js';

const fs = nodePlatform().fs;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-read-artifact-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('readJsonArtifact', () => {
  it('checks the same text once, hands every caller its own copy, and checks a changed text again', async () => {
    let checks = 0;
    const schema = z.object({ n: z.number(), list: z.array(z.string()) }).transform((v) => (checks++, v));
    const file = join(dir, 'a.json');
    await writeFile(file, JSON.stringify({ n: 1, list: ['x'] }));
    const first = await readJsonArtifact(fs, file, schema, 'a');
    first.list.push('changed by a caller');
    const second = await readJsonArtifact(fs, file, schema, 'a');
    expect(second).toEqual({ n: 1, list: ['x'] });
    expect(checks).toBe(1);
    await writeFile(file, JSON.stringify({ n: 2, list: [] }));
    expect(await readJsonArtifact(fs, file, schema, 'a')).toEqual({ n: 2, list: [] });
    expect(checks).toBe(2);
    // Another schema over the same text is its own check; a bad text fails every time.
    expect(await readJsonArtifact(fs, file, z.object({ n: z.number() }), 'a')).toEqual({ n: 2 });
    await writeFile(file, JSON.stringify({ n: 'no' }));
    await expect(readJsonArtifact(fs, file, schema, 'a')).rejects.toMatchObject({ code: 'MSO_INVALID_ARTIFACT' });
    await expect(readJsonArtifact(fs, file, schema, 'a')).rejects.toMatchObject({ code: 'MSO_INVALID_ARTIFACT' });
  });
});
