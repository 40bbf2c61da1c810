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

/** Fields before the path in a `git status --porcelain=v2` record, by record type. */
const V2_FIELDS: Readonly<Record<string, number>> = { '1': 8, '2': 9, u: 10, '?': 1, '!': 1 };

/**
 * After an agent ran: the commit HEAD points at and the files changed in the work tree (modified, added, deleted,
 * untracked), from one `git status --porcelain=v2 --branch -z`, plus the files of any commits the agent made since
 * `headBefore` (one more git call, only then). Paths come verbatim (no C-style quoting).
 */
export async function gitAfter(
  deps: { proc: Proc; clock: Clock },
  cwd: string,
  env: Record<string, string>,
  headBefore: string | null,
): Promise<{ headAfter: string | null; changedFiles: string[] }> {
  const out = await git(deps, cwd, ['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all'], env);
  if (out === null) return { headAfter: null, changedFiles: [] };
  let headAfter: string | null = null;
  const files = new Set<string>();
  const records = out.split('\0');
  for (let i = 0; i < records.length; i++) {
    const rec = records[i] as string;
    if (rec.startsWith('# branch.oid ')) {
      const oid = rec.slice('# branch.oid '.length).trim();
      headAfter = /^[0-9a-f]{40,64}$/.test(oid) ? oid : null;
      continue;
    }
    const fields = V2_FIELDS[rec[0] ?? ''];
    if (fields === undefined) continue;
    let at = 0;
    for (let k = 0; k < fields; k++) at = rec.indexOf(' ', at) + 1;
    files.add(rec.slice(at));
    if (rec[0] === '2') i++; // a rename's original path follows in its own record
  }
  if (headBefore && headAfter && headBefore !== headAfter) {
    const diff = await git(deps, cwd, ['diff', '--name-only', '-z', headBefore, headAfter], env);
    for (const f of (diff ?? '').split('\0')) if (f) files.add(f);
  }
  return { headAfter, changedFiles: [...files].sort() };
}
