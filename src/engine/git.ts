import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Fs, Proc } from '../platform/index.js';

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

export function createGit(deps: {
  readonly proc: Proc;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Git {
  const env: Record<string, string> = {
    GIT_AUTHOR_NAME: 'mso',
    GIT_AUTHOR_EMAIL: 'mso@localhost',
    GIT_COMMITTER_NAME: 'mso',
    GIT_COMMITTER_EMAIL: 'mso@localhost',
    GIT_TERMINAL_PROMPT: '0',
  };
  for (const k of ENV_KEEP) if (deps.env[k]) env[k] = deps.env[k] as string;
  const run = (args: readonly string[], cwd: string, input?: string): Promise<GitResult> =>
    new Promise((resolve) => {
      const child = deps.proc.spawn('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', ...args], {
        cwd,
        env,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
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
    const content =
      e.mode === '120000'
        ? Buffer.from(await fs.readlink(join(worktree, e.path)))
        : await fs.readFile(join(worktree, e.path));
    const inner = createHash('sha256').update(content).digest('hex');
    outer.update(`${e.path}\0${e.mode}\0${inner}\n`);
  }
  return outer.digest('hex');
}
