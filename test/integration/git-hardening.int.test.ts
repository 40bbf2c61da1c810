import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGit, fileSha256, treeHash } from '../../src/engine/git.js';
import { addWorktree } from '../../src/engine/worktree-add.js';
import { configuredDrivers, gitCommand, nodePlatform, type SmallFs } from '../../src/platform/index.js';
import { adapter, testAdapterDeps } from '../helpers/agents.js';

const platform = nodePlatform();
let dir: string;
let repo: string;
let marker: string;
const env = { PATH: process.env['PATH'], HOME: '/nonexistent' };
const rawGit = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-githard-'));
  repo = join(dir, 'repo');
  marker = join(dir, 'marker');
  await mkdir(repo);
  rawGit(repo, 'init', '-q', '-b', 'main');
  await writeFile(join(repo, 'a.txt'), 'one\n');
  rawGit(repo, 'add', '-A');
  rawGit(repo, 'commit', '-qm', 'base');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A script that records that it ran (what a node could plant) and behaves like `cat`. */
async function trap(name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\necho "${name} $*" >> ${marker}\ncat\n`);
  await chmod(path, 0o755);
  return path;
}

/** What a hostile node writes into the repository's own config and attributes. */
async function plantTraps(): Promise<void> {
  const t = await trap('trap.sh');
  const hooks = join(dir, 'hooks');
  await mkdir(hooks);
  for (const h of ['pre-commit', 'post-commit', 'post-checkout', 'reference-transaction', 'post-index-change']) {
    await writeFile(join(hooks, h), `#!/bin/sh\necho "hook ${h}" >> ${marker}\n`);
    await chmod(join(hooks, h), 0o755);
    await writeFile(join(repo, '.git', 'hooks', h), `#!/bin/sh\necho "default-hook ${h}" >> ${marker}\n`);
    await chmod(join(repo, '.git', 'hooks', h), 0o755);
  }
  const include = join(dir, 'included.config');
  await writeFile(include, `[filter "inc"]\n\tclean = ${t}\n\tsmudge = ${t}\n`);
  const sets: Array<[string, string]> = [
    ['core.fsmonitor', t],
    ['core.hooksPath', hooks],
    ['core.pager', t],
    ['core.editor', t],
    ['core.sshCommand', t],
    ['diff.external', t],
    ['filter.evil.clean', t],
    ['filter.evil.smudge', t],
    ['filter.evil.process', t],
    ['filter.evil.required', 'true'],
    ['diff.evil.textconv', t],
    ['diff.evil.command', t],
    ['merge.evil.driver', `${t} %O %A %B`],
    ['gpg.program', t],
    ['commit.gpgSign', 'true'],
    ['credential.helper', t],
    ['include.path', include],
  ];
  for (const [k, v] of sets) rawGit(repo, 'config', k, v);
  await writeFile(join(repo, '.gitattributes'), '*.txt filter=evil diff=evil merge=evil\n*.inc filter=inc\n');
}

describe('gitCommand: a repository config cannot make mso run a program', () => {
  it('finds the drivers a config defines, in included files and the old [section.name] form too', async () => {
    await plantTraps();
    await writeFile(join(repo, '.git', 'config'), '[diff.legacy]\n\ttextconv = x\n', { flag: 'a' });
    const names = configuredDrivers(repo, undefined).map((d) => `${d.kind}.${d.name}`);
    expect(names.sort()).toEqual(['diff.evil', 'diff.legacy', 'filter.evil', 'filter.inc', 'merge.evil']);
    const cmd = gitCommand(['diff', 'HEAD'], { env: { PATH: '/bin', GIT_DIR: '/elsewhere' }, cwd: repo });
    expect(cmd.args.slice(-4)).toEqual(['diff', '--no-ext-diff', '--no-textconv', 'HEAD']);
    expect(cmd.args).toEqual(expect.arrayContaining(['-c', 'core.fsmonitor=', '-c', 'core.hooksPath=/dev/null']));
    expect(cmd.env['GIT_DIR']).toBeUndefined();
    expect(Number(cmd.env['GIT_CONFIG_COUNT'])).toBe(4 + 4 + 2 + 2 + 1);
  });

  it("finds a worktree's own drivers when per-worktree config is on, as git reads them only then", async () => {
    const wt = join(dir, 'wt');
    rawGit(repo, 'worktree', 'add', '-q', '--detach', wt);
    await writeFile(join(repo, '.git', 'worktrees', 'wt', 'config.worktree'), '[filter "own"]\n\tclean = x\n');
    expect(configuredDrivers(wt, undefined)).toEqual([]);
    // Turned on in an included file: that counts too.
    const include = join(dir, 'per-worktree.config');
    await writeFile(include, '[extensions]\n\tworktreeConfig = true\n');
    rawGit(repo, 'config', 'include.path', include);
    expect(configuredDrivers(wt, undefined)).toEqual([{ kind: 'filter', name: 'own' }]);
  });

  it('runs every git step of a node (worktree, status, add, commit, diff, merge, tree hash) with no trap firing', async () => {
    await plantTraps();
    const git = createGit({ proc: platform.proc, env });
    const wt = join(dir, 'wt');
    await git.ok(['worktree', 'add', '-f', '-B', 'mso/run/n1', wt, 'HEAD'], repo);
    await writeFile(join(wt, 'a.txt'), 'changed\n');
    await writeFile(join(wt, 'b.txt'), 'new\n');
    await writeFile(join(wt, 'c.inc'), 'inc\n');
    await git.ok(['status', '--porcelain'], wt);
    const before = await git.ok(['rev-parse', 'HEAD'], wt);
    await git.ok(['add', '-A'], wt);
    await git.ok(['commit', '--allow-empty', '-q', '-m', 'node'], wt);
    const commit = await git.ok(['rev-parse', 'HEAD'], wt);
    expect(await git.ok(['diff', '--binary', before, commit], wt)).toContain('changed');
    await git.ok(['diff', '--name-only', before, commit], wt);
    await git.ok(['log', '-p', '-1'], wt);
    expect(await treeHash(git, platform.fs, wt, commit)).toMatch(/^[0-9a-f]{64}$/);
    // The committed content is the file's, not a filter's output.
    expect(await git.ok(['show', `${commit}:a.txt`], wt)).toBe('changed');
    await git.ok(['checkout', '-q', 'main'], repo);
    await writeFile(join(repo, 'other.md'), 'x\n');
    await git.ok(['add', '-A'], repo);
    await git.ok(['commit', '-q', '-m', 'main side'], repo);
    await git.ok(['merge', '--no-ff', '-q', '-m', 'merge', 'mso/run/n1'], repo);
    // The shell adapter's own git evidence (HEAD and changed files) goes through the same command builder.
    const sh = adapter(testAdapterDeps(), 'sh', { kind: 'shell' });
    const r = await sh.run({ runId: '20261121-msoac-git', instructions: '', command: 'echo z > a.txt', cwd: wt });
    expect(r.status).toBe('success');
    expect(r.changedFiles).toEqual(['a.txt']);
    expect(await readFile(marker, 'utf8').catch(() => '')).toBe('');
  });

  it("makes a node's worktree its own way (files and one reset) with the repository's drivers off", async () => {
    // The attributes committed first (as plantTraps writes them), so the checkout below passes every file through them.
    await writeFile(join(repo, '.gitattributes'), '*.txt filter=evil diff=evil merge=evil\n*.inc filter=inc\n');
    rawGit(repo, 'add', '-A');
    rawGit(repo, 'commit', '-qm', 'attributes');
    await plantTraps();
    const git = createGit({ proc: platform.proc, env });
    const ran: string[] = [];
    const watched = {
      ...git,
      sequence: ((steps, cwd, o) => {
        for (const s of steps) ran.push(('args' in s ? s.args : s)[0] ?? '');
        return git.sequence(steps, cwd, o);
      }) as typeof git.sequence,
    };
    const wt = join(dir, 'own-wt');
    const base = rawGit(repo, 'rev-parse', 'HEAD').trim();
    await addWorktree(watched, platform.fs, { repo, path: wt, branch: 'mso/run/own', base });
    expect(ran).toEqual(['reset']);
    // Checked out verbatim: the smudge filter the repository names never ran.
    expect(await readFile(join(wt, 'a.txt'), 'utf8')).toBe('one\n');
    expect(await readFile(marker, 'utf8').catch(() => '')).toBe('');
  });

  it('without the builder the same repository does run the planted programs (the traps are real)', async () => {
    await plantTraps();
    await writeFile(join(repo, 'a.txt'), 'again\n');
    rawGit(repo, 'status', '--porcelain');
    expect(await readFile(marker, 'utf8')).toMatch(/trap\.sh/);
  });
});

describe("mso's look at the user's checkout", () => {
  it('leaves its index alone: no index.lock for the user to trip on, no rewrite of the whole index', async () => {
    const index = join(repo, '.git', 'index');
    // A tracked file touched, its content the same: git status refreshes the index and writes it when it may.
    const later = new Date(Date.now() + 5_000);
    await utimes(join(repo, 'a.txt'), later, later);
    const git = createGit({ proc: platform.proc, env });
    const before = await stat(index);
    expect((await git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all'], repo)).stdout).toBe('');
    const after = await stat(index);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // Plain git does rewrite it: the check above could fail.
    rawGit(repo, 'status', '--porcelain');
    expect((await stat(index)).ino).not.toBe(before.ino);
  });
});

describe('tree hash', () => {
  it('hashes files as streams: a sparse 500 MB file in constant memory, and the same value as a whole-file hash', async () => {
    const big = join(dir, 'big.bin');
    await writeFile(big, '');
    await truncate(big, 500 * 1024 * 1024);
    const rss = process.memoryUsage.rss();
    const h = await fileSha256(platform.fs, big);
    expect(process.memoryUsage.rss() - rss).toBeLessThan(100 * 1024 * 1024);
    expect((await stat(big)).size).toBe(500 * 1024 * 1024);
    // sha256 of 500 MiB of zero bytes (sha256sum of the same file).
    expect(h).toBe('a08a92258f621b55d08ad1e84c90c2ea6286fc6b6c9a4dfa7156afb16c190170');
    await writeFile(join(repo, 'small.txt'), 'hello\n');
    expect(await fileSha256(platform.fs, join(repo, 'small.txt'))).toBe(
      '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
    );
    // Read on the calling thread (small files whole, large ones still in chunks): the same values.
    const reads: string[] = [];
    const calling = platform.smallFs as SmallFs;
    const small = { stat: calling.stat, readFile: (p: string) => (reads.push(p), calling.readFile(p)) } as SmallFs;
    expect(await fileSha256(platform.fs, join(repo, 'small.txt'), small)).toBe(
      '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
    );
    expect(reads).toEqual([join(repo, 'small.txt')]);
    const rss2 = process.memoryUsage.rss();
    expect(await fileSha256(platform.fs, big, small)).toBe(h);
    expect(process.memoryUsage.rss() - rss2).toBeLessThan(100 * 1024 * 1024);
    expect(reads).toHaveLength(1);
    const edge = join(dir, 'edge.bin');
    for (const size of [0, 64 * 1024, 64 * 1024 + 1, 1024 * 1024, 1024 * 1024 + 1]) {
      await writeFile(edge, Buffer.alloc(size, 7));
      expect(await fileSha256(platform.fs, edge, small)).toBe(await fileSha256(platform.fs, edge));
    }
  });

  it('keeps the value of the whole-file algorithm for ordinary files and symlinks', async () => {
    await mkdir(join(repo, 'sub'));
    await writeFile(join(repo, 'sub', 'b.txt'), 'two\n');
    await symlink('a.txt', join(repo, 'link'));
    rawGit(repo, 'add', '-A');
    rawGit(repo, 'commit', '-qm', 'more');
    const commit = rawGit(repo, 'rev-parse', 'HEAD').trim();
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const outer = createHash('sha256');
    for (const [path, mode, content] of [
      ['a.txt', '100644', await readFile(join(repo, 'a.txt'))],
      ['link', '120000', Buffer.from('a.txt')],
      ['sub/b.txt', '100644', await readFile(join(repo, 'sub', 'b.txt'))],
    ] as const)
      outer.update(`${path}\0${mode}\0${sha(content)}\n`);
    const git = createGit({ proc: platform.proc, env });
    expect(await treeHash(git, platform.fs, repo, commit)).toBe(outer.digest('hex'));
  });
});
