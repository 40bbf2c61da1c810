import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InvalidArgumentError, refNameProblem } from '../contracts/index.js';
import { gitCommand, type Fs, type Proc } from '../platform/index.js';

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Git through its CLI (no JS library supports worktrees), with a fixed identity and no user config side effects. */
export interface Git {
  run(args: readonly string[], cwd: string, input?: string): Promise<GitResult>;
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
  const run = (args: readonly string[], cwd: string, input?: string): Promise<GitResult> =>
    new Promise((resolve) => {
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
        if (size > MAX_GIT_OUTPUT) {
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
            ? { code: 1, stdout: '', stderr: `git ${args[0] ?? ''} printed more than ${MAX_GIT_OUTPUT} bytes` }
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

/**
 * tree_hash_ref: SHA-256 over the sorted list of (path, mode, SHA-256 of content) of a committed tree, read from the
 * worktree that has that commit checked out (clean after the commit).
 */
export async function treeHash(git: Git, fs: Fs, worktree: string, commit: string): Promise<string> {
  const listing = await git.ok(['ls-tree', '-r', '-z', '--full-tree', commit], worktree);
  const entries = listing
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      return { mode: meta.split(' ')[0] as string, path };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const outer = createHash('sha256');
  for (const e of entries) {
    const inner =
      e.mode === '120000'
        ? createHash('sha256')
            .update(Buffer.from(await fs.readlink(join(worktree, e.path))))
            .digest('hex')
        : await fileSha256(fs, join(worktree, e.path));
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
  const ref = `mso/${runId}/${nodeId}`;
  const problem = refNameProblem(ref);
  if (problem) throw new InvalidArgumentError('branch name', `${ref}: ${problem}`);
  return ref;
}
