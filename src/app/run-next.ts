import type { RunSummary } from './run-types.js';

/** A command to type next for a run, and why (a person reads it after the command). */
export interface NextStep {
  readonly command: string;
  readonly note?: string;
}

/**
 * What to type next for a run in the state its summary gives: apply a finished run's result, resume one that can go
 * on, rerun the nodes a resume would skip (their ticket cancelled) or that failed. A run made again already
 * (`reruns`) points at the new run instead of a rerun. Every interface shows the same steps (`mso status`, `--json`).
 */
export function nextSteps(
  s: Pick<
    RunSummary,
    'run_id' | 'status' | 'nodes' | 'waiting' | 'cancelled_tickets' | 'resumable' | 'reruns' | 'result'
  >,
  /** The run branched from a repository of its own (`--init`, kept in its folder): a merge would land there. */
  options: { readonly ownRepo?: boolean } = {},
): NextStep[] {
  const run = s.run_id;
  const rerunAlready = (s.reruns?.length ?? 0) > 0;
  const steps: NextStep[] = [];
  if (s.status === 'completed' && s.result?.length) {
    const node = s.result.length > 1 ? ` --node ${s.result[0]?.node}` : '';
    steps.push(
      options.ownRepo
        ? {
            command: `mso apply ${run}${node} --patch result.patch`,
            note: `its repository is the run's own (--init): the patch carries the work to yours`,
          }
        : { command: `mso apply ${run}${node}`, note: `or: mso apply ${run} --patch result.patch` },
    );
  }
  if (s.status === 'created' || (s.status === 'cancelled' && s.resumable !== false) || s.status === 'interrupted')
    steps.push({ command: `mso resume ${run}` });
  // Nodes whose tickets a person cancelled: a resume never runs them; a rerun of them (and what follows) does.
  if ((s.status === 'cancelled' || s.status === 'failed') && s.cancelled_tickets?.length && !rerunAlready)
    steps.push({
      command: `mso rerun ${run} --node ${s.cancelled_tickets.map((c) => c.node).join(',')}`,
      note: `resume skips a node whose ticket is cancelled: ${s.cancelled_tickets.map((c) => `${c.node} ${c.ticket}`).join(', ')}`,
    });
  if (s.status === 'awaiting_human') {
    const waiting = s.waiting.map((w) => w.item);
    steps.push({
      command: `mso resume ${run}`,
      ...(waiting.length ? { note: `once ${waiting.join(', ')} ${waiting.length > 1 ? 'are' : 'is'} decided` } : {}),
    });
  }
  // A run whose nodes failed: run them (and what depends on them) again, reusing the rest; the logs say why. A run
  // completed without a failed branch (its merge went past it) can have that branch run again too.
  if ((s.status === 'failed' || s.status === 'completed') && (s.nodes['failed'] ?? 0) > 0 && !rerunAlready)
    steps.push({ command: `mso rerun ${run} --failed`, note: `why: mso logs ${run}` });
  return steps;
}
