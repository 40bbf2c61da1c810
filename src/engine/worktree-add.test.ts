import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform } from '../platform/index.js';
import { createGit, type Git } from './git.js';
import { addWorktree, worktreeInPlace } from './worktree-add.js';

const platform = nodePlatform();
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() };
const real = createGit({ proc: platform.proc, env });
/** The git subcommands run, in order: which way a worktree was made (mso's own files and a reset, or git's own). */
let ran: string[] = [];
const git: Git = {
  ...real,
  run: (args, cwd, input, options) => (ran.push(args[0] ?? ''), real.run(args, cwd, input, options)),
  sequence: (steps, cwd, options) => {
    for (const s of steps) ran.push(('args' in s ? s.args : s)[0] ?? '');
    return real.sequence(steps, cwd, options);
  },
};
let dir: string;
let repo: string;
let base: string;

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'mso-worktree-add-')));
  repo = join(dir, 'repo');
  await git.ok(['init', '-q', '-b', 'main', repo], dir);
  await writeFile(join(repo, 'a.txt'), 'a\n');
  await git.ok(['add', '-A'], repo);
  await git.ok(['commit', '-q', '-m', 'base'], repo);
  base = await git.ok(['rev-parse', 'HEAD'], repo);
  ran = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `git worktree list --porcelain` as path → { head, branch }. */
async function listed(): Promise<Map<string, { head?: string; branch?: string }>> {
  const out = await git.ok(['worktree', 'list', '--porcelain'], repo);
  const m = new Map<string, { head?: string; branch?: string }>();
  for (const block of out.split('\n\n')) {
    const f = Object.fromEntries(block.split('\n').map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));
    m.set(f['worktree'] as string, { head: f['HEAD'], branch: f['branch'] });
  }
  return m;
}

describe('addWorktree', () => {
  it('makes a worktree git itself lists, prunes not, and removes: on its branch at base, files checked out', async () => {
    const wt = join(dir, 'run', 'worktree', 'n1');
    await addWorktree(git, platform.fs, { repo, path: wt, branch: 'mso/r1/n1', base });
    expect((await listed()).get(wt)).toEqual({ head: base, branch: 'refs/heads/mso/r1/n1' });
    expect(await readFile(join(wt, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await git.ok(['status', '--porcelain'], wt)).toBe('');
    expect(await git.ok(['symbolic-ref', 'HEAD'], wt)).toBe('refs/heads/mso/r1/n1');
    // Made by mso's own files and one reset, not by git worktree add.
    expect(ran.slice(0, 1)).toEqual(['reset']);
    await git.ok(['worktree', 'prune'], repo);
    expect((await listed()).has(wt)).toBe(true);
    // The lock held while it was made is gone: git can remove it.
    await git.ok(['worktree', 'remove', wt], repo);
    expect((await listed()).has(wt)).toBe(false);
  });

  it('makes many worktrees of one repository side by side, each on its own branch, names that clash included', async () => {
    // `a.b` and `a-b` have the same administrative name: the second takes `a-b1`, as git numbers them.
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'a.b', 'a-b'];
    const paths = ids.map((id) => join(dir, 'run', 'worktree', id));
    await Promise.all(
      ids.map((id, i) =>
        addWorktree(git, platform.fs, { repo, path: paths[i] as string, branch: `mso/r1/${id}`, base }),
      ),
    );
    const all = await listed();
    for (const [i, id] of ids.entries()) {
      expect(all.get(paths[i] as string)).toEqual({ head: base, branch: `refs/heads/mso/r1/${id}` });
      expect(await git.ok(['status', '--porcelain'], paths[i] as string)).toBe('');
    }
    await git.ok(['worktree', 'prune'], repo);
    expect((await listed()).size).toBe(ids.length + 1);
  });

  it('moves an existing branch to base (-B), gives a second folder of the same name its own entry', async () => {
    await writeFile(join(repo, 'b.txt'), 'b\n');
    await git.ok(['add', '-A'], repo);
    await git.ok(['commit', '-q', '-m', 'second'], repo);
    await git.ok(['branch', 'mso/r1/n1'], repo);
    const one = join(dir, 'r1', 'n1');
    const two = join(dir, 'r2', 'n1');
    await addWorktree(git, platform.fs, { repo, path: one, branch: 'mso/r1/n1', base });
    await addWorktree(git, platform.fs, { repo, path: two, branch: 'mso/r2/n1', base });
    const l = await listed();
    expect(l.get(one)).toEqual({ head: base, branch: 'refs/heads/mso/r1/n1' });
    expect(l.get(two)).toEqual({ head: base, branch: 'refs/heads/mso/r2/n1' });
    expect(await git.ok(['rev-parse', 'mso/r1/n1'], repo)).toBe(base);
  });

  it('takes over the stale entry of a deleted folder, as -f does, instead of listing the path twice', async () => {
    const wt = join(dir, 'run', 'n1');
    await addWorktree(git, platform.fs, { repo, path: wt, branch: 'mso/r/n1', base });
    await rm(wt, { recursive: true, force: true });
    await addWorktree(git, platform.fs, { repo, path: wt, branch: 'mso/r/n1', base });
    const paths = (await git.ok(['worktree', 'list', '--porcelain'], repo))
      .split('\n')
      .filter((l) => l === `worktree ${wt}`);
    expect(paths).toHaveLength(1);
  });

  it('runs `first` in the same process and gives back its output; a failed checkout leaves nothing behind', async () => {
    await writeFile(join(repo, 'untracked.txt'), 'x\n');
    const wt = join(dir, 'n1');
    const got = await addWorktree(
      git,
      platform.fs,
      { repo, path: wt, branch: 'mso/r/n1', base },
      {
        args: ['status', '--porcelain'],
        cwd: repo,
      },
    );
    expect(got.first).toEqual({ code: 0, stdout: '?? untracked.txt\n' });
    const bad = join(dir, 'n2');
    await expect(
      addWorktree(git, platform.fs, { repo, path: bad, branch: 'mso/r/n2', base: 'f'.repeat(40) }),
    ).rejects.toThrow(/reset .* failed/);
    expect((await listed()).has(bad)).toBe(false);
    expect(await git.ok(['worktree', 'list', '--porcelain'], repo)).not.toContain('n2');
  });

  it('leaves repositories with sparse checkout or extensions, and non-empty folders, to git worktree add', async () => {
    await git.ok(['config', 'extensions.worktreeConfig', 'true'], repo);
    const wt = join(dir, 'n1');
    await addWorktree(git, platform.fs, { repo, path: wt, branch: 'mso/r/n1', base });
    expect((await listed()).get(wt)).toEqual({ head: base, branch: 'refs/heads/mso/r/n1' });
    expect(ran).toContain('worktree');
    await git.ok(['config', '--unset', 'extensions.worktreeConfig'], repo);
    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'junk'), 'x');
    // git refuses a folder that already has files; so does mso, with git's own words.
    await expect(addWorktree(git, platform.fs, { repo, path: full, branch: 'mso/r/full', base })).rejects.toThrow(
      /already exists/,
    );
  });
});

describe('worktreeInPlace', () => {
  const add = (id: string) =>
    addWorktree(git, platform.fs, { repo, path: join(dir, 'run', 'worktree', id), branch: `mso/r/${id}`, base });
  const admin = async (id: string) => join(await realpath(join(repo, '.git')), 'worktrees', id);

  it('keeps a complete worktree and says there is none where there is none', async () => {
    await add('n1');
    expect(await worktreeInPlace(platform.fs, repo, join(dir, 'run', 'worktree', 'n1'))).toBe(true);
    expect(await readFile(join(dir, 'run', 'worktree', 'n1', 'a.txt'), 'utf8')).toBe('a\n');
    expect(await worktreeInPlace(platform.fs, repo, join(dir, 'run', 'worktree', 'nope'))).toBe(false);
  });

  it('removes what a coordinator killed while making one left, so it is made again and git lists it', async () => {
    const wt = join(dir, 'run', 'worktree', 'n1');
    // Killed while writing the worktree's .git file: an empty one, the administrative folder still locked.
    await add('n1');
    await writeFile(join(wt, '.git'), '');
    await writeFile(join(await admin('n1'), 'locked'), 'initializing\n');
    expect(await worktreeInPlace(platform.fs, repo, wt)).toBe(false);
    await add('n1');
    expect((await listed()).get(wt)).toEqual({ head: base, branch: 'refs/heads/mso/r/n1' });
    expect(await readFile(join(await admin('n1'), 'gitdir'), 'utf8')).toBe(`${await realpath(wt)}/.git\n`);
    // Killed between the files and the checkout: .git is whole, the entry still locked as being made.
    await writeFile(join(await admin('n1'), 'locked'), 'initializing\n');
    expect(await worktreeInPlace(platform.fs, repo, wt)).toBe(false);
    await add('n1');
    await git.ok(['worktree', 'remove', wt], repo); // not locked: git removes it
  });

  it('never removes a folder a rewritten .git names outside the repository’s worktrees', async () => {
    const wt = join(dir, 'run', 'worktree', 'n1');
    await add('n1');
    const elsewhere = join(dir, 'precious');
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, 'keep.txt'), 'keep\n');
    await writeFile(join(wt, '.git'), `gitdir: ${elsewhere}\n`);
    expect(await worktreeInPlace(platform.fs, repo, wt)).toBe(false);
    expect(await readFile(join(elsewhere, 'keep.txt'), 'utf8')).toBe('keep\n');
  });
});
