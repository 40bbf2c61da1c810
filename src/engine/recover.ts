import { join } from 'node:path';
import { treeHash } from './git.js';
import type { RunContext } from './run-context.js';

/**
 * Finds nodes whose events were lost (a write-ahead log deleted after a crash) but whose work is on disk: the ticket
 * says done, and the node's worktree holds the node's own `mso: <id>` commit at the tip of its branch. Their commit is
 * recorded again (`recovered: true`) so a resume does not run finished work twice. Everything else stays as recorded.
 */
export async function recoverLostCommits(ctx: RunContext): Promise<string[]> {
  const { deps, input } = ctx;
  const recovered: string[] = [];
  for (const id of ctx.ids) {
    const r = ctx.rec(id);
    const ticket = input.ticketOf.get(id);
    if (r.commit !== null || !ticket) continue;
    // A node with no worktree has nothing to recover: looked at first, it spares a fresh run a read of every ticket.
    const wt = ctx.worktreeOf(id);
    if (!(await deps.fs.stat(join(wt, '.git')).catch(() => undefined))) continue;
    if ((await input.tickets.get(ticket)).doc.frontmatter.status !== 'done') continue;
    const head = await deps.git.run(['rev-parse', '--verify', 'HEAD'], wt);
    const tip = await deps.git.run(['rev-parse', '--verify', ctx.branchOf(id)], input.repo);
    if (head.code !== 0 || tip.code !== 0 || head.stdout.trim() !== tip.stdout.trim()) continue;
    const commit = head.stdout.trim();
    const subject = await deps.git.run(['log', '-1', '--format=%s', commit], wt);
    if (subject.code !== 0 || !subject.stdout.startsWith(`mso: ${id}`)) continue;
    const th = await treeHash(deps.git, deps.fs, wt, commit, ctx.contentHashes);
    ctx.event('node.committed', id, {
      commit,
      tree_hash: th,
      summary: 'recovered from the worktree after lost audit events',
      files: [],
      agent: 'recovered',
      recovered: true,
    });
    Object.assign(r, { commit, treeHash: th, committedLast: true, summary: 'recovered' });
    recovered.push(id);
  }
  return recovered;
}
