import { gitCommand, type Clock, type Proc } from '../../platform/index.js';
import { superviseProcess } from './supervise.js';

/** Runs git in `cwd` (hardened by `gitCommand`) and returns its stdout, or null when it fails (not a repo, no commits). */
async function git(
  deps: { proc: Proc; clock: Clock },
  cwd: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<string | null> {
  const cmd = gitCommand(args, { env, cwd });
  const r = await superviseProcess(deps, {
    command: 'git',
    args: cmd.args,
    cwd,
    env: cmd.env,
    deadlines: { totalMs: 30_000 },
  });
  if (r.exitCode !== 0) return null;
  return r.transcript
    .split('\n')
    .filter((l) => l.startsWith('1|'))
    .map((l) => l.slice(2))
    .join('\n');
}

/** The commit HEAD points at, or null. */
export async function gitHead(
  deps: { proc: Proc; clock: Clock },
  cwd: string,
  env: Record<string, string>,
): Promise<string | null> {
  return (await git(deps, cwd, ['rev-parse', '--verify', '-q', 'HEAD'], env))?.trim() || null;
}

/** Files changed in the work tree (modified, added, deleted, untracked) and between two commits, from git itself. */
export async function gitChangedFiles(
  deps: { proc: Proc; clock: Clock },
  cwd: string,
  env: Record<string, string>,
  headBefore: string | null,
  headAfter: string | null,
): Promise<string[]> {
  const files = new Set<string>();
  const status = await git(deps, cwd, ['status', '--porcelain=v1', '--untracked-files=all'], env);
  for (const line of (status ?? '').split('\n')) {
    if (line.length < 4) continue;
    const path = line.slice(3);
    files.add(path.includes(' -> ') ? (path.split(' -> ')[1] ?? path) : path);
  }
  if (headBefore && headAfter && headBefore !== headAfter) {
    const diff = await git(deps, cwd, ['diff', '--name-only', headBefore, headAfter], env);
    for (const f of (diff ?? '').split('\n')) if (f) files.add(f);
  }
  return [...files].sort();
}
