import { basename, dirname, join, resolve } from 'node:path';
import { gitDirs, type Fs } from '../platform/index.js';
import type { Git, GitStep } from './git.js';

/** A git command whose failure does not matter, run in the same process before the worktree's checkout. */
export interface FirstStep {
  readonly args: readonly string[];
  readonly cwd: string;
}

export interface WorktreeAdded {
  /** `first`'s exit status and output, when one was given. */
  readonly first?: { readonly code: number; readonly stdout: string };
}

/**
 * Adds a worktree at `path` on `branch`, set to `base` and checked out: what `git worktree add -f -B branch path base`
 * does, with one git process where that command runs four (itself, then `branch --force`, `symbolic-ref` and
 * `reset --hard` as children; each git process costs 5–10 ms here, and every node makes a worktree).
 *
 * It writes the worktree's administrative files as git does and documents them (gitrepository-layout(5):
 * `worktrees/<id>/gitdir`, `commondir`, `HEAD`, `locked` while it is made, and the worktree's `.git` file), then runs
 * `git reset --hard base` in it: on its unborn branch that creates the branch at `base`, or moves it there, and fills
 * the index and the files. A stale registration of the same path (its folder deleted, not pruned) is taken over, as
 * `-f` does. Repositories whose worktrees need more than these files (sparse checkout, per-worktree config, any
 * `extensions.*` such as reftable or relative worktrees) and a folder that already has files go through
 * `git worktree add` itself.
 */
export async function addWorktree(
  git: Git,
  fs: Pick<Fs, 'mkdir' | 'writeFile' | 'readFile' | 'readdir' | 'realpath' | 'rm'>,
  o: { readonly repo: string; readonly path: string; readonly branch: string; readonly base: string },
  first?: FirstStep,
  serialize: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<WorktreeAdded> {
  // Steps that do not depend on each other run side by side: in a chain the next node waits for its worktree, and
  // each file system call is a round trip through the thread pool.
  const [common, folderHasFiles] = await Promise.all([
    plainCommonDir(fs, o.repo),
    fs.readdir(o.path).then(
      (names) => names.length > 0,
      () => false,
    ),
  ]);
  // `git worktree add` is not safe to run side by side in one repository: the caller's `serialize` runs one at a time.
  // mso's own way is: each worktree has its own folder, administrative folder (made with an exclusive mkdir), index,
  // HEAD and branch, and git locks each ref it writes.
  if (common === null || folderHasFiles) return serialize(() => gitWorktreeAdd(git, o, first));
  const root = join(common, 'worktrees');
  await Promise.all([fs.mkdir(o.path, { recursive: true }), fs.mkdir(root, { recursive: true })]);
  const wt = await fs.realpath(o.path);
  const admin = await claimAdminDir(fs, root, adminName(wt), `${wt}/.git`);
  // `locked` at once: a `git worktree prune` meanwhile leaves a half-made entry alone (git does the same). The other
  // files are written by the shell that runs the reset, just before it (new files are the largest part of a
  // worktree's cost in the coordinator).
  await fs.writeFile(join(admin, 'locked'), 'initializing\n');
  const writes = [
    { path: join(admin, 'gitdir'), text: `${wt}/.git\n` },
    { path: join(admin, 'commondir'), text: '../..\n' },
    { path: join(admin, 'HEAD'), text: `ref: refs/heads/${o.branch}\n` },
    { path: join(wt, '.git'), text: `gitdir: ${admin}\n` },
  ];
  const reset = ['reset', '-q', '--hard', '--no-recurse-submodules', o.base];
  let r: Awaited<ReturnType<Git['sequence']>> | undefined;
  try {
    // Its drivers are the repository's (the worktree reads that config: per-worktree config goes through git above).
    const step: GitStep = { args: reset, writes, driversFrom: o.repo };
    r = await git.sequence(first ? [{ ...first, apart: true }, step] : [step], wt);
  } finally {
    if (r?.failed === null) await fs.rm(join(admin, 'locked'), { force: true });
    else {
      // Nothing half-made is left behind, as `git worktree add` removes its own on failure.
      await fs.rm(admin, { recursive: true, force: true });
      await fs.rm(join(wt, '.git'), { force: true });
    }
  }
  if (r.failed !== null)
    throw new Error(`git ${reset.join(' ')} failed in ${wt}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.apart ? { first: r.apart } : {};
}

/**
 * Whether `wt` holds a worktree that can be reset and used. What a coordinator killed while making one leaves behind
 * (its `.git` file empty or cut, its administrative folder still `locked` as being made, or missing git's files) is
 * removed here, the folder and the administrative folder it names, so that {@link addWorktree} makes it again: a
 * reset in it would fail ("invalid gitfile format"), or leave it locked for good. Nothing of a half-made worktree is
 * worth keeping: the node it was made for had not started.
 */
export async function worktreeInPlace(
  fs: Pick<Fs, 'readFile' | 'rm' | 'realpath'>,
  repo: string,
  wt: string,
): Promise<boolean> {
  let dotGit: string;
  try {
    dotGit = await fs.readFile(join(wt, '.git'), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    if (code === 'EISDIR') return true; // a repository of its own, not a worktree mso makes: as it is
    throw e;
  }
  const admin = /^gitdir:\s*(.+?)\s*$/m.exec(dotGit)?.[1];
  const text = (name: string): Promise<string | null> =>
    admin === undefined ? Promise.resolve(null) : fs.readFile(join(admin, name), 'utf8').catch(() => null);
  const [locked, head, commondir] = await Promise.all([text('locked'), text('HEAD'), text('commondir')]);
  const halfMade = admin === undefined || head === null || commondir === null || locked?.trim() === 'initializing';
  if (!halfMade) return true;
  // Only an administrative folder of this repository's worktrees is removed: `.git` is a file in the worktree, which
  // the node's agent could have rewritten to name any folder.
  const dirs = gitDirs(repo);
  const worktrees = dirs ? await fs.realpath(join(dirs.commonDir, 'worktrees')).catch(() => null) : null;
  if (admin !== undefined && worktrees !== null && dirname(resolve(admin)) === worktrees)
    await fs.rm(admin, { recursive: true, force: true });
  await fs.rm(wt, { recursive: true, force: true });
  return false;
}

async function gitWorktreeAdd(
  git: Git,
  o: { readonly repo: string; readonly path: string; readonly branch: string; readonly base: string },
  first?: FirstStep,
): Promise<WorktreeAdded> {
  const add = ['worktree', 'add', '-f', '-B', o.branch, o.path, o.base];
  const steps: GitStep[] = first ? [{ ...first, apart: true }, { args: add }] : [{ args: add }];
  const r = await git.sequence(steps, o.repo);
  if (r.failed !== null)
    throw new Error(`git ${add.join(' ')} failed in ${o.repo}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.apart ? { first: r.apart } : {};
}

/**
 * The repository's common git directory (real path), when its worktrees need only the files {@link addWorktree}
 * writes; null otherwise.
 */
async function plainCommonDir(fs: Pick<Fs, 'readFile' | 'realpath'>, repo: string): Promise<string | null> {
  const dirs = gitDirs(repo);
  if (!dirs) return null;
  const [config, sparse, real] = await Promise.all([
    fs.readFile(join(dirs.commonDir, 'config'), 'utf8').catch(() => null),
    fs.readFile(join(dirs.commonDir, 'info', 'sparse-checkout')).then(
      () => true,
      () => false,
    ),
    fs.realpath(dirs.commonDir).catch(() => null),
  ]);
  if (config === null || /^\s*\[\s*extensions\b|sparsecheckout|worktreeconfig/im.test(config)) return null;
  return sparse ? null : real;
}

/** git's worktree id for a folder: its name, with what a ref component cannot hold replaced. */
function adminName(wt: string): string {
  const name = basename(wt)
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+/, '');
  return name || 'worktree';
}

/**
 * Makes `<root>/<name>` (or `<name>1`, `<name>2`, ... when taken, as git numbers them; `root`, git's `worktrees`
 * folder, exists) and returns its real path; an entry that already names `gitdir` (the same folder, registered
 * before) is taken over.
 */
async function claimAdminDir(
  fs: Pick<Fs, 'mkdir' | 'readFile' | 'realpath'>,
  root: string,
  name: string,
  gitdir: string,
): Promise<string> {
  for (let i = 0; ; i++) {
    const dir = join(root, i === 0 ? name : `${name}${i}`);
    try {
      await fs.mkdir(dir);
      return await fs.realpath(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const names = await fs.readFile(join(dir, 'gitdir'), 'utf8').catch(() => '');
      if (names.trim() === gitdir) return await fs.realpath(dir);
    }
  }
}
