import { failureText, type HitlItem } from '../contracts/index.js';
import { MENTAL_MODELS } from '../design/index.js';
import { bottlenecks } from './bottlenecks.js';
import type { DetectorInput, Finding, ProposalDraft } from './finding.js';
import { pointer } from './json-patch.js';
import { nodeKindOf } from './node-kind.js';

export type { DetectorInput, Finding, FindingKind, ProposalDraft } from './finding.js';
export { nodeKindOf, type NodeKind } from './node-kind.js';

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
    const kind = nodeKindOf(i, a.node_id, a.agent);
    if (kind === 'human') {
      // A person's node: no timeout, model, prompt or fallback chain of ours makes them answer; the finding stands alone.
    } else if ((a.error_class === 'timeout' || a.error_class === 'stalled_stream') && a.node_id && node) {
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
    } else if (
      kind === 'agent' &&
      a.agent &&
      ['rate_limit', 'server_error', 'network', 'auth', 'quota'].includes(a.error_class ?? '')
    ) {
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
    } else if (kind === 'agent' && a.node_id && i.bundle && i.plan?.execution_graph[a.node_id]) {
      // A mental model is guidance in an agent's prompt: a shell command never reads it.
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
      message: `the same failure (${failureText(a.error_class ?? 'unknown', (a.error_message ?? '').slice(0, 120))}) happened ${rows.length} times in ${runs.size} run(s), at ${where}`,
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
    (a) =>
      nodeKindOf(i, a.node_id, a.agent) === 'agent' && a.error_class !== null && BACKOFF_CLASSES.has(a.error_class),
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
