import { describe, expect, it } from 'vitest';
import { fakeClock } from '../platform/testing/index.js';
import type { Git } from './git.js';
import { compareRuns, loadRecordedCalls, replayAgents, type NodeRecord } from './replay.js';

const okResult = { agent: 'fake-claude', status: 'success', summary: 'did it', changedFiles: ['a.txt'] };
const rows = [
  { type: 'agent.response', node_id: 'a', payload: JSON.stringify({ attempt_id: 'att-1', blob: 'b1' }) },
  {
    type: 'gate.result',
    node_id: 'a',
    payload: JSON.stringify({ command: 'test -f a.txt', status: 'success', exit_code: 0 }),
  },
  { type: 'agent.response', node_id: 'a', payload: JSON.stringify({ attempt_id: 'att-2', blob: 'b2' }) },
  { type: 'node.state', node_id: 'a', payload: '{}' },
];
const blobs: Record<string, { result: unknown; unavailable: string | null; patch: string }> = {
  b1: { result: { ...okResult, status: 'failure' }, unavailable: null, patch: '' },
  b2: { result: okResult, unavailable: null, patch: 'diff --git a/a.txt b/a.txt\n' },
};
const read = async (h: string) => ({ bytes: Buffer.from(JSON.stringify(blobs[h])), intact: true });

describe('replay', () => {
  it('answers work and gate calls of a node from separate queues, in recorded order, applying patches with git', async () => {
    const calls = await loadRecordedCalls('r', rows, read);
    const applied: Array<{ args: readonly string[]; input?: string }> = [];
    const git: Git = {
      run: async (args, _cwd, input) => (
        applied.push({ args, ...(input ? { input } : {}) }),
        { code: 0, stdout: '', stderr: '' }
      ),
      ok: async () => '',
      sequence: async () => ({ code: 0, stdout: '', stderr: '', failed: null }),
    };
    const { agents, notes } = replayAgents(calls, git, fakeClock());
    const req = { runId: 'r', nodeId: 'a', instructions: 'x', cwd: '/w' };
    expect((await agents.run([], req)).result.status).toBe('failure');
    expect((await agents.run([], { ...req, purpose: 'gate', command: 'test -f a.txt' })).result.status).toBe('success');
    const second = await agents.run([], req);
    expect(second.result).toMatchObject({ status: 'success', summary: 'did it', evidence: { pid: null } });
    expect(applied).toEqual([
      { args: ['apply', '--binary', '--whitespace=nowarn', '-'], input: 'diff --git a/a.txt b/a.txt\n' },
    ]);
    expect(notes.notes.get('a')).toBeUndefined();
    const extra = await agents.run([], req);
    expect(extra.result.status).toBe('failure');
    expect(notes.notes.get('a')?.at(-1)).toMatch(/record does not have/);
    expect(notes.answered).toBe(3);
  });
  it.each([
    ['altered', { bytes: Buffer.from(JSON.stringify(blobs['b1'])), intact: false }, /no longer match its sha256/],
    ['truncated', { bytes: Buffer.from('{"result":{"agent"'), intact: true }, /not JSON/],
    ['not a response', { bytes: Buffer.from('[1,2]'), intact: true }, /not a recorded agent response/],
  ])('refuses a %s blob before replaying anything, naming the blob and the run', async (_what, stored, reason) => {
    const err = await loadRecordedCalls('20261127-msoorch-x', rows, async () => ({
      ...stored,
      path: '/b/sha256/b1',
    })).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'MSO_BLOB_CORRUPT',
      hash: 'b1',
      runId: '20261127-msoorch-x',
      path: '/b/sha256/b1',
    });
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).toContain('blob b1 of run 20261127-msoorch-x');
  });
  it('reports divergences in execution order: state first, then tree hash, then ticket', () => {
    const rec = (state: string, treeHash: string | null, ticket: string | null): NodeRecord => ({
      state,
      treeHash,
      ticket,
    });
    const expected = new Map([
      ['a', rec('done', 'h1', 'done')],
      ['b', rec('done', 'h2', 'done')],
      ['c', rec('done', 'h3', 'done')],
    ]);
    const actual = new Map([
      ['a', rec('done', 'h1', 'done')],
      ['b', rec('done', 'hX', 'done')],
      ['c', rec('failed', null, 'blocked')],
    ]);
    const d = compareRuns(['a', 'c', 'b'], expected, actual, new Map([['c', ['note']]]));
    expect(d).toEqual([
      { node: 'c', field: 'state', expected: 'done', actual: 'failed', notes: ['note'] },
      { node: 'b', field: 'tree_hash', expected: 'h2', actual: 'hX', notes: [] },
    ]);
    expect(compareRuns(['a'], expected, new Map(), new Map())).toEqual([
      { node: 'a', field: 'missing', expected: 'done', actual: null, notes: [] },
    ]);
  });
});
