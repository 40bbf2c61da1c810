import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit/index.js';
import type { ExecutionPlan, MentalModelBundle } from '../contracts/index.js';
import { loadRecordedRun } from '../engine/index.js';
import { createHitlStore, type Workspace } from '../workspace/index.js';
import { withAuditReader } from './audit-ops.js';
import type { AppDeps } from './create-app.js';
import { provenanceOf, provenanceUsed, readProvenance, type Provenance, type ProvenanceUsed } from './provenance.js';
import { readDesign, ticketsByNode } from './run-artifacts.js';
import { describeEvent } from './timeline-text.js';

/** One step of a run, in execution order, with why it happened and the audit rows it comes from. */
export interface TimelineEntry {
  readonly at: string;
  readonly node: string | null;
  readonly kind: string;
  readonly text: string;
  /** `events#<seq>` or `hitl:<id>`: where the step is recorded. */
  readonly refs: readonly string[];
}

export interface RunDiff {
  readonly a: string;
  readonly b: string;
  readonly plan: {
    readonly nodes_added: readonly string[];
    readonly nodes_removed: readonly string[];
    readonly nodes_changed: ReadonlyArray<{ node: string; field: string; a: unknown; b: unknown }>;
    readonly edges_added: readonly string[];
    readonly edges_removed: readonly string[];
  };
  readonly nodes: ReadonlyArray<{
    node: string;
    a: NodeFigures | null;
    b: NodeFigures | null;
    differs: readonly string[];
  }>;
  /** Accepted proposals applied to one run's design and not the other's. */
  readonly proposals: { readonly only_a: readonly string[]; readonly only_b: readonly string[] };
  /**
   * What the runs ran on, where it differs: mso and Node versions, base commit, policy, each agent's configured
   * command and model, the models and CLI versions its calls reported.
   */
  readonly environment: ReadonlyArray<{ field: string; a: unknown; b: unknown }>;
  readonly totals: { a: { cost_usd: number; duration_ms: number }; b: { cost_usd: number; duration_ms: number } };
}

interface NodeFigures {
  readonly state: string;
  readonly duration_ms: number | null;
  readonly cost_usd: number;
  readonly output_hash: string | null;
  readonly agent: string | null;
}

export interface ExplainOps {
  /** What a run needs to be reproduced, plus the models and agent CLI versions its calls reported. */
  provenance(runId: string): Promise<Provenance & ProvenanceUsed>;
  /** The run in execution order with the decision context of each step. */
  timeline(runId: string): Promise<{ run_id: string; entries: TimelineEntry[] }>;
  /** Plan, outcome, duration, cost and output differences between two runs, and the proposals that separate them. */
  diff(a: string, b: string): Promise<RunDiff>;
  /**
   * Why a run went as it did: its provenance and its timeline; with `compareTo`, also how it differs from that run
   * (`mso explain`, MCP `run_explain`).
   */
  explain(runId: string, compareTo?: string): Promise<RunExplanation>;
}

export interface RunExplanation {
  readonly run_id: string;
  readonly provenance: Provenance & ProvenanceUsed;
  readonly timeline: readonly TimelineEntry[];
  /** The differences from `compareTo` to this run, when one was given. */
  readonly diff?: RunDiff;
}

type Row = { seq: number; at: string; type: string; node_id: string | null; ticket_id: string | null; payload: string };

/** What these reads need of the audit log: its database handle (read-only). */
type AuditRead = Pick<AuditLog, 'db'>;

export function createExplainOps(deps: AppDeps, open: (create?: boolean) => Promise<Workspace>): ExplainOps {
  // Read-only: provenance, timeline and diff answer from an audit database (or folder) they cannot write.
  async function withLog<T>(fn: (ws: Workspace, log: AuditRead) => Promise<T>): Promise<T> {
    const ws = await open(false);
    return withAuditReader(deps, ws, (reader) => fn(ws, { db: reader.raw }));
  }
  const rowsOf = (log: AuditRead, runId: string): Row[] =>
    log.db
      .prepare('SELECT seq, at, type, node_id, ticket_id, payload FROM events WHERE run_id = ? ORDER BY seq')
      .all(runId) as Row[];

  async function figures(ws: Workspace, log: AuditRead, runId: string) {
    const ref = await ws.runs.get(runId);
    const { plan, bundle } = await readDesign(deps, ref.dir);
    const rec = loadRecordedRun(log, runId);
    const rows = rowsOf(log, runId);
    const started = new Map<string, number>();
    const ended = new Map<string, number>();
    const agentOf = new Map<string, string>();
    for (const r of rows) {
      if (!r.node_id) continue;
      const p = JSON.parse(r.payload) as Record<string, unknown>;
      if (r.type === 'node.state' && p['state'] === 'running' && !started.has(r.node_id))
        started.set(r.node_id, Date.parse(r.at));
      if (r.type === 'node.state' && (p['state'] === 'done' || p['state'] === 'failed'))
        ended.set(r.node_id, Date.parse(r.at));
      if (r.type === 'node.committed') agentOf.set(r.node_id, String(p['agent'] ?? ''));
    }
    const costs = new Map(
      (
        log.db
          .prepare('SELECT node_id, COALESCE(SUM(cost_usd), 0) AS c FROM attempts WHERE run_id = ? GROUP BY node_id')
          .all(runId) as Array<{ node_id: string; c: number }>
      ).map((r) => [r.node_id, r.c]),
    );
    const nodes = new Map<string, NodeFigures>();
    for (const id of Object.keys(plan?.execution_graph ?? {})) {
      const s = started.get(id);
      const e = ended.get(id);
      nodes.set(id, {
        state: rec.nodes.get(id)?.state ?? 'pending',
        duration_ms: s !== undefined && e !== undefined ? Math.max(0, e - s) : null,
        cost_usd: Math.round((costs.get(id) ?? 0) * 1e6) / 1e6,
        output_hash: rec.nodes.get(id)?.treeHash ?? null,
        agent: agentOf.get(id) ?? null,
      });
    }
    const applied = rows
      .filter((r) => r.type === 'design.proposals_applied')
      .flatMap((r) => (JSON.parse(r.payload) as { applied?: string[] }).applied ?? []);
    const m = ref.manifest;
    return {
      plan,
      bundle,
      nodes,
      applied,
      cost: rec.cost,
      duration: Math.max(0, Date.parse(m.completed_at ?? m.updated_at) - Date.parse(m.created_at)),
    };
  }

  const nodeFields = (
    plan: ExecutionPlan | null,
    bundle: MentalModelBundle | null,
    id: string,
  ): Record<string, unknown> => {
    const n = plan?.execution_graph[id];
    const chart = bundle?.node_chart_map[id];
    const hash = (v: unknown): string =>
      createHash('sha256')
        .update(JSON.stringify(v ?? null))
        .digest('hex')
        .slice(0, 12);
    return {
      type: n?.type,
      label: n?.label,
      agent: n?.agent ?? null,
      persona: n?.persona ?? null,
      command: n?.command ?? null,
      parents: [...(n?.parent_refs ?? [])].sort().join(','),
      timeout_s: n?.timeout_s ?? null,
      max_retry: n?.max_retry ?? null,
      gates: (n?.gates ?? []).join(' && '),
      mental_model: chart ?? null,
      instructions: n?.instructions ? hash(n.instructions) : null,
    };
  };

  const ops: Omit<ExplainOps, 'explain'> = {
    provenance: (runId) =>
      withLog(async (ws, log) => {
        await ws.runs.get(runId);
        return provenanceOf(log, runId);
      }),
    timeline: (runId) =>
      withLog(async (ws, log) => {
        const ref = await ws.runs.get(runId);
        const entries: TimelineEntry[] = [];
        // Ticket events name the plan node their ticket executes, when it has one.
        const nodeOfTicket = new Map([...(await ticketsByNode(deps, ref.dir))].map(([node, t]) => [t.id, node]));
        for (const r of rowsOf(log, runId)) {
          const d = describeEvent(r.type, JSON.parse(r.payload) as Record<string, unknown>);
          // A ticket's own event (the engine's carry their node too) and one known by its ticket only say which.
          const named =
            r.ticket_id !== null && (d?.kind === 'ticket' || (r.node_id === null && nodeOfTicket.has(r.ticket_id)));
          if (d)
            entries.push({
              at: r.at,
              node: r.node_id ?? (r.ticket_id ? (nodeOfTicket.get(r.ticket_id) ?? r.ticket_id) : null),
              kind: d.kind,
              text: named ? `${r.ticket_id as string} ${d.text}` : d.text,
              refs: [`events#${r.seq}`],
            });
        }
        for (const h of await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list()) {
          if (h.status === 'pending' || !h.decided_at) continue;
          entries.push({
            at: h.decided_at,
            node: h.source.node_id ?? null,
            kind: 'decision',
            text: `${h.id} ${h.status} by ${h.decided_by ?? 'someone'}${h.note ? `: ${h.note}` : ''}`,
            refs: [`hitl:${h.id}`],
          });
        }
        entries.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
        return { run_id: runId, entries };
      }),
    diff: (a, b) =>
      withLog(async (ws, log) => {
        const fa = await figures(ws, log, a);
        const fb = await figures(ws, log, b);
        const ia = Object.keys(fa.plan?.execution_graph ?? {});
        const ib = Object.keys(fb.plan?.execution_graph ?? {});
        const edges = (plan: ExecutionPlan | null): Set<string> =>
          new Set(
            Object.entries(plan?.execution_graph ?? {}).flatMap(([id, n]) => n.parent_refs.map((p) => `${p}→${id}`)),
          );
        const ea = edges(fa.plan);
        const eb = edges(fb.plan);
        const changed: Array<{ node: string; field: string; a: unknown; b: unknown }> = [];
        for (const id of ia.filter((x) => ib.includes(x))) {
          const x = nodeFields(fa.plan, fa.bundle, id);
          const y = nodeFields(fb.plan, fb.bundle, id);
          for (const k of Object.keys(x))
            if (JSON.stringify(x[k]) !== JSON.stringify(y[k]))
              changed.push({ node: id, field: k, a: x[k] ?? null, b: y[k] ?? null });
        }
        const all = [...new Set([...ia, ...ib])];
        return {
          a,
          b,
          plan: {
            nodes_added: ib.filter((x) => !ia.includes(x)),
            nodes_removed: ia.filter((x) => !ib.includes(x)),
            nodes_changed: changed,
            edges_added: [...eb].filter((e) => !ea.has(e)),
            edges_removed: [...ea].filter((e) => !eb.has(e)),
          },
          nodes: all.map((id) => {
            const x = fa.nodes.get(id) ?? null;
            const y = fb.nodes.get(id) ?? null;
            const differs =
              x && y
                ? (['state', 'output_hash', 'cost_usd', 'agent'] as const).filter((k) => x[k] !== y[k])
                : ['presence'];
            return { node: id, a: x, b: y, differs };
          }),
          proposals: {
            only_a: fa.applied.filter((p) => !fb.applied.includes(p)),
            only_b: fb.applied.filter((p) => !fa.applied.includes(p)),
          },
          environment: environmentDiff(environmentOf(log, a), environmentOf(log, b)),
          totals: {
            a: { cost_usd: fa.cost, duration_ms: fa.duration },
            b: { cost_usd: fb.cost, duration_ms: fb.duration },
          },
        };
      }),
  };
  return {
    ...ops,
    explain: async (runId, compareTo) => ({
      run_id: runId,
      provenance: await ops.provenance(runId),
      timeline: (await ops.timeline(runId)).entries,
      ...(compareTo !== undefined ? { diff: await ops.diff(compareTo, runId) } : {}),
    }),
  };
}

/** The facts of a run's environment `mso diff` compares, flattened to `field → value`; empty without provenance. */
function environmentOf(log: AuditRead, runId: string): Map<string, unknown> {
  const recorded = readProvenance(log, runId);
  if (!recorded) return new Map();
  const p = { ...recorded, ...provenanceUsed(log, runId) };
  const out = new Map<string, unknown>([
    ['mso_version', p.mso_version],
    ['node', p.runtime.node],
    ['base_sha', p.base_sha],
    ['policy_sha256', p.hashes.policy],
  ]);
  for (const [name, a] of Object.entries(p.agents))
    out.set(`agents.${name}`, `${a.kind} ${a.command ?? ''} ${a.model ?? ''}`.trim());
  const byAgent = (prefix: string, rows: ReadonlyArray<{ agent: string; value: string | null }>): void => {
    for (const agent of new Set(rows.map((r) => r.agent))) {
      const values = rows.filter((r) => r.agent === agent && r.value !== null).map((r) => r.value as string);
      out.set(`${prefix}.${agent}`, [...new Set(values)].sort());
    }
  };
  byAgent(
    'models',
    p.models_used.map((r) => ({ agent: r.agent, value: r.model })),
  );
  byAgent(
    'cli_version',
    p.cli_versions.map((r) => ({ agent: r.agent, value: r.version })),
  );
  return out;
}

function environmentDiff(
  a: Map<string, unknown>,
  b: Map<string, unknown>,
): Array<{ field: string; a: unknown; b: unknown }> {
  if (a.size === 0 || b.size === 0) return [];
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => JSON.stringify(a.get(k) ?? null) !== JSON.stringify(b.get(k) ?? null))
    .map((k) => ({ field: k, a: a.get(k) ?? null, b: b.get(k) ?? null }));
}
