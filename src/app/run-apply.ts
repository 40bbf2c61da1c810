import { dirname, resolve } from 'node:path';
import { openAuditLog } from '../audit/index.js';
import { ApplyRefusedError, InvalidArgumentError } from '../contracts/index.js';
import { loadRecordedRun } from '../engine/index.js';
import { writeFileAtomic } from '../workspace/index.js';
import { readRunArtifact } from './run-artifacts.js';
import { resultRefs, type RunOpsContext } from './run-support.js';
import type { ApplyOptions, ApplyResult } from './run-types.js';
import { auditOptions } from './settings.js';

/**
 * `mso apply`: merges a run's result commit (its final node's branch) into the user's branch — refusing on a dirty
 * working tree and aborting a conflicting merge — or writes the result as a patch from the run's base commit.
 */
export async function applyRun(c: RunOpsContext, runId: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const { deps, git } = c;
  const ws = await c.open(false);
  const ref = await ws.runs.get(runId);
  const plan = await readRunArtifact(deps, ref.dir, 'plan', 'execution plan');
  const log = openAuditLog(deps, auditOptions(ws, deps));
  let recorded;
  try {
    recorded = loadRecordedRun(log, runId);
  } finally {
    log.close();
  }
  const { repo, baseSha } = recorded;
  if (!repo || !baseSha) throw new ApplyRefusedError(runId, 'it never reached execution (no repository recorded)');
  const results = resultRefs(runId, plan.execution_graph, recorded);
  const pick =
    options.node !== undefined
      ? results.find((r) => r.node === options.node)
      : results.length === 1
        ? results[0]
        : undefined;
  if (!pick) {
    if (results.length === 0)
      throw new ApplyRefusedError(runId, `no final node committed yet (status ${ref.manifest.status})`);
    // Which result to take is the caller's choice: a missing or wrong --node is bad input (exit 2), not a conflict.
    const finals = results.map((r) => r.node).join(', ');
    throw new InvalidArgumentError(
      '--node',
      options.node !== undefined
        ? `${options.node} is not a final node of ${runId} with a commit (final: ${finals})`
        : `${runId} has ${results.length} final nodes; choose one with --node (${finals})`,
    );
  }
  const base = { run_id: runId, node: pick.node, commit: pick.commit, repo };
  if (options.patch !== undefined) {
    const file = resolve(c.cwd, options.patch);
    // Written into a folder that exists, never over one: nothing is made around the file.
    const [folder, there] = await Promise.all([
      deps.fs.stat(dirname(file)).catch(() => undefined),
      deps.fs.stat(file).catch(() => undefined),
    ]);
    if (!folder?.isDirectory()) throw new InvalidArgumentError('--patch', `${dirname(file)} is not a folder`);
    if (there?.isDirectory()) throw new InvalidArgumentError('--patch', `${file} is a folder`);
    const diff = await git.ok(['diff', '--binary', baseSha, pick.commit], repo);
    // An empty patch is no patch (git apply refuses one): nothing is written, and the answer says so. A file left
    // there by an earlier apply goes, as writing the patch would have replaced it: it is not this result.
    if (diff === '') {
      if (there) await deps.fs.rm(file, { force: true });
      return { ...base, mode: 'patch', changed: false, merged: null, onto: null, patch: null };
    }
    await writeFileAtomic(deps, file, diff.endsWith('\n') ? diff : `${diff}\n`);
    return { ...base, mode: 'patch', changed: true, merged: null, onto: null, patch: file };
  }
  // A branch that does not exist is bad input, named before the checkout's state is looked at.
  if (options.onto !== undefined) {
    const exists = await git.run(['rev-parse', '--verify', '--quiet', `refs/heads/${options.onto}`], repo);
    if (exists.code !== 0)
      throw new InvalidArgumentError(
        '--onto',
        `no branch ${options.onto} in ${repo} (git branch there lists its branches)`,
      );
  }
  const dirty = (await git.ok(['status', '--porcelain', '--untracked-files=no'], repo)).trim();
  if (dirty)
    throw new ApplyRefusedError(
      runId,
      `the working tree of ${repo} has uncommitted changes; commit or stash them first (or use --patch FILE)`,
    );
  if (options.onto !== undefined) await git.ok(['checkout', '-q', options.onto], repo);
  const onto = (await git.run(['symbolic-ref', '--short', 'HEAD'], repo)).stdout.trim() || null;
  // Applied before (or the result is the base): the branch holds it already, and no merge commit is made.
  const held = await git.run(['merge-base', '--is-ancestor', pick.commit, 'HEAD'], repo);
  if (held.code === 0) return { ...base, mode: 'merge', changed: false, merged: null, onto, patch: null };
  const merge = await git.run(
    ['merge', '--no-ff', '--no-edit', '-m', `mso: apply ${runId} (${pick.branch})`, pick.commit],
    repo,
  );
  if (merge.code !== 0) {
    await git.run(['merge', '--abort'], repo);
    throw new ApplyRefusedError(
      runId,
      `merging ${pick.branch} into ${onto ?? 'HEAD'} conflicts; the merge was aborted (use --patch FILE to apply by hand): ${(merge.stdout + merge.stderr).trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  const merged = await git.ok(['rev-parse', 'HEAD'], repo);
  return { ...base, mode: 'merge', changed: true, merged: merged.trim(), onto, patch: null };
}
