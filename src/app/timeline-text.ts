/** How `mso timeline` words each kind of audit event. */
import { failureText } from '../contracts/light.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Renders one event as a timeline line, or null for events that carry no decision (raw state noise). */
export function describeEvent(type: string, p: Record<string, unknown>): { kind: string; text: string } | null {
  switch (type) {
    case 'run.provenance':
      return {
        kind: 'provenance',
        text: `mso ${str(p['mso_version'])}, base ${str(p['base_sha']).slice(0, 12)}, plan ${str((p['hashes'] as Record<string, unknown>)?.['plan']).slice(0, 12)}`,
      };
    case 'run.provisioned':
      return {
        kind: 'provision',
        text: `worktrees branch from ${str(p['base_sha']).slice(0, 12)} in ${str(p['repo'])}`,
      };
    case 'run.replay_of':
      return {
        kind: 'replay',
        text: `replay of ${str(p['of'])}${p['offline'] ? ' (offline)' : ''}${p['from'] ? ` from ${str(p['from'])}` : ''}`,
      };
    case 'run.coordinator':
      return {
        kind: 'coordinator',
        text: `coordinator pid ${str(p['pid'])} started${p['budget_usd'] != null ? `, budget $${str(p['budget_usd'])}` : ''}`,
      };
    // A resume after its coordinator died: what it took over and cleaned up before running anything again.
    case 'run.lease_taken_over':
      return {
        kind: 'coordinator',
        text: `took the run over from coordinator pid ${str(p['from_pid'])}${p['from_host'] ? ` on ${str(p['from_host'])}` : ''}, which stopped without ending it`,
      };
    case 'agent.orphan_killed':
      return {
        kind: 'recovery',
        text: `ended process group ${str(p['pid'])} (${str(p['signal'])}) an earlier coordinator left running`,
      };
    case 'attempts.interrupted':
      return {
        kind: 'recovery',
        text: `closed ${str(p['count'])} attempt(s) the stopped coordinator left running; their nodes run again`,
      };
    case 'design.topology':
      return {
        kind: 'design',
        text: `topology ${str(p['topology_type'])} (${str(p['nodes'])} nodes): ${str(p['rationale'] ?? '')}`.slice(
          0,
          400,
        ),
      };
    case 'design.proposals_applied':
      return { kind: 'design', text: `accepted proposals applied: ${str(p['applied'])}` };
    case 'design.mental_model':
    case 'design.refine':
    case 'design.plan':
      return { kind: 'design', text: `${type.slice(7).replace('_', ' ')} written` };
    case 'node.state':
      if (p['state'] === 'running') return { kind: 'ready', text: str(p['detail'] ?? 'ready') };
      if (p['state'] === 'done' || p['state'] === 'failed' || p['state'] === 'waiting' || p['state'] === 'cancelled')
        return { kind: String(p['state']), text: str(p['detail'] ?? p['state']) };
      return null;
    case 'node.attempt':
      return {
        kind: 'attempt',
        text: `attempt ${str(p['attempt_id'])}: chain ${((p['agents'] as string[]) ?? []).join(' → ')}${Number(p['iteration'] ?? 1) > 1 ? `, iteration ${str(p['iteration'])}` : ''}`,
      };
    case 'agent.chain': {
      const trail = (p['trail'] as Array<{ agent: string; outcome: string; reason: string }>) ?? [];
      return {
        kind: 'agent',
        text: `${str(p['chosen'])} answered${trail.length ? ` (${trail.map((t) => `${t.agent}: ${t.outcome}${t.reason ? ` — ${t.reason}` : ''}`).join('; ')})` : ''}${Number(p['retries'] ?? 0) ? `, ${str(p['retries'])} retries` : ''}`,
      };
    }
    case 'node.failure':
      return {
        kind: 'failure',
        text: `${failureText(str(p['error_class']), str(p['message']))} → rule ${str(p['rule'])}, action ${str(p['action'])} (${failureTail(p)})`.slice(
          0,
          400,
        ),
      };
    case 'node.retry':
      return {
        kind: 'retry',
        text: `retry ${str(p['retry'])} of ${str(p['of'])} by rule ${str(p['rule'])} (${str(p['action'])})`,
      };
    case 'node.checkout':
      return { kind: 'checkout', text: `reset to ${str(p['target_commit']).slice(0, 12)} by rule ${str(p['rule'])}` };
    case 'node.committed':
      return {
        kind: 'commit',
        text: `${str(p['commit']).slice(0, 12)} tree ${str(p['tree_hash']).slice(0, 12)} by ${str(p['agent'])}; outputs ${str(p['required_present'])}/${str(p['required_total'])}, gates ${str(p['gates_passed'])}/${str(p['gates_total'])}${p['reused_from'] ? `, reused from ${str(p['reused_from'])}` : ''}`,
      };
    case 'gate.result':
      return {
        kind: 'gate',
        text: `gate \`${str(p['command'])}\`: ${str(p['status'])}${p['exit_code'] != null ? ` (exit ${str(p['exit_code'])})` : ''}`,
      };
    case 'merge.judged': {
      const ranking = (p['ranking'] as Array<{ candidate: string; total: number }>) ?? [];
      const votes = (p['votes'] as Array<{ judge: string; vote: string }>) ?? [];
      return {
        kind: 'judge',
        text: `${str(p['strategy'])}, quorum ${str(p['quorum'])}: ${ranking.map((r) => `${r.candidate}=${r.total}`).join(', ')}; votes ${votes.map((v) => `${v.judge}→${v.vote}`).join(', ')}${p['split'] ? ' (split)' : ''}`,
      };
    }
    case 'merge.completed':
      return {
        kind: 'merge',
        text: `merged ${str(p['merged'])} onto ${str(p['base'])}${(p['skipped'] as unknown[])?.length ? `, skipped ${str(p['skipped'])}` : ''}`,
      };
    case 'merge.conflict':
      return { kind: 'conflict', text: `${str(p['parent'])} conflicts` };
    case 'loop.iterate':
      return {
        kind: 'loop',
        text: `iteration ${str(p['iteration'])} of ${str(p['of'])} back to ${str(p['to'])}: ${str(p['reason'])}`.slice(
          0,
          300,
        ),
      };
    case 'hitl.created':
      return { kind: 'human', text: `${str(p['item'])} (${str(p['kind'])}) asked: ${str(p['title'])}` };
    case 'hitl.decision_requested':
      // Asked from a process that shares only the store; the coordinator records the decision itself (hitl.decided).
      return {
        kind: 'human',
        text: `${str(p['item'])}: ${str(p['decision'])}${p['done'] ? ' (work done)' : ''} asked by ${str(p['by'])} through the store${p['note'] ? `: ${str(p['note'])}` : ''}`.slice(
          0,
          300,
        ),
      };
    case 'budget.check':
      return { kind: 'budget', text: `spent $${Number(p['spent_usd'] ?? 0).toFixed(4)} of $${str(p['budget_usd'])}` };
    case 'ticket.transition':
      return { kind: 'ticket', text: `${str(p['from'])} → ${str(p['to'])}: ${str(p['reason'] ?? '')}` };
    case 'ticket.move_failed':
      return { kind: 'ticket', text: `could not be moved to ${str(p['to'])}: ${str(p['error'])}` };
    case 'run.outcome':
      return {
        kind: 'outcome',
        text: `${str(p['status'])}${p['reason'] ? `: ${str(p['reason'])}` : ''}, cost $${Number(p['cost_usd'] ?? 0).toFixed(4)}`,
      };
    case 'replay.verdict':
      return {
        kind: 'replay',
        text: p['identical'] ? `identical to ${str(p['of'])}` : `diverges from ${str(p['of'])}: ${str(p['first'])}`,
      };
    case 'dispatch.started':
      return {
        kind: 'dispatch',
        text: `mode ${str(p['mode'])} (${str(p['mode_reason'])})${p['agent'] ? `, agent ${str(p['agent'])}` : ''}`,
      };
    case 'dispatch.finished':
      return {
        kind: 'dispatch',
        text: `${str(p['status'])} by ${str(p['agent'])}${p['fallback'] ? `, fallback ${str(p['fallback'])}` : ''}`,
      };
    case 'run.cancel_requested':
      return { kind: 'cancel', text: 'cancel requested' };
    default:
      return null;
  }
}

/** What a failure led to, in exact words: the retry it starts (n of max), no retry left, or a person asked. */
function failureTail(p: Record<string, unknown>): string {
  const failures = Number(p['attempt']);
  const max = Number(p['max_retry']);
  if (p['action'] === 'escalate') return 'escalated to a person';
  if (Number.isFinite(failures) && Number.isFinite(max) && failures <= max) return `retry ${failures} of ${max}`;
  return `no retry left: ${Number.isFinite(max) ? max : '?'} allowed`;
}
