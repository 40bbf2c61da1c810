import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitAfter, gitHead } from '../agents/process/git-evidence.js';
import { nodePlatform } from '../platform/index.js';
import { commitAll, createGit, treeHash } from './git.js';
import { applyChanges, createTreeHasher, listTree } from './tree-hash.js';

const platform = nodePlatform();
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() };
const git = createGit({ proc: platform.proc, env });
let repo: string;

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'mso-git-test-'));
  await git.ok(['init', '-q', '-b', 'main'], repo);
  await writeFile(join(repo, 'old name.txt'), 'a file that will be renamed\n'.repeat(20));
  await writeFile(join(repo, 'gone.txt'), 'deleted later\n');
  await git.ok(['add', '-A'], repo);
  await git.ok(['commit', '-q', '-m', 'base'], repo);
});
afterAll(async () => {
  await rm(repo, { recursive: true, force: true });
});

describe('the git layer of a node', () => {
  it('commits everything and reads back what diff --binary and diff --name-only say, in one call', async () => {
    const before = await git.ok(['rev-parse', 'HEAD'], repo);
    const evidenceBefore = await gitHead({ proc: platform.proc, clock: platform.clock }, repo, env);
    await git.ok(['mv', 'old name.txt', 'new name.txt'], repo);
    await rm(join(repo, 'gone.txt'));
    await writeFile(join(repo, 'ünïcode.txt'), 'ü\n');
    await writeFile(join(repo, 'bin.dat'), Buffer.from([0, 1, 2, 255]));
    await symlink('new name.txt', join(repo, 'link'));
    const evidence = await gitAfter({ proc: platform.proc, clock: platform.clock }, repo, env, evidenceBefore);
    expect(evidence.headAfter).toBe(before);
    // The staged rename counts by its new path, as in porcelain v1 (`old -> new`).
    expect(evidence.changedFiles).toEqual(['bin.dat', 'gone.txt', 'link', 'new name.txt', 'ünïcode.txt']);

    const made = await commitAll(git, repo, 'mso: n1', 1 << 20);
    expect(made.parent).toBe(before);
    expect(made.commit).toBe(await git.ok(['rev-parse', 'HEAD'], repo));
    expect(made.patch).toBe(await git.ok(['diff', '--binary', before, made.commit], repo));
    const names = (await git.run(['diff', '--name-only', '-z', before, made.commit], repo)).stdout;
    expect(made.files).toEqual(names.split('\0').filter(Boolean));
    expect(made.files).toContain('ünïcode.txt');
    expect(made.files).not.toContain('old name.txt'); // a rename counts by its new path, as diff --name-only says

    const empty = await commitAll(git, repo, 'mso: n2', 1 << 20);
    expect(empty).toMatchObject({ parent: made.commit, files: [], patch: '', patchOmitted: null });
    const small = await commitAll(git, repo, 'mso: n3', 0);
    expect(small.patchOmitted).toBeNull(); // an empty patch fits any limit
  });

  it('gives the same tree hash with and without the run’s content hashes', async () => {
    const head = await git.ok(['rev-parse', 'HEAD'], repo);
    const cache = new Map<string, string>();
    const cold = await treeHash(git, platform.fs, repo, head, cache);
    expect(cache.size).toBeGreaterThan(0);
    expect(await treeHash(git, platform.fs, repo, head, cache)).toBe(cold);
    expect(await treeHash(git, platform.fs, repo, head)).toBe(cold);
  });

  it('derives a commit’s tree from its parent’s and its raw changes, as git lists it, and hashes it the same', async () => {
    const hasher = createTreeHasher(git, platform.fs, new Map());
    const base = await commitAll(git, repo, 'mso: base of the derived trees', 1 << 20);
    expect(await hasher.hash(repo, base.commit)).toBe(await treeHash(git, platform.fs, repo, base.commit));
    await mkdir(join(repo, 'deep/er'), { recursive: true });
    await writeFile(join(repo, 'deep/er/x.txt'), 'x\n');
    await writeFile(join(repo, 'new name.txt'), 'changed\n');
    await git.ok(['mv', 'ünïcode.txt', 'deep/moved ü.txt'], repo);
    await rm(join(repo, 'bin.dat'));
    await chmod(join(repo, 'deep/er/x.txt'), 0o755);
    await rm(join(repo, 'link'));
    await symlink('deep/er/x.txt', join(repo, 'link'));
    const made = await commitAll(git, repo, 'mso: many kinds of change', 1 << 20);
    // Added, deleted, modified (content, mode, symlink target) and renamed paths, in subfolders too.
    const changes = made.changes ?? [];
    expect(new Set(changes.map((c) => c.status[0]))).toEqual(new Set(['A', 'D', 'M', 'R']));
    const listed = await listTree(git, repo, made.commit);
    expect(applyChanges(await listTree(git, repo, base.commit), changes)).toEqual(listed);
    expect(await hasher.hash(repo, made.commit, made)).toBe(await treeHash(git, platform.fs, repo, made.commit));
  });

  it('runs add, commit and log in one shell without the shell reading the message, and names the step that failed', async () => {
    const message = 'mso: n9 it\'s $(touch PWNED) `id` "quoted"';
    await writeFile(join(repo, 'quoted.txt'), 'q\n');
    const made = await commitAll(git, repo, message, 1 << 20);
    expect(made.files).toEqual(['quoted.txt']);
    expect(await git.ok(['log', '-1', '--format=%B', made.commit], repo)).toBe(message);
    await expect(commitAll(git, join(repo, 'no such folder'), 'x', 1)).rejects.toThrow(/git add -A failed/);
    const seq = await git.sequence([['rev-parse', 'HEAD'], ['no-such-command'], ['rev-parse', 'HEAD']], repo);
    expect(seq).toMatchObject({ failed: 1, stdout: `${made.commit}\n` });
  });

  it('writes a step’s files in its shell just before it, quoted as given, and fails that step when one cannot be written', async () => {
    const text = "it's $(touch PWNED) `id`\nline two\n";
    const seq = await git.sequence(
      [
        ['rev-parse', 'HEAD'],
        { args: ['rev-parse', '--show-toplevel'], writes: [{ path: join(repo, 'w1.txt'), text }] },
      ],
      repo,
    );
    expect(seq.failed).toBeNull();
    const written = await readFile(join(repo, 'w1.txt'), 'utf8');
    await rm(join(repo, 'w1.txt'));
    expect(written).toBe(text);
    expect(await platform.fs.stat(join(repo, 'PWNED')).catch(() => null)).toBeNull();
    const bad = await git.sequence(
      [{ args: ['rev-parse', 'HEAD'], writes: [{ path: join(repo, 'no such folder', 'x'), text: 'x' }] }, ['status']],
      repo,
    );
    expect(bad.failed).toBe(0);
    // The shell's own reason: the folder does not exist (not merely the path echoed back).
    expect(bad.stderr).toMatch(/cannot create .*no such folder.*(?:nonexistent|No such file)/);
  });

  it('runs a first command in another folder apart from the commit, each with its own folder’s drivers off, never stopping it', async () => {
    const other = await mkdtemp(join(tmpdir(), 'mso-git-test-other-'));
    const attributes = join(repo, '.git/info/attributes');
    try {
      await git.ok(['init', '-q', '-b', 'main'], other);
      await writeFile(join(other, 'a.txt'), 'a\n');
      await git.ok(['add', '-A'], other);
      await git.ok(['commit', '-q', '-m', 'base'], other);
      await writeFile(join(other, 'a.txt'), 'changed\n');
      await writeFile(join(other, 'untracked.txt'), 'u\n');
      // Only the commit's repository defines the driver: the first step's keys alone would leave it on for the add.
      await git.ok(['config', 'filter.trap.clean', `touch ${join(other, 'TRAPPED')}; cat`], repo);
      await mkdir(join(repo, '.git/info'), { recursive: true });
      await writeFile(attributes, 'with-first.txt filter=trap\n');
      await writeFile(join(repo, 'with-first.txt'), 'f\n');
      const status = ['status', '--porcelain=v1', '-z', '--untracked-files=all'];
      const made = await commitAll(git, repo, 'mso: with a first step', 1 << 20, { args: status, cwd: other });
      expect(made.first).toEqual({ code: 0, stdout: ' M a.txt\0?? untracked.txt\0' });
      expect(made.files).toEqual(['with-first.txt']);
      expect(made.commit).toBe(await git.ok(['rev-parse', 'HEAD'], repo));
      expect(await platform.fs.stat(join(other, 'TRAPPED')).catch(() => null)).toBeNull();
      // Its failure is its own: the commit is made all the same.
      await writeFile(join(repo, 'after-failed-first.txt'), 'f\n');
      const gone = join(other, 'no such folder');
      const next = await commitAll(git, repo, 'mso: after a failed first step', 1 << 20, { args: status, cwd: gone });
      expect(next.first?.code).not.toBe(0);
      expect(next).toMatchObject({ parent: made.commit, files: ['after-failed-first.txt'] });
      // The first step runs beside the others (its output through the script server's side file), or first in the
      // same shell without a script server: the same answers either way, also when a later step fails.
      const spawned = createGit({ proc: { ...platform.proc, runScript: async () => null }, env });
      // The script server's answers, seen: the first step's output comes back in its side file.
      const seen: Array<{ side: string | undefined; text: string | undefined }> = [];
      const watched = createGit({
        proc: {
          ...platform.proc,
          runScript: async (req) => {
            const r = await platform.proc.runScript?.(req);
            seen.push({ side: req.side, text: r?.side });
            return r ?? null;
          },
        },
        env,
      });
      const first = { args: status, cwd: other, apart: true } as const;
      for (const g of [watched, spawned]) {
        const ok = await g.sequence([first, ['rev-parse', 'HEAD']], repo);
        expect(ok).toMatchObject({ code: 0, failed: null, stdout: `${next.commit}\n` });
        expect(ok.apart).toEqual({ code: 0, stdout: ' M a.txt\0?? untracked.txt\0' });
        const broken = await g.sequence([first, ['rev-parse', '--verify', '-q', 'no-such-ref'], ['status']], repo);
        expect(broken).toMatchObject({ failed: 1, apart: { code: 0, stdout: ' M a.txt\0?? untracked.txt\0' } });
        // Alone, it is waited for all the same.
        expect((await g.sequence([first], repo)).apart).toEqual({ code: 0, stdout: ' M a.txt\0?? untracked.txt\0' });
      }
      expect(seen).toHaveLength(3);
      for (const s of seen) {
        expect(s.side).toBe('mso_side');
        expect(s.text).toMatch(/^ M a\.txt\0\?\? untracked\.txt\0\n--mso-step-[0-9a-f]{24}-- 0\n$/);
      }
    } finally {
      await git.run(['config', '--remove-section', 'filter.trap'], repo);
      await rm(attributes, { force: true });
      await rm(other, { recursive: true, force: true });
    }
  });

  it('lists the tree of a merge commit (an agent’s unfinished merge) instead of deriving it', async () => {
    const hasher = createTreeHasher(git, platform.fs, new Map());
    const base = await commitAll(git, repo, 'mso: before the side branch', 1 << 20);
    await hasher.hash(repo, base.commit);
    // By name: mso's git keeps no reflog of the refs it makes, and `switch -` reads HEAD's.
    const first = await git.ok(['symbolic-ref', '--short', 'HEAD'], repo);
    await git.ok(['switch', '-q', '-c', 'side'], repo);
    await writeFile(join(repo, 'side.txt'), 'side\n');
    await commitAll(git, repo, 'side', 1 << 20);
    await git.ok(['switch', '-q', first], repo);
    await git.ok(['merge', '-q', '--no-ff', '--no-commit', 'side'], repo);
    const made = await commitAll(git, repo, 'mso: concludes the merge', 1 << 20);
    expect(made).toMatchObject({ parent: base.commit, changes: null });
    expect(await hasher.hash(repo, made.commit, made)).toBe(await treeHash(git, platform.fs, repo, made.commit));
  });
});
