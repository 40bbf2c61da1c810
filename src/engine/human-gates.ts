import type { HitlItem } from '../contracts/index.js';
import { decisionKey, recordHumanDecision, type RecordedDecision } from './decisions.js';
import type { RunContext } from './run-context.js';
import type { NodeOutcome } from './scheduler.js';

export interface HumanGates {
  /** The node's latest item of this kind (or of any of these kinds), if any. */
  latest(nodeId: string, kind: HitlItem['kind'] | readonly HitlItem['kind'][]): Promise<HitlItem | undefined>;
  /** Pending → wait; approved → go on; rejected → fail. Creates the item the first time. */
  gate(
    nodeId: string,
    kind: HitlItem['kind'],
    title: string,
    brief: string,
    evidence: string[],
    urgency?: HitlItem['urgency'],
  ): Promise<'approved' | NodeOutcome>;
}

/** The human items of one run's nodes: created once, answered by a person (or, in a replay, by the record). */
export function createHumanGates(ctx: RunContext): HumanGates {
  const { input, runId } = ctx;

  async function latest(
    nodeId: string,
    kind: HitlItem['kind'] | readonly HitlItem['kind'][],
  ): Promise<HitlItem | undefined> {
    const kinds: readonly HitlItem['kind'][] = typeof kind === 'string' ? [kind] : kind;
    // Listed in id order, which is the order they were asked in.
    return (await input.hitl.list()).filter((h) => h.source.node_id === nodeId && kinds.includes(h.kind)).at(-1);
  }

  async function createGateItem(
    nodeId: string,
    ask: Pick<HitlItem, 'kind' | 'title' | 'brief' | 'evidence' | 'urgency'>,
  ): Promise<HitlItem> {
    const item = await input.hitl.create({
      ...ask,
      run_id: runId,
      gate: ask.kind === 'human_gate' || ask.kind === 'manual_merge' ? 'H2' : 'H1',
      source: {
        node_id: nodeId,
        ...(input.ticketOf.get(nodeId) ? { ticket_id: input.ticketOf.get(nodeId) as string } : {}),
      },
    });
    ctx.event('hitl.created', nodeId, { item: item.id, kind: ask.kind, title: ask.title });
    return item;
  }

  /** A replay answers the gate with the recorded run's decision, attributed to the item it came from. */
  async function decideAsRecorded(item: HitlItem, recorded: RecordedDecision): Promise<HitlItem> {
    const by = `${recorded.by ?? 'a person'} (replayed from ${recorded.item})`;
    const { item: decided } = await input.hitl.decide(item.id, recorded.decision, by, recorded.note);
    ctx.flushStates();
    recordHumanDecision(ctx.deps.log, runId, decided, input.hitl.file(item.id), recorded.item);
    return decided;
  }

  return {
    latest,
    async gate(nodeId, kind, title, brief, evidence, urgency = 'normal') {
      const ask = { kind, title, brief, evidence, urgency };
      let item = await latest(nodeId, kind);
      const recorded = input.recordedDecisions?.get(decisionKey(nodeId, kind));
      if (recorded && (!item || item.status === 'pending'))
        item = await decideAsRecorded(item ?? (await createGateItem(nodeId, ask)), recorded);
      if (item?.status === 'approved') return 'approved';
      if (item?.status === 'rejected')
        return {
          kind: 'failed',
          reason: `${item.id} rejected by ${item.decided_by ?? 'a person'}${item.note ? `: ${item.note}` : ''}`,
        };
      item ??= await createGateItem(nodeId, ask);
      return { kind: 'waiting', reason: `${item.id}: ${title}` };
    },
  };
}
