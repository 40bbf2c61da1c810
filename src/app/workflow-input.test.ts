import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform } from '../platform/index.js';
import { readWorkflowInput } from './workflow-input.js';

const limits = { workflow_max_bytes: 1 << 20, workflow_max_nodes: 100 };
const { fs } = nodePlatform();
let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'mso-workflow-input-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('readWorkflowInput', () => {
  it('gives each read of the same text its own copy, and reads a changed file anew', async () => {
    const path = join(dir, 'flow.yaml');
    await writeFile(path, 'name: flow\nnodes:\n  - id: a\n    command: echo a\n');
    const first = await readWorkflowInput(fs, { path }, limits);
    (first.raw as { nodes: Array<{ id: string }> }).nodes[0]!.id = 'changed by the first reader';
    const second = await readWorkflowInput(fs, { path }, limits);
    expect(second.raw).toStrictEqual({ name: 'flow', nodes: [{ id: 'a', command: 'echo a' }] });
    const third = await readWorkflowInput(fs, { path }, limits);
    expect(third.raw).not.toBe(second.raw);
    await writeFile(path, 'name: flow\nnodes:\n  - id: b\n    command: echo b\n');
    expect((await readWorkflowInput(fs, { path }, limits)).raw).toStrictEqual({
      name: 'flow',
      nodes: [{ id: 'b', command: 'echo b' }],
    });
    // The same text under another name is that file's own: its errors and limits name it.
    const other = join(dir, 'other.yaml');
    await writeFile(other, 'name: flow\nnodes: [\n');
    await expect(readWorkflowInput(fs, { path: other }, limits)).rejects.toThrow(/other\.yaml/);
    await expect(readWorkflowInput(fs, { path }, { ...limits, workflow_max_nodes: 0 })).rejects.toThrow(/limit is 0/);
  });
});
