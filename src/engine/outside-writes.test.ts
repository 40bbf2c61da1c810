import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform } from '../platform/index.js';
import { createGit, type Git } from './git.js';
import {
  CHECKOUT_STATUS,
  createOutsideWatch,
  outsideChanges,
  ownStrayWrites,
  snapshotOutside,
  type AgentWindow,
  type OutsideWatch,
} from './outside-writes.js';

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

describe('createOutsideWatch', () => {
  let dir: string;
  let repo: string;
  let statuses = 0;
  let watch: OutsideWatch;
  let clock = 0;
  const real = createGit({ proc: nodePlatform().proc, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  // Counts the checkout listings the watch runs itself.
  const git: Git = {
    ...real,
    run: (args, cwd, input, options) => {
      if (args[0] === 'status') statuses++;
      return real.run(args, cwd, input, options);
    },
  };
  const listing = async () => ({ code: 0, stdout: (await real.run(CHECKOUT_STATUS, repo)).stdout });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mso-outside-watch-'));
    repo = join(dir, 'repo');
    await mkdir(repo);
    await real.ok(['init', '-q', '-b', 'main'], repo);
    statuses = 0;
    clock = 0;
    const scope = { repo, runDir: join(dir, 'ws/.mso-context/active/r'), exclude: [] };
    watch = createOutsideWatch({ git }, scope, () => clock);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('takes a node’s first list from its worktree’s creation when offered, and a failed one not', async () => {
    await writeFile(join(repo, 'dirty.txt'), 'a\n');
    expect(watch.wantsListing()).toBe(true);
    watch.offer(await listing());
    const before = await watch.before();
    expect(statuses).toBe(0);
    expect(before.has(join(repo, 'dirty.txt'))).toBe(true);
    await watch.after({ ...(await listing()), stamp: watch.stamp() });
    watch.unsettle();
    watch.offer({ code: 128, stdout: '' });
    expect((await watch.before()).has(join(repo, 'dirty.txt'))).toBe(true);
    expect(statuses).toBe(1);
  });

  it('gives a node starting while another runs the newest list of the run while it is fresh', async () => {
    watch.offer(await listing());
    await watch.before();
    expect(watch.wantsListing()).toBe(false);
    // b's worktree is made while a runs: no list is asked for; c's look after its step is then the newest.
    await writeFile(join(repo, 'seen-after-c.txt'), 'x\n');
    await watch.before();
    await watch.after({ ...(await listing()), stamp: watch.stamp() });
    statuses = 0;
    expect((await watch.before()).has(join(repo, 'seen-after-c.txt'))).toBe(true);
    expect(statuses).toBe(0);
    // A second later it is stale: the next node lists the checkout itself.
    clock += 1001;
    expect(watch.wantsListing()).toBe(true);
    await watch.before();
    expect(statuses).toBe(1);
    // A gate command ran: a fresh list is not taken either.
    await watch.after({ ...(await listing()), stamp: watch.stamp() });
    watch.unsettle();
    expect(watch.wantsListing()).toBe(true);
    await watch.before();
    expect(statuses).toBe(2);
  });

  it('reuses a list made in a node’s commit for the next node only when no other node ran since it was begun', async () => {
    await watch.before();
    const stamp = watch.stamp();
    await writeFile(join(repo, 'stray.txt'), 'x\n');
    const after = await watch.after({ ...(await listing()), stamp });
    expect(after.has(join(repo, 'stray.txt'))).toBe(true);
    expect(watch.wantsListing()).toBe(false);
    statuses = 0;
    expect((await watch.before()).has(join(repo, 'stray.txt'))).toBe(true);
    expect(statuses).toBe(0);
    // b lists while c runs, c ends first: b's list is not from a quiet moment.
    await watch.before();
    const busy = watch.stamp();
    expect(busy).toBe(-1);
    await watch.after();
    await watch.after({ ...(await listing()), stamp: busy });
    expect(watch.wantsListing()).toBe(false); // not quiet, but fresh
    clock += 1001;
    expect(watch.wantsListing()).toBe(true);
    // A failed list is made again by the watch.
    await watch.before();
    statuses = 0;
    await watch.after({ code: 1, stdout: '', stamp: watch.stamp() });
    expect(statuses).toBe(1);
  });
});

describe('snapshotOutside', () => {
  let dir: string;
  let repo: string;
  const git = createGit({ proc: nodePlatform().proc, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mso-outside-snap-'));
    repo = join(dir, 'repo');
    await mkdir(join(repo, '.git', 'worktrees', 'n1'), { recursive: true });
    await git.ok(['init', '-q', '-b', 'main'], repo);
    await writeFile(join(repo, '.git', 'worktrees', 'n1', 'config.worktree'), '');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('watches the worktrees’ own config only where the repository may turn per-worktree config on', async () => {
    const scope = { repo, runDir: join(dir, 'ws/.mso-context/active/r'), exclude: [] };
    const own = join(repo, '.git', 'worktrees', 'n1', 'config.worktree');
    const off = await snapshotOutside({ git }, scope, []);
    expect(off.has(own)).toBe(false);
    // Turning it on is a change to the watched config itself.
    await appendFile(join(repo, '.git', 'config'), '[extensions]\n\tworktreeConfig = true\n');
    const on = await snapshotOutside({ git }, scope, []);
    expect(outsideChanges(off, on)).toContain(join(repo, '.git', 'config'));
    expect(on.has(own)).toBe(true);
    await writeFile(own, '[core]\n\tfsmonitor = /tmp/x\n');
    expect(outsideChanges(on, await snapshotOutside({ git }, scope, []))).toEqual([own]);
  });
});
