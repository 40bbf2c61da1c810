import { describe, expect, it } from 'vitest';
import { ownStrayWrites, type AgentWindow } from './outside-writes.js';

/** A file system whose only facts are the change times of some paths (folders included). */
function ctimes(times: Record<string, number>) {
  return {
    lstat: (p: string) =>
      times[p] === undefined
        ? Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' }))
        : Promise.resolve({ ctimeMs: times[p] }),
  } as never;
}

function context(times: Record<string, number>, windows: AgentWindow[]) {
  const events: Array<{ type: string; node: string | null; payload: Record<string, unknown> }> = [];
  return {
    events,
    ctx: {
      deps: { fs: ctimes(times) },
      agentWindows: windows,
      event: (type: string, node: string | null, payload: Record<string, unknown>) =>
        events.push({ type, node, payload }),
    },
  };
}

describe('ownStrayWrites', () => {
  const windows: AgentWindow[] = [
    { node: 'writer', from: 1_000, to: 2_000 },
    { node: 'quiet', from: 1_500, to: 5_000 },
    { node: 'late', from: 6_000, to: null },
  ];

  it('leaves a change made while only another node ran to that node, and records whose it was', async () => {
    const { ctx, events } = context({ '/repo/a.txt': 1_200 }, windows);
    expect(await ownStrayWrites(ctx, 'quiet', ['/repo/a.txt'])).toEqual({ paths: [], note: '' });
    expect(events).toEqual([
      {
        type: 'node.outside_writes_elsewhere',
        node: 'quiet',
        payload: { writes: [{ path: '/repo/a.txt', nodes: ['writer'] }] },
      },
    ]);
    expect(await ownStrayWrites(ctx, 'writer', ['/repo/a.txt'])).toEqual({ paths: ['/repo/a.txt'], note: '' });
  });

  it('keeps a change made while several nodes ran, naming the others', async () => {
    const { ctx } = context({ '/repo/b.txt': 1_800 }, windows);
    expect(await ownStrayWrites(ctx, 'writer', ['/repo/b.txt'])).toEqual({
      paths: ['/repo/b.txt'],
      note: ' (quiet ran at the same moment and cannot be told apart from it)',
    });
  });

  it('keeps a change made while no agent ran (a process that escaped, someone else)', async () => {
    const { ctx } = context({ '/repo/c.txt': 5_500 }, windows);
    expect(await ownStrayWrites(ctx, 'quiet', ['/repo/c.txt'])).toEqual({
      paths: ['/repo/c.txt'],
      note: ' (some changed while no agent of the run was running)',
    });
  });

  it('dates a deleted path by its folder, and a window still open runs until now', async () => {
    const { ctx } = context({ '/repo': 7_000 }, windows);
    expect((await ownStrayWrites(ctx, 'quiet', ['/repo/gone.txt'])).paths).toEqual([]);
    expect((await ownStrayWrites(ctx, 'late', ['/repo/gone.txt'])).paths).toEqual(['/repo/gone.txt']);
  });
});
