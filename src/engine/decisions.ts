import type { AuditLog } from '../audit/index.js';
import type { HitlItem } from '../contracts/index.js';

/** A person's decision on a human gate, as an earlier run recorded it: a replay answers the same gate with it. */
export interface RecordedDecision {
  readonly item: string;
  readonly decision: 'approved' | 'rejected';
  readonly by: string | null;
  readonly note: string | null;
}

/** Where a run's recorded decisions are looked up: one per node and gate kind (a gate asks once per run). */
export const decisionKey = (nodeId: string, kind: HitlItem['kind']): string => `${nodeId}\0${kind}`;

/** The decided items of a run, by node and kind, for a replay to answer its gates with. */
export function recordedDecisions(items: readonly HitlItem[]): Map<string, RecordedDecision> {
  const out = new Map<string, RecordedDecision>();
  for (const h of items) {
    if (!h.source.node_id || (h.status !== 'approved' && h.status !== 'rejected')) continue;
    out.set(decisionKey(h.source.node_id, h.kind), {
      item: h.id,
      decision: h.status,
      by: h.decided_by ?? null,
      note: h.note ?? null,
    });
  }
  return out;
}

/**
 * Writes a decided human item to the audit log: a `decisions` row (with the item as evidence and its impact) and a
 * `hitl.decided` event, so `mso timeline` and the audit tell who decided what and why.
 */
export function recordHumanDecision(
  log: AuditLog,
  runId: string,
  item: HitlItem,
  itemFile: string,
  replayedFrom: string | null = null,
): void {
  const decision = item.status === 'approved' ? 'approved' : 'rejected';
  const by = item.decided_by ?? 'unknown';
  log.recordDecision({
    title: `${item.id} ${decision}: ${item.title}`.slice(0, 300),
    context: item.brief,
    content: item.note ?? decision,
    requestedBy: 'engine',
    approvedBy: by,
    evidence: [{ type: 'hitl', refPath: itemFile, description: item.evidence.join('; ') || null }],
    impacts: [
      {
        domain: item.source.node_id ? `node ${item.source.node_id}` : 'run',
        description: decision === 'approved' ? 'the run may go on past this point' : 'the node fails',
        reversibility: 'Medium',
      },
    ],
    tags: ['hitl', item.kind, ...(replayedFrom ? ['replay'] : [])],
  });
  log.appendEvent({
    runId,
    type: 'hitl.decided',
    nodeId: item.source.node_id ?? null,
    payload: {
      item: item.id,
      decision,
      by,
      note: item.note ?? null,
      ...(replayedFrom ? { replayed_from: replayedFrom } : {}),
    },
  });
}
