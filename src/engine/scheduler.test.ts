import { describe, expect, it } from 'vitest';
import { GROUP_COMMIT_STATES, runDag, type DagNode, type NodeOutcome } from './scheduler.js';

const hooks = (exec: (id: string) => Promise<NodeOutcome>, log: string[] = []) => ({
  execute: exec,
  admit: () => 'start' as const,
  onState: (id: string, s: string, d: string | null) => log.push(`${id}:${s}${d ? `(${d})` : ''}`),
  flush: () => undefined,
});

describe('runDag', () => {
  it('starts a node the moment its last parent is done, not level by level', async () => {
    // a → c (slow) ; b → d ; d must start while c still runs.
    const nodes: DagNode[] = [
      { id: 'a', parents: [] },
      { id: 'b', parents: [] },
      { id: 'c', parents: ['a'] },
      { id: 'd', parents: ['b'] },
    ];
    const started: string[] = [];
    const delays: Record<string, number> = { a: 1, b: 1, c: 60, d: 1 };
    await runDag(
      nodes,
      hooks(async (id) => {
        started.push(id);
        await new Promise((r) => setTimeout(r, delays[id]));
        return { kind: 'done' };
      }),
      { maxConcurrency: 8 },
    );
    expect(started.indexOf('d')).toBeGreaterThan(-1);
    const seen: string[] = [];
    await runDag(
      nodes,
      hooks(async (id) => {
        seen.push(`start:${id}`);
        await new Promise((r) => setTimeout(r, delays[id]));
        seen.push(`end:${id}`);
        return { kind: 'done' };
      }),
      { maxConcurrency: 8 },
    );
    expect(seen.indexOf('start:d')).toBeLessThan(seen.indexOf('end:c'));
  });
  it('blocks every descendant of a failure, naming it, while independent branches finish', async () => {
    const nodes: DagNode[] = [
      { id: 'r', parents: [] },
      { id: 'x', parents: ['r'] },
      { id: 'y', parents: ['r'] },
      { id: 'x2', parents: ['x'] },
      { id: 'm', parents: ['x2', 'y'] },
    ];
    const r = await runDag(
      nodes,
      hooks(async (id) => (id === 'x' ? { kind: 'failed', reason: 'boom' } : { kind: 'done' })),
      { maxConcurrency: 4 },
    );
    expect(Object.fromEntries(r.states)).toEqual({ r: 'done', x: 'failed', y: 'done', x2: 'blocked', m: 'blocked' });
    expect(r.details.get('m')).toBe('blocked by failed ancestor x');
  });
  it('respects the global and per-lane limits', async () => {
    const nodes: DagNode[] = Array.from({ length: 6 }, (_, i) => ({
      id: `n${i}`,
      parents: [],
      lane: i % 2 ? 'odd' : 'even',
    }));
    let now = 0;
    let peak = 0;
    let peakOdd = 0;
    let odd = 0;
    await runDag(
      nodes,
      hooks(async (id) => {
        now++;
        if (id.endsWith('1') || id.endsWith('3') || id.endsWith('5')) odd++;
        peak = Math.max(peak, now);
        peakOdd = Math.max(peakOdd, odd);
        await new Promise((r) => setTimeout(r, 5));
        now--;
        if (id.endsWith('1') || id.endsWith('3') || id.endsWith('5')) odd--;
        return { kind: 'done' };
      }),
      { maxConcurrency: 3, laneLimits: { odd: 1 } },
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(peakOdd).toBe(1);
  });
  it('never runs nodes that were done before (resume) and stops dispatching when told', async () => {
    const nodes: DagNode[] = [
      { id: 'a', parents: [] },
      { id: 'b', parents: ['a'] },
      { id: 'c', parents: ['b'] },
    ];
    const ran: string[] = [];
    const r = await runDag(
      nodes,
      { ...hooks(async (id) => (ran.push(id), { kind: 'done' })), admit: (id) => (id === 'c' ? 'stop' : 'start') },
      { maxConcurrency: 2, initial: new Map([['a', 'done']]) },
    );
    expect(ran).toEqual(['b']);
    expect(r.stopped).toBe(true);
    expect(r.states.get('c')).toBe('pending');
  });
  it('re-opens nodes for a loop iteration', async () => {
    const nodes: DagNode[] = [
      { id: 'work', parents: [] },
      { id: 'eval', parents: ['work'] },
    ];
    let evals = 0;
    const ran: string[] = [];
    await runDag(
      nodes,
      hooks(async (id) => {
        ran.push(id);
        if (id === 'eval' && ++evals < 3)
          return { kind: 'reset', nodes: ['work', 'eval'], reason: `iteration ${evals + 1}` };
        return { kind: 'done' };
      }),
      { maxConcurrency: 2 },
    );
    expect(ran).toEqual(['work', 'eval', 'work', 'eval', 'work', 'eval']);
  });
  it('commits state changes in groups, each before any executor acts on it and all before it returns', async () => {
    const chain: DagNode[] = Array.from({ length: 1000 }, (_, i) => ({ id: `n${i}`, parents: i ? [`n${i - 1}`] : [] }));
    const pending: string[] = [];
    const committed: string[] = [];
    const groups: number[] = [];
    const flush = (): void => {
      if (pending.length) groups.push(pending.length);
      committed.push(...pending.splice(0));
    };
    const seenAtStart: boolean[] = [];
    await runDag(
      chain,
      {
        // An executor with a side effect commits first (write-ahead): its own start and its parent's completion.
        execute: async (id) => {
          flush();
          const i = Number(id.slice(1));
          seenAtStart.push(committed.includes(`${id}:running`) && (i === 0 || committed.includes(`n${i - 1}:done`)));
          return { kind: 'done' };
        },
        admit: () => 'start',
        onState: (id, s) => pending.push(`${id}:${s}`),
        flush,
      },
      { maxConcurrency: 4 },
    );
    expect(seenAtStart.every(Boolean)).toBe(true);
    expect(pending).toEqual([]);
    expect(committed).toHaveLength(2000);

    // Executors without side effects: the scheduler groups the commits, never more than GROUP_COMMIT_STATES at once.
    groups.length = 0;
    committed.length = 0;
    const r = await runDag(
      chain,
      {
        execute: async () => ({ kind: 'done' }),
        admit: () => 'start',
        onState: (id, s) => pending.push(`${id}:${s}`),
        flush,
      },
      { maxConcurrency: 4 },
    );
    expect([...r.states.values()].every((s) => s === 'done')).toBe(true);
    expect(pending).toEqual([]);
    expect(committed).toHaveLength(2000);
    expect(groups.length).toBeLessThan(100);
    expect(Math.max(...groups)).toBeLessThanOrEqual(GROUP_COMMIT_STATES);
  });
  it('ends the run with the error of a commit that fails, starting nothing after the failure', async () => {
    const nodes: DagNode[] = [
      { id: 'a', parents: [] },
      { id: 'b', parents: ['a'] },
      { id: 'c', parents: ['b'] },
    ];
    const ran: string[] = [];
    let calls = 0;
    const run = runDag(
      nodes,
      {
        execute: async (id) => {
          ran.push(id);
          await new Promise((r) => setTimeout(r, 5));
          return { kind: 'done' };
        },
        admit: () => 'start',
        onState: () => undefined,
        flush: () => {
          if (++calls === 2) throw new Error('SQLITE_FULL: database or disk is full');
        },
      },
      { maxConcurrency: 2 },
    );
    await expect(run).rejects.toThrow('SQLITE_FULL');
    // b was started in the turn whose commit failed; nothing starts after the failure.
    expect(ran).toEqual(['a', 'b']);
  });
  it('fails a node whose executor throws instead of rejecting, and finishes the rest', async () => {
    const nodes: DagNode[] = [
      { id: 'a', parents: [] },
      { id: 'b', parents: [] },
      { id: 'c', parents: ['b'] },
    ];
    const r = await runDag(
      nodes,
      hooks((id) => {
        if (id === 'a') throw new Error('no worktree');
        return Promise.resolve({ kind: 'done' });
      }),
      { maxConcurrency: 2 },
    );
    expect(Object.fromEntries(r.states)).toEqual({ a: 'failed', b: 'done', c: 'done' });
    expect(r.details.get('a')).toBe('engine error: no worktree');
  });
  it('runs a waiting node again when a person decides while other nodes run; ends waiting once nothing runs', async () => {
    // g waits for a person; s runs long. A decision while s runs reopens g (and its child c) in the same run.
    const nodes: DagNode[] = [
      { id: 'g', parents: [] },
      { id: 's', parents: [] },
      { id: 'c', parents: ['g'] },
    ];
    let reopen: ((id: string) => void) | undefined;
    let decided = false;
    let unsubscribed = 0;
    let releaseS: () => void = () => undefined;
    const log: string[] = [];
    const r = await runDag(
      nodes,
      hooks(async (id) => {
        if (id === 's') {
          await new Promise<void>((done) => (releaseS = done));
          return { kind: 'done' };
        }
        if (id === 'g' && !decided) {
          // The decision arrives once g waits (on the next turn): g runs again while s still runs.
          setTimeout(() => {
            decided = true;
            reopen?.('g');
          }, 5);
          return { kind: 'waiting', reason: 'HITL-0001' };
        }
        if (id === 'c') releaseS();
        return { kind: 'done' };
      }, log),
      {
        maxConcurrency: 4,
        reopen: (fn) => {
          reopen = fn;
          return () => unsubscribed++;
        },
      },
    );
    expect(Object.fromEntries(r.states)).toEqual({ g: 'done', s: 'done', c: 'done' });
    expect(log).toContain('g:pending(a person decided: runs again)');
    expect(unsubscribed).toBe(1);
    // A decision that arrives while the node still runs (before it comes back waiting) is not lost.
    let early: ((id: string) => void) | undefined;
    let asked = 0;
    const r2 = await runDag(
      [{ id: 'g', parents: [] }],
      hooks(async () => {
        if (asked++ > 0) return { kind: 'done' };
        early?.('g');
        return { kind: 'waiting', reason: 'HITL-0002' };
      }),
      { maxConcurrency: 1, reopen: (fn) => ((early = fn), () => undefined) },
    );
    expect(r2.states.get('g')).toBe('done');
    // With nothing else running, a waiting node ends the run waiting (the local behaviour: exit 3, then resume).
    const r3 = await runDag(
      [{ id: 'g', parents: [] }],
      hooks(async () => ({ kind: 'waiting', reason: 'HITL-0003' })),
      { maxConcurrency: 1, reopen: () => () => undefined },
    );
    expect(r3.states.get('g')).toBe('waiting');
  });
});
