import { pointer } from './json-patch.js';
import type { DetectorInput, Finding } from './finding.js';

/** Bottlenecks by time: node durations against the run's critical path, and queue waits (starvation). */
export function bottlenecks(i: DetectorInput): Finding[] {
  if (!i.plan) return [];
  const rows = i.db
    .prepare(
      "SELECT node_id, at, json_extract(payload, '$.state') AS state, seq FROM events WHERE run_id = ? AND type = 'node.state' ORDER BY seq",
    )
    .all(i.runId) as Array<{ node_id: string; at: string; state: string; seq: number }>;
  const start = new Map<string, { at: number; seq: number }>();
  const end = new Map<string, { at: number; seq: number }>();
  // When each node held a slot: from 'running' to whatever state followed it (done, failed, waiting, ...).
  const held: Array<{ id: string; from: number; to: number }> = [];
  const since = new Map<string, number>();
  for (const r of rows) {
    const at = Date.parse(r.at);
    if (r.state === 'running') {
      start.set(r.node_id, { at, seq: r.seq });
      since.set(r.node_id, at);
      continue;
    }
    if (since.has(r.node_id)) held.push({ id: r.node_id, from: since.get(r.node_id) as number, to: at });
    since.delete(r.node_id);
    if (r.state === 'done' && start.has(r.node_id)) end.set(r.node_id, { at, seq: r.seq });
  }
  for (const [id, from] of since) held.push({ id, from, to: Number.POSITIVE_INFINITY });
  const graph = i.plan.execution_graph;
  const dur = new Map([...end].map(([id, e]) => [id, e.at - (start.get(id)?.at ?? e.at)]));
  const finish = new Map<string, number>();
  const longest = (id: string): number => {
    if (finish.has(id)) return finish.get(id) as number;
    const f = (dur.get(id) ?? 0) + Math.max(0, ...(graph[id]?.parent_refs ?? []).map(longest));
    finish.set(id, f);
    return f;
  };
  const critical = Math.max(0, ...Object.keys(graph).map(longest));
  const o = i.policy.observability;
  const out: Finding[] = [];
  // Starved nodes grouped by the limit that held them: an agent's lane, or the run's own limit.
  const starved = new Map<
    string,
    { lane: string | null; limit: number; peak: number; nodes: string[]; evidence: string[]; waits: number[] }
  >();
  for (const [id, d] of dur) {
    if (
      critical > 0 &&
      d / critical >= o.bottleneck_share &&
      d >= o.bottleneck_min_ms &&
      Object.keys(graph).length > 1
    ) {
      out.push({
        kind: 'bottleneck',
        severity: 'warning',
        node_id: id,
        message: `node ${id} (${graph[id]?.persona ?? 'no persona'}) took ${Math.round(d / 1000)} s, ${Math.round((d / critical) * 100)}% of the critical path (${Math.round(critical / 1000)} s)`,
        evidence: [`events:${start.get(id)?.seq}`, `events:${end.get(id)?.seq}`],
        target_skills: ['topology-design', 'execution-design'],
        pattern: `bottleneck:${i.designKey ?? i.runId}:${id}`,
        proposal: null,
      });
    }
    const parentsDone = Math.max(0, ...(graph[id]?.parent_refs ?? []).map((p) => end.get(p)?.at ?? 0));
    const wait = parentsDone > 0 ? (start.get(id)?.at ?? 0) - parentsDone : 0;
    if (wait > 0 && wait >= o.bottleneck_min_ms && d > 0 && wait / d >= o.queue_wait_share) {
      const lane = laneOf(graph[id]);
      // The most slots held by other nodes at any moment of the wait (a slot freed and taken again in the same
      // millisecond as the parents finished still counts).
      const startedAt = start.get(id)?.at ?? parentsDone;
      const busy = (inLane: boolean): number => {
        const others = held.filter(
          (h) => h.id !== id && h.from <= startedAt && h.to > parentsDone && (!inLane || laneOf(graph[h.id]) === lane),
        );
        const moments = [parentsDone, ...others.map((h) => h.from).filter((t) => t > parentsDone && t < startedAt)];
        return Math.max(0, ...moments.map((t) => others.filter((h) => h.from <= t && t < h.to).length));
      };
      const laneLimit = lane ? i.policy.agents[lane]?.concurrency : undefined;
      const byLane = laneLimit !== undefined && busy(true) >= laneLimit;
      const key = byLane ? `lane:${lane}` : 'run';
      const group = starved.get(key) ?? {
        lane: byLane ? lane : null,
        limit: byLane ? (laneLimit as number) : i.policy.run_policy.max_concurrency,
        peak: 0,
        nodes: [],
        evidence: [],
        waits: [],
      };
      group.peak = Math.max(group.peak, busy(byLane));
      group.nodes.push(id);
      group.evidence.push(`events:${start.get(id)?.seq}`);
      group.waits.push(wait);
      starved.set(key, group);
    }
  }
  for (const g of starved.values()) out.push(starvation(i, g));
  return out;
}

/** The concurrency lane of a plan node, as the runner assigns it: `shell` for commands, else its agent. */
function laneOf(node: unknown): string | null {
  const n = (node ?? {}) as { command?: string; agent?: string };
  return n.command ? 'shell' : (n.agent ?? null);
}

/** A starvation finding for the nodes one limit held back, proposing to raise that limit in policy.yaml. */
function starvation(
  i: DetectorInput,
  g: { lane: string | null; limit: number; peak: number; nodes: string[]; evidence: string[]; waits: number[] },
): Finding {
  const held = g.lane ? `agent ${g.lane}'s concurrency (${g.limit})` : `the run's concurrency (${g.peak} running)`;
  const longest = Math.round(Math.max(...g.waits) / 1000);
  // The run's own limit may have come from --max-concurrency: raise from what was running, not only from policy.
  const current = g.lane ? g.limit : Math.max(g.limit, g.peak);
  const raised = current * 2;
  const path = g.lane ? pointer('agents', g.lane, 'concurrency') : pointer('run_policy', 'max_concurrency');
  // Nodes waiting on a person's lane: more parallel asks do not make a person answer faster.
  const humanLane = g.lane !== null && (i.policy.agents[g.lane]?.kind ?? g.lane) === 'manual';
  return {
    kind: 'queue_starvation',
    severity: 'warning',
    node_id: g.nodes.length === 1 ? (g.nodes[0] as string) : null,
    message: `node${g.nodes.length > 1 ? 's' : ''} ${g.nodes.join(', ')} waited up to ${longest} s for a slot after their parents finished, held by ${held}: concurrency starvation`,
    evidence: g.evidence,
    target_skills: ['execution-design'],
    pattern: g.lane ? `starvation:agent:${g.lane}` : 'starvation:run',
    proposal: humanLane
      ? null
      : {
          target: 'policy',
          summary: g.lane
            ? `let agent ${g.lane} run ${raised} nodes at once (was ${current})`
            : `let a run execute ${raised} nodes at once (run_policy.max_concurrency, was ${current})`,
          patch: [{ op: 'replace', path, value: raised }],
          expected_effect: `${g.nodes.join(', ')} start when their parents finish instead of waiting up to ${longest} s`,
          rollback_rule: g.lane
            ? `revert if ${g.lane} starts failing with rate_limit or quota errors, or its cost per run rises by half`
            : 'revert if the machine runs out of memory or agents start failing with rate_limit errors',
          scope: { design_key: null, node_id: null },
        },
  };
}
