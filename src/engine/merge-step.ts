import type { HumanGates } from './human-gates.js';
import { judge, type Candidate } from './judge.js';
import type { RunContext } from './run-context.js';
import type { NodeOutcome } from './scheduler.js';

/**
 * The Critic/Judge role: checks a merge node's quorum, scores its succeeded parents by the merge policy, and merges
 * them into the node's worktree best first. A missed quorum, a manual policy, a split vote or a git conflict goes to
 * a person.
 */
export async function prepareMerge(
  ctx: RunContext,
  gates: HumanGates,
  id: string,
): Promise<{ wt: string } | NodeOutcome> {
  const { deps, input, runId, rec } = ctx;
  const { git, log } = deps;
  const n = ctx.node(id);
  const mp = n.merge_policy ?? {
    strategy: 'score_weighted' as const,
    scoring_weights: { confidence: 0.4, completeness: 0.3, format_compliance: 0.3 },
    quorum: n.parent_refs.length,
    manual_review_required: false,
  };
  const ok = n.parent_refs.filter((p) => rec(p).state === 'done' && rec(p).commit);
  const quorum = mp.quorum ?? n.parent_refs.length;
  if (ok.length < quorum) {
    const g = await gates.gate(
      id,
      'quorum_missed',
      `merge ${id}: ${ok.length} of ${n.parent_refs.length} parents succeeded, quorum ${quorum}`,
      `Only ${ok.join(', ') || 'no parent'} succeeded. Approve to merge what succeeded, reject to fail the merge.`,
      n.parent_refs.map((p) => `${p}: ${rec(p).state} ${rec(p).detail ?? ''}`),
    );
    if (g !== 'approved') return g;
  }
  if (ok.length === 0) return { kind: 'failed', reason: 'no parent succeeded' };
  const candidates: Candidate[] = ok.map((p) => ({
    id: p,
    result: { status: 'success', output: rec(p).summary, changedFiles: rec(p).files, summary: rec(p).summary },
    requiredPresent: rec(p).requiredPresent,
    requiredTotal: rec(p).requiredTotal,
    gatesPassed: rec(p).gatesPassed,
    gatesTotal: rec(p).gatesTotal,
  }));
  const verdict = await judge(candidates, mp.scoring_weights, input.critic);
  ctx.event('merge.judged', id, {
    ranking: verdict.ranking,
    votes: verdict.votes,
    split: verdict.split,
    strategy: mp.strategy,
    quorum,
  });
  log.recordDecision({
    title: `merge ${id}: ${mp.strategy}, winner ${verdict.winner ?? 'none'}`,
    context: `parents ${n.parent_refs.join(', ')}; succeeded ${ok.join(', ')}; quorum ${quorum}`,
    content: JSON.stringify({ ranking: verdict.ranking, votes: verdict.votes, split: verdict.split }),
    requestedBy: 'engine',
    approvedBy: verdict.votes.map((v) => v.judge).join('+'),
    evidence: verdict.ranking.map((r) => ({
      type: 'score',
      refPath: `${runId}/${r.candidate}@${rec(r.candidate).commit ?? ''}`,
      description: JSON.stringify(r.scores),
    })),
    impacts: [{ domain: 'merge', description: `${id} built on ${verdict.winner ?? 'none'}`, reversibility: 'High' }],
    tags: ['merge', 'vote'],
  });
  deps.faults?.point('merge.judged');
  if (mp.strategy === 'manual' || mp.manual_review_required) {
    const g = await gates.gate(
      id,
      'manual_merge',
      `merge ${id} needs a person (strategy ${mp.strategy})`,
      `Ranking: ${verdict.ranking.map((r) => `${r.candidate}=${r.total}`).join(', ')}. Approve to merge best first.`,
      verdict.ranking.map((r) => JSON.stringify(r)),
      'normal',
    );
    if (g !== 'approved') return g;
  }
  if (verdict.split) {
    const g = await gates.gate(
      id,
      'split_vote',
      `merge ${id}: the judges disagree`,
      `Votes: ${verdict.votes.map((v) => `${v.judge}→${v.vote}`).join(', ')}. Approve to take the best total (${verdict.winner}).`,
      verdict.votes.map((v) => JSON.stringify(v)),
    );
    if (g !== 'approved') return g;
  }
  const accepted = verdict.ranking.filter((r) => r.total > 0).map((r) => r.candidate);
  const [best, ...rest] = accepted.length ? accepted : ok;
  const wt = await ctx.prepareWorktree(id, rec(best as string).commit as string);
  const conflictApproved = (await gates.latest(id, 'merge_conflict'))?.status === 'approved';
  const skipped: string[] = [];
  for (const p of rest) {
    const r = await git.run(
      ['merge', '--no-ff', '--no-edit', '-m', `mso: merge ${p} into ${id}`, rec(p).commit as string],
      wt,
    );
    if (r.code !== 0) {
      await git.run(['merge', '--abort'], wt);
      if (conflictApproved) {
        skipped.push(p);
        continue;
      }
      ctx.event('merge.conflict', id, { parent: p, detail: (r.stdout + r.stderr).slice(0, 2000) });
      const g = await gates.gate(
        id,
        'merge_conflict',
        `merge ${id}: ${p} conflicts with ${best}`,
        `git could not merge ${p} (${rec(p).commit}) into ${best}. Approve to keep the non-conflicting branches only, or reject.`,
        [(r.stdout + r.stderr).slice(0, 500)],
        'high',
      );
      if (g !== 'approved') return g;
      skipped.push(p);
    }
  }
  ctx.event('merge.completed', id, {
    base: best,
    merged: rest.filter((p) => !skipped.includes(p)),
    skipped,
    strategy: mp.strategy,
  });
  deps.faults?.point('merge.merged');
  return { wt };
}
