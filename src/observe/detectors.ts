import type { ExecutionPlan, HitlItem, MentalModelBundle, Policy, Severity } from '../contracts/index.js';
import { MENTAL_MODELS } from '../design/index.js';
import type { SqliteDb } from '../platform/index.js';
import { pointer, type PatchOp } from './json-patch.js';

export type FindingKind =
  | 'repeated_failure'
  | 'retry_spike'
  | 'bottleneck'
  | 'queue_starvation'
  | 'cost_anomaly'
  | 'budget_overrun'
  | 'deferral_loop'
  | 'stale_hitl'
  | 'error_hotspot'
  | 'unstable_provider';

/** A concrete change to the design: a JSON Patch against one artifact or policy.yaml. */
export interface ProposalDraft {
  readonly target: 'topology' | 'mental_model' | 'plan' | 'policy';
  readonly summary: string;
  readonly patch: readonly PatchOp[];
  readonly expected_effect: string;
  readonly rollback_rule: string;
  /** Plan, topology and mental-model patches apply to later runs of the same goal or workflow. */
  readonly scope: { readonly design_key: string | null; readonly node_id: string | null };
}

/** One thing a detector found, with the audit rows behind it (`table:id`). */
export interface Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly message: string;
  readonly node_id: string | null;
  readonly evidence: readonly string[];
  readonly target_skills: readonly string[];
  /** Stable key of the underlying pattern, for suggestion history (rejections). */
  readonly pattern: string;
  readonly proposal: ProposalDraft | null;
}

export interface DetectorInput {
  readonly db: SqliteDb;
  readonly runId: string;
  readonly plan: ExecutionPlan | null;
  readonly bundle: MentalModelBundle | null;
  readonly policy: Pick<Policy, 'observability' | 'fallback_chains' | 'resilience' | 'agents' | 'run_policy'>;
  readonly now: Date;
  readonly hitl: readonly HitlItem[];
  readonly runError: { readonly message: string; readonly reason?: string | undefined } | null;
  readonly designKey: string | null;
}

interface AttemptRow {
  attempt_id: string;
  run_id: string;
  node_id: string | null;
  persona: string | null;
  agent: string | null;
  provider: string | null;
  model: string | null;
  status: string;
  is_retry: number;
  duration_ms: number | null;
  cost_usd: number | null;
  error_class: string | null;
  error_message: string | null;
  error_fingerprint: string | null;
  files_changed: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function chainWithout(
  policy: DetectorInput['policy'],
  persona: string | null,
  agent: string,
): { key: string; chain: string[] } | null {
  const key = persona && policy.fallback_chains[persona] ? persona : 'default';
  const chain = policy.fallback_chains[key];
  if (!chain?.includes(agent) || chain.length < 2) return null;
  return { key, chain: [...chain.filter((a) => a !== agent), agent] };
}

/** Repeated failures: the same error fingerprint ≥ N times across runs, where this run has it too. */
function repeatedFailures(i: DetectorInput, attempts: readonly AttemptRow[]): Finding[] {
  const out: Finding[] = [];
  const mine = new Map<string, AttemptRow>();
  // A cancelled attempt (a person or Ctrl-C stopped it) did not fail.
  for (const a of attempts) if (a.error_fingerprint && a.status !== 'cancelled') mine.set(a.error_fingerprint, a);
  for (const [fp, a] of mine) {
    const rows = i.db
      .prepare(
        "SELECT attempt_id, run_id FROM attempts WHERE error_fingerprint = ? AND status != 'cancelled' ORDER BY started_at",
      )
      .all(fp) as Array<{ attempt_id: string; run_id: string }>;
    if (rows.length < i.policy.observability.repeated_failure_min) continue;
    const runs = new Set(rows.map((r) => r.run_id));
    const where = `${a.node_id ? `node ${a.node_id}` : 'a node'}${a.persona ? ` (${a.persona})` : ''} on ${a.agent ?? a.provider ?? 'its agent'}`;
    let proposal: ProposalDraft | null = null;
    const node = a.node_id ? i.plan?.execution_graph[a.node_id] : undefined;
    if ((a.error_class === 'timeout' || a.error_class === 'stalled_stream') && a.node_id && node) {
      const current = node.timeout_s ?? Math.round(i.policy.resilience.deadlines.total_ms / 1000);
      const longest =
        ((
          i.db.prepare('SELECT MAX(duration_ms) AS d FROM attempts WHERE error_fingerprint = ?').get(fp) as {
            d: number | null;
          }
        ).d ?? 0) / 1000;
      const raised = Math.max(current * 2, Math.ceil(longest * 2), 1);
      proposal = {
        target: 'plan',
        summary: `raise the timeout of ${a.node_id} from ${current}s to ${raised}s`,
        patch: [
          {
            op: node.timeout_s === undefined ? 'add' : 'replace',
            path: pointer('execution_graph', a.node_id, 'timeout_s'),
            value: raised,
          },
        ],
        expected_effect: `${a.node_id} stops timing out (it failed ${rows.length} times with the same timeout)`,
        rollback_rule: `revert if ${a.node_id} still times out in the next 2 runs or its duration more than doubles`,
        scope: { design_key: i.designKey, node_id: a.node_id },
      };
    } else if (a.agent && ['rate_limit', 'server_error', 'network', 'auth', 'quota'].includes(a.error_class ?? '')) {
      const reroute = chainWithout(i.policy, a.persona, a.agent);
      if (reroute) {
        proposal = {
          target: 'policy',
          summary: `route persona ${a.persona ?? 'default'} away from ${a.agent} (move it to the end of its fallback chain)`,
          patch: [{ op: 'replace', path: pointer('fallback_chains', reroute.key), value: reroute.chain }],
          expected_effect: `${a.error_class} failures of ${a.agent} no longer reach ${a.persona ?? 'default'} work`,
          rollback_rule: `restore the chain when ${a.agent} has run 5 calls without failure`,
          scope: { design_key: null, node_id: null },
        };
      }
    } else if (a.node_id && i.bundle && i.plan?.execution_graph[a.node_id]) {
      const chartId = i.bundle.node_chart_map[a.node_id]?.[0];
      const index = i.bundle.local_charts.findIndex((c) => c.id === chartId);
      const review = MENTAL_MODELS.find((m) => m.id === 'critical_review');
      const chart = i.bundle.local_charts[index];
      if (index >= 0 && review && chart?.model_id !== 'critical_review') {
        proposal = {
          target: 'mental_model',
          summary: `give ${a.node_id} the critical_review model (it keeps failing with ${a.error_class})`,
          patch: [
            { op: 'test', path: pointer('local_charts', index, 'id'), value: chartId },
            { op: 'replace', path: pointer('local_charts', index, 'model_id'), value: 'critical_review' },
            { op: 'replace', path: pointer('local_charts', index, 'name'), value: review.name },
            { op: 'replace', path: pointer('local_charts', index, 'guidance'), value: review.guidance },
          ],
          expected_effect: `${a.node_id} checks its own output against the acceptance criteria before finishing`,
          rollback_rule: `revert if ${a.node_id} fails the same way in the next 2 runs`,
          scope: { design_key: i.designKey, node_id: a.node_id },
        };
      }
    }
    out.push({
      kind: 'repeated_failure',
      severity: rows.length >= i.policy.observability.repeated_failure_min * 2 ? 'critical' : 'warning',
      message: `the same failure (${a.error_class}: ${(a.error_message ?? '').slice(0, 120)}) happened ${rows.length} times in ${runs.size} run(s), at ${where}`,
      node_id: a.node_id,
      evidence: rows.map((r) => `attempts:${r.attempt_id}`),
      target_skills: ['execution-design', 'agent-collaboration'],
      pattern: `repeated_failure:${fp}`,
      proposal,
    });
  }
  return out;
}

/** The fewest finished attempts a retry share is judged on: below it, one retry is not a spike. */
export const RETRY_SPIKE_MIN_ATTEMPTS = 5;
/** Failure classes a longer backoff helps (the provider recovers); a bad request or a crash does not. */
const BACKOFF_CLASSES = new Set(['rate_limit', 'server_error', 'network', 'overloaded', 'timeout', 'stalled_stream']);

function retrySpike(i: DetectorInput, attempts: readonly AttemptRow[]): Finding[] {
  const finished = attempts.filter((a) => a.status !== 'running' && a.status !== 'queued' && a.status !== 'cancelled');
  if (finished.length < RETRY_SPIKE_MIN_ATTEMPTS) return [];
  const retries = finished.filter((a) => a.is_retry);
  const share = retries.length / finished.length;
  const o = i.policy.observability;
  if (share < o.retry_spike_warning) return [];
  const delay = i.policy.resilience.retry.initial_delay_ms;
  // Backoff is proposed only when the failures it would wait out happened on an agent (not a shell command).
  const backoffWorthy = finished.some(
    (a) => a.agent !== 'shell' && a.error_class !== null && BACKOFF_CLASSES.has(a.error_class),
  );
  return [
    {
      kind: 'retry_spike',
      severity: share >= o.retry_spike_critical ? 'critical' : 'warning',
      message: `${retries.length} of ${finished.length} finished attempts (${Math.round(share * 100)}%) were retries (judged from ${RETRY_SPIKE_MIN_ATTEMPTS} attempts up; cancelled ones not counted)`,
      node_id: null,
      evidence: retries.map((a) => `attempts:${a.attempt_id}`),
      target_skills: ['execution-design', 'agent-collaboration'],
      pattern: 'retry_spike',
      proposal: !backoffWorthy
        ? null
        : {
            target: 'policy',
            summary: `back off longer before retrying (initial delay ${delay} ms -> ${delay * 2} ms)`,
            patch: [{ op: 'replace', path: pointer('resilience', 'retry', 'initial_delay_ms'), value: delay * 2 }],
            expected_effect: 'fewer retries that fail again because the provider has not recovered yet',
            rollback_rule: 'revert if the retry share does not fall below the warning threshold in 3 runs',
            scope: { design_key: null, node_id: null },
          },
    },
  ];
}

/** Bottlenecks by time: node durations against the run's critical path, and queue waits (starvation). */
function bottlenecks(i: DetectorInput): Finding[] {
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
  return {
    kind: 'queue_starvation',
    severity: 'warning',
    node_id: g.nodes.length === 1 ? (g.nodes[0] as string) : null,
    message: `node${g.nodes.length > 1 ? 's' : ''} ${g.nodes.join(', ')} waited up to ${longest} s for a slot after their parents finished, held by ${held}: concurrency starvation`,
    evidence: g.evidence,
    target_skills: ['execution-design'],
    pattern: g.lane ? `starvation:agent:${g.lane}` : 'starvation:run',
    proposal: {
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

function costAnomalies(i: DetectorInput, attempts: readonly AttemptRow[]): Finding[] {
  const out: Finding[] = [];
  const o = i.policy.observability;
  const keys: Array<['node_id' | 'persona' | 'provider', string]> = [];
  for (const a of attempts)
    for (const k of ['node_id', 'persona', 'provider'] as const)
      if (a[k] && (a.cost_usd ?? 0) > 0) keys.push([k, a[k] as string]);
  const seen = new Set<string>();
  for (const [col, value] of keys) {
    const id = `${col}:${value}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const mine = attempts.filter((a) => a[col] === value).reduce((s, a) => s + (a.cost_usd ?? 0), 0);
    const history = (
      i.db
        .prepare(
          `SELECT run_id, SUM(cost_usd) AS c FROM attempts WHERE ${col} = ? AND run_id != ? AND cost_usd IS NOT NULL GROUP BY run_id`,
        )
        .all(value, i.runId) as Array<{ c: number }>
    ).map((r) => r.c);
    if (history.length < o.cost_min_history) continue;
    const med = median(history);
    const mad = median(history.map((h) => Math.abs(h - med))) || Math.max(med * 0.05, 1e-6);
    const z = (0.6745 * (mine - med)) / mad;
    if (z > o.cost_z && mine > med * 1.5) {
      const ids = attempts.filter((a) => a[col] === value).map((a) => `attempts:${a.attempt_id}`);
      const node = col === 'node_id' ? i.plan?.execution_graph[value] : undefined;
      out.push({
        kind: 'cost_anomaly',
        severity: z > o.cost_z * 2 ? 'critical' : 'warning',
        node_id: col === 'node_id' ? value : null,
        message: `${col.replace('_id', '')} ${value} cost $${mine.toFixed(4)}, against a median of $${med.toFixed(4)} over ${history.length} runs (robust z ${z.toFixed(1)})`,
        evidence: ids,
        target_skills: ['execution-design', 'observability'],
        pattern: `cost:${col}:${value}`,
        proposal: node
          ? {
              target: 'plan',
              summary: `cap ${value} at $${(med * 2).toFixed(4)} per attempt`,
              patch: [
                {
                  op: node.budget_usd === undefined ? 'add' : 'replace',
                  path: pointer('execution_graph', value, 'budget_usd'),
                  value: Math.round(med * 2 * 1e6) / 1e6,
                },
              ],
              expected_effect: `${value} cannot spend more than twice its usual cost`,
              rollback_rule: `remove the cap if ${value} fails on budget in 2 runs`,
              scope: { design_key: i.designKey, node_id: value },
            }
          : null,
      });
    }
  }
  if (i.runError?.reason === 'budget_exceeded' || /^budget_exceeded/.test(i.runError?.message ?? '')) {
    out.push({
      kind: 'budget_overrun',
      severity: 'critical',
      node_id: null,
      message: `the run stopped on its budget: ${i.runError?.message}`,
      evidence: [`runs:${i.runId}`],
      target_skills: ['execution-design'],
      pattern: `budget:${i.designKey ?? i.runId}`,
      proposal: null,
    });
  }
  return out;
}

function humanDeferral(i: DetectorInput): Finding[] {
  const out: Finding[] = [];
  const byNode = new Map<string, HitlItem[]>();
  for (const h of i.hitl)
    if (h.source.node_id || h.source.ticket_id)
      byNode.set(h.source.node_id ?? (h.source.ticket_id as string), [
        ...(byNode.get(h.source.node_id ?? (h.source.ticket_id as string)) ?? []),
        h,
      ]);
  for (const [node, items] of byNode) {
    if (items.length >= i.policy.observability.deferral_min) {
      out.push({
        kind: 'deferral_loop',
        severity: 'warning',
        node_id: node,
        message: `${node} went to a person ${items.length} times (${items.map((h) => h.kind).join(', ')})`,
        evidence: items.map((h) => `hitl:${h.id}`),
        target_skills: ['governance', 'agent-collaboration'],
        pattern: `deferral:${i.designKey ?? i.runId}:${node}`,
        proposal: null,
      });
    }
  }
  const maxAge = i.policy.observability.hitl_max_age_hours * 3_600_000;
  for (const h of i.hitl) {
    const age = i.now.getTime() - Date.parse(h.created_at);
    if (h.status === 'pending' && age > maxAge) {
      out.push({
        kind: 'stale_hitl',
        severity: 'critical',
        node_id: h.source.node_id ?? null,
        message: `${h.id} (${h.title}) has waited ${Math.round(age / 3_600_000)} h for a decision`,
        evidence: [`hitl:${h.id}`],
        target_skills: ['governance'],
        pattern: `stale:${h.id}`,
        proposal: null,
      });
    }
  }
  return out;
}

function hotspots(i: DetectorInput, attempts: readonly AttemptRow[]): Finding[] {
  const mine = new Set(
    attempts
      .filter((a) => ['failure', 'timeout', 'blocked'].includes(a.status))
      .flatMap((a) => JSON.parse(a.files_changed) as string[]),
  );
  const out: Finding[] = [];
  const elements =
    i.db.dialect === 'postgres'
      ? 'jsonb_array_elements_text(attempts.files_changed::jsonb) AS f(value)'
      : 'json_each(attempts.files_changed) f';
  const failedWith = i.db.prepare(
    `SELECT attempts.attempt_id FROM attempts, ${elements} WHERE f.value = ? AND attempts.status IN ('failure', 'timeout', 'blocked')`,
  );
  for (const file of mine) {
    const rows = failedWith.all(file) as Array<{ attempt_id: string }>;
    if (rows.length >= i.policy.observability.hotspot_min_failures) {
      out.push({
        kind: 'error_hotspot',
        severity: 'warning',
        node_id: null,
        message: `${file} was touched by ${rows.length} failed attempts`,
        evidence: rows.map((r) => `attempts:${r.attempt_id}`),
        target_skills: ['execution-design', 'audit-log'],
        pattern: `hotspot:${file}`,
        proposal: null,
      });
    }
  }
  return out;
}

function unstableProviders(i: DetectorInput): Finding[] {
  const since = new Date(i.now.getTime() - 86_400_000).toISOString();
  const rows = i.db
    .prepare(
      "SELECT breaker, group_concat(id) AS ids, count(*) AS n FROM breaker_events WHERE to_state = 'open' AND at >= ? GROUP BY breaker",
    )
    .all(since) as Array<{ breaker: string; ids: string; n: number }>;
  return rows
    .filter((r) => r.n >= i.policy.observability.flapping_min_opens)
    .map((r) => ({
      kind: 'unstable_provider' as const,
      severity: 'warning' as const,
      node_id: null,
      message: `breaker ${r.breaker} opened ${r.n} times in 24 h (flapping)`,
      evidence: r.ids.split(',').map((id) => `breaker_events:${id}`),
      target_skills: ['agent-collaboration'],
      pattern: `flapping:${r.breaker}`,
      proposal: null,
    }));
}

/** Runs every detector for one run (counting across runs where the detector says so). */
export function detect(i: DetectorInput): Finding[] {
  const attempts = i.db
    .prepare(
      'SELECT attempt_id, run_id, node_id, persona, agent, provider, model, status, is_retry, duration_ms, cost_usd, error_class, error_message, error_fingerprint, files_changed FROM attempts WHERE run_id = ? ORDER BY started_at',
    )
    .all(i.runId) as AttemptRow[];
  return [
    ...repeatedFailures(i, attempts),
    ...retrySpike(i, attempts),
    ...bottlenecks(i),
    ...costAnomalies(i, attempts),
    ...humanDeferral(i),
    ...hotspots(i, attempts),
    ...unstableProviders(i),
  ];
}
