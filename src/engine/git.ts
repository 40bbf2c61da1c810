import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InvalidArgumentError, refNameProblem } from '../contracts/index.js';
import { gitCommand, type Fs, type Proc } from '../platform/index.js';
import { nodeBranchName } from './branches.js';

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Git through its CLI (no JS library supports worktrees), with a fixed identity and no user config side effects. */
export interface Git {
  /** `maxOutput` (default 256 MB): past this many bytes of output git is ended and the call fails (code 1). */
  run(
    args: readonly string[],
    cwd: string,
    input?: string,
    options?: { readonly maxOutput?: number },
  ): Promise<GitResult>;
  /** Like run, but throws with git's stderr on a non-zero exit. */
  ok(args: readonly string[], cwd: string): Promise<string>;
}

const ENV_KEEP = ['PATH', 'HOME', 'LANG', 'TMPDIR'];
/** Past this much output a git call is ended and fails: mso never holds an unbounded git answer in memory. */
const MAX_GIT_OUTPUT = 256 * 1024 * 1024;

export function createGit(deps: {
  readonly proc: Proc;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Git {
  const env: Record<string, string> = {
    GIT_AUTHOR_NAME: 'mso',
    GIT_AUTHOR_EMAIL: 'mso@localhost',
    GIT_COMMITTER_NAME: 'mso',
    GIT_COMMITTER_EMAIL: 'mso@localhost',
  };
  for (const k of ENV_KEEP) if (deps.env[k]) env[k] = deps.env[k] as string;
  const run = (
    args: readonly string[],
    cwd: string,
    input?: string,
    options: { readonly maxOutput?: number } = {},
  ): Promise<GitResult> =>
    new Promise((resolve) => {
      const limit = options.maxOutput ?? MAX_GIT_OUTPUT;
      const cmd = gitCommand(args, { env, cwd });
      const child = deps.proc.spawn('git', cmd.args, {
        cwd,
        env: cmd.env,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let overflow = false;
      const collect = (into: Buffer[]) => (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          if (!overflow) child.kill('SIGKILL');
          overflow = true;
          return;
        }
        into.push(c);
      };
      child.stdout?.on('data', collect(out));
      child.stderr?.on('data', collect(err));
      const text = (b: Buffer[]): string => Buffer.concat(b).toString('utf8');
      child.on('error', (e) => resolve({ code: 127, stdout: text(out), stderr: e.message }));
      child.on('close', (code) =>
        resolve(
          overflow
            ? { code: 1, stdout: '', stderr: `git ${args[0] ?? ''} printed more than ${limit} bytes` }
            : { code: code ?? 1, stdout: text(out), stderr: text(err) },
        ),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  return {
    run,
    async ok(args, cwd) {
      const r = await run(args, cwd);
      if (r.code !== 0)
        throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${r.stderr.trim() || r.stdout.trim()}`);
      return r.stdout.trim();
    },
  };
}

/** A node's commit as `commitAll` made it. */
export interface NodeCommit {
  readonly commit: string;
  /** HEAD before the commit (the commit's only parent). */
  readonly parent: string;
  /** The paths the commit changed against its parent (renames and copies by their new path), verbatim. */
  readonly files: readonly string[];
  /** `git diff --binary parent commit`, trimmed; empty when it was too large to keep (see patchOmitted). */
  readonly patch: string;
  /** Why the patch was left out (larger than `maxPatchChars`, or than git's output limit), or null. */
  readonly patchOmitted: string | null;
}

const logArgs = (patch: boolean): string[] => [
  'log',
  '-1',
  '--no-color',
  '--format=%H %P',
  '--raw',
  '-z',
  ...(patch ? ['-p', '--binary'] : []),
  'HEAD',
];

/**
 * Stages everything in the worktree and commits it (empty commits too), then reads the commit, its parent, the
 * changed paths and the binary patch back in one `git log` call: three git processes where `add`, `commit`,
 * `rev-parse` twice, `diff --binary` and `diff --name-only` took six. A patch over `maxPatchChars` (or over git's
 * output limit, then read again without it) is left out and the reason given.
 */
export async function commitAll(
  git: Git,
  worktree: string,
  message: string,
  maxPatchChars: number,
): Promise<NodeCommit> {
  await git.ok(['add', '-A'], worktree);
  await git.ok(['commit', '--allow-empty', '-q', '-m', message], worktree);
  // A patch past the limit is never held: git is stopped once its output passes it (a 500 MB file is not read in).
  const r = await git.run(logArgs(true), worktree, undefined, { maxOutput: maxPatchChars + 4 * 1024 * 1024 });
  if (r.code === 0) {
    const c = parseCommitLog(r.stdout);
    if (c.patch.length <= maxPatchChars) return c;
    const why = `the patch is ${c.patch.length} characters; at most ${maxPatchChars} are kept`;
    return { ...c, patch: '', patchOmitted: why };
  }
  const without = await git.run(logArgs(false), worktree);
  if (without.code !== 0)
    throw new Error(`git ${logArgs(false).join(' ')} failed in ${worktree}: ${without.stderr.trim()}`);
  const omitted = /printed more than/.test(r.stderr)
    ? `the patch is larger than ${maxPatchChars} characters, the most that is kept`
    : r.stderr.trim().slice(0, 300);
  return { ...parseCommitLog(without.stdout), patch: '', patchOmitted: omitted };
}

/**
 * Parses `git log -1 --format='%H %P' --raw -z -p --binary`: `<commit> <parent>\0`, then (when the commit changed
 * anything) `\n`, one raw record per path (`:<modes> <ids> <status>\0<path>\0`, two paths for renames and copies),
 * `\0` and the patch.
 */
export function parseCommitLog(out: string): NodeCommit {
  const end = out.indexOf('\0');
  const [commit = '', parent = ''] = out.slice(0, end).trim().split(' ');
  if (!/^[0-9a-f]{40,64}$/.test(commit) || !/^[0-9a-f]{40,64}$/.test(parent))
    throw new Error(`unexpected git log output: ${out.slice(0, 200)}`);
  const files: string[] = [];
  let i = end + 1;
  if (out[i] === '\n') i++;
  while (out[i] === ':') {
    const meta = out.slice(i, out.indexOf('\0', i));
    i += meta.length + 1;
    const status = meta.slice(meta.lastIndexOf(' ') + 1);
    let path = '';
    for (let k = status.startsWith('R') || status.startsWith('C') ? 2 : 1; k > 0; k--) {
      const next = out.indexOf('\0', i);
      path = out.slice(i, next);
      i = next + 1;
    }
    files.push(path);
  }
  if (out[i] === '\0') i++;
  return { commit, parent, files, patch: out.slice(i).trim(), patchOmitted: null };
}

/**
 * tree_hash_ref: SHA-256 over the sorted list of (path, mode, SHA-256 of content) of a committed tree, read from the
 * worktree that has that commit checked out (clean after the commit). `contentHashes` (git object id and mode ->
 * SHA-256 of the content) carries the hashes of the files a run has already read, so a node hashes only the files
 * that are new to the run instead of the whole tree again; the result is the same with or without it.
 */
export async function treeHash(
  git: Git,
  fs: Fs,
  worktree: string,
  commit: string,
  contentHashes: Map<string, string> = new Map(),
): Promise<string> {
  const listing = await git.ok(['ls-tree', '-r', '-z', '--full-tree', commit], worktree);
  const entries = listing
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      const [mode = '', , oid = ''] = meta.split(' ');
      return { mode, oid, path };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const outer = createHash('sha256');
  for (const e of entries) {
    const key = `${e.mode} ${e.oid}`;
    let inner = contentHashes.get(key);
    if (inner === undefined) {
      inner =
        e.mode === '120000'
          ? createHash('sha256')
              .update(Buffer.from(await fs.readlink(join(worktree, e.path))))
              .digest('hex')
          : await fileSha256(fs, join(worktree, e.path));
      contentHashes.set(key, inner);
    }
    outer.update(`${e.path}\0${e.mode}\0${inner}\n`);
  }
  return outer.digest('hex');
}

const HASH_CHUNK = 1024 * 1024;

/** SHA-256 of a file read in 1 MB chunks, so a file of any size is hashed in constant memory. */
export async function fileSha256(fs: Pick<Fs, 'open'>, path: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/**
 * The branch of a node in a run, `mso/<run-id>/<node-id>`, checked by the same ref rule as the id schemas
 * (`refComponentProblem`), so git never refuses a name mso made.
 */
export function nodeBranch(runId: string, nodeId: string): string {
  const ref = nodeBranchName(runId, nodeId);
  const problem = refNameProblem(ref);
  if (problem) throw new InvalidArgumentError('branch name', `${ref}: ${problem}`);
  return ref;
}
