import { describe, expect, it } from 'vitest';
import {
  PolicySchema,
  type ExecutionPlan,
  type MentalModelBundle,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import { buildBundle, buildPlan, planHeuristic } from '../design/index.js';
import { checkContracts, checkSchemas, checkStructure } from './checks.js';
import { statusOf, type RunArtifacts } from './findings.js';

const policy = PolicySchema.parse({});
const at = '2026-11-21T10:00:00.000Z';
const runId = '20261121-msowd-gov';

function good(): { topology: WorkflowTopologySpec; bundle: MentalModelBundle; plan: ExecutionPlan } {
  const topology = planHeuristic({ runId, goal: 'Compare A, B and C for the cache', risk: 'medium', policy, at });
  const bundle = buildBundle(topology, at);
  return { topology, bundle, plan: buildPlan(topology, bundle, policy, at) };
}

function run(over: Partial<RunArtifacts> = {}, parts = good()): RunArtifacts {
  return {
    runId,
    topology: { file: 'topology.json', raw: parts.topology },
    bundle: { file: 'bundle.json', raw: parts.bundle },
    plan: { file: 'plan.json', raw: parts.plan },
    tickets: [],
    collaborations: [],
    callbacks: [],
    auditPayloads: [],
    ...over,
  };
}

const all = (r: RunArtifacts) => [...checkSchemas(r), ...checkContracts(r), ...checkStructure(r)];
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('governance on a designed run', () => {
  it('finds nothing wrong with what the designer produced', () => {
    expect(all(run())).toEqual([]);
    expect(statusOf(all(run()))).toBe('ok');
  });
});

describe('each check fails for its own reason', () => {
  const cases: Array<[string, (p: ReturnType<typeof good>) => Partial<RunArtifacts> | void, string, RegExp]> = [
    [
      'CC-01 plan node outside the topology',
      (p) => void (p.plan.execution_graph['X9'] = { ...p.plan.execution_graph['T1']!, parent_refs: [] }),
      'CC-01',
      /plan node X9 is not a topology node/,
    ],
    [
      'CC-01 topology node without plan node',
      (p) => void delete p.plan.execution_graph['T2'],
      'CC-01',
      /topology node T2 has no plan node/,
    ],
    [
      'CC-01 missing rsv_total',
      (p) => void delete (p.topology as Partial<WorkflowTopologySpec>).rsv_total,
      'CC-01',
      /required output key rsv_total/,
    ],
    ['CC-01 producer missing', () => ({ topology: undefined }), 'CC-01', /topology it must come from is missing/],
    ['CC-02 node without chart', (p) => void delete p.bundle.node_chart_map['T3'], 'CC-02', /T3 has no chart/],
    [
      'CC-02 plan chart unknown to the bundle',
      (p) => void (p.plan.execution_graph['T2']!.chart_ids = ['chart_nope']),
      'CC-02',
      /uses chart chart_nope/,
    ],
    ['CC-02 bundle_ref mismatch', (p) => void (p.plan.bundle_ref = 'bundle-other'), 'CC-02', /bundle_ref bundle-other/],
    [
      'CC-06 unknown parent',
      (p) => void (p.plan.execution_graph['T2']!.parent_refs = ['GHOST']),
      'CC-06',
      /unknown parent GHOST/,
    ],
    [
      'CC-03 ticket dependency unknown',
      () => ({
        tickets: [
          {
            file: 't.md',
            raw: {
              id: 'TKT-0001',
              task_context_id: 'TKT-0001',
              title: 'x',
              status: 'todo',
              owner: 'a',
              due_by: '2026-11-28',
              dependencies: ['TKT-0042'],
              tags: [],
              created: '2026-11-21',
              updated: '2026-11-21',
            },
          },
        ],
      }),
      'CC-03',
      /TKT-0042 is not a ticket/,
    ],
    [
      'CC-03 ticket missing key',
      () => ({ tickets: [{ file: 't.md', raw: { id: 'TKT-0001', status: 'todo' } }] }),
      'CC-03',
      /lacks owner/,
    ],
    [
      'CC-04 collaboration missing key',
      () => ({ collaborations: [{ file: 'c.json', raw: { dispatch_mode: 'run' } }] }),
      'CC-04',
      /lacks handoff_payload/,
    ],
    [
      'CC-04 wrong run',
      () => ({
        collaborations: [
          {
            file: 'c.json',
            raw: {
              dispatch_mode: 'run',
              handoff_payload: { run_id: 'other' },
              requires_manual_confirmation: false,
              fallback_reason: null,
            },
          },
        ],
      }),
      'CC-04',
      /is not this run/,
    ],
    [
      'CC-05 audit payload missing key',
      () => ({ auditPayloads: [{ file: 'audit.db#x', raw: { run_id: runId, status: 'success' } }] }),
      'CC-05',
      /lacks artifact_uri/,
    ],
    [
      'consumer started without producer',
      () => ({
        bundle: undefined,
        plan: undefined,
        manifest: { file: 'manifest.json', raw: { phases: { '30_execution': { status: 'active' } } } },
      }),
      'CC-02',
      /30_execution has started but its producer artifact 20_mental-model/,
    ],
    ['cycle', (p) => void p.topology.edges.push({ from: 'T5', to: 'T1', type: 'data' }), 'acyclic', /cycle/],
    ['orphan', (p) => void p.topology.nodes.push({ ...p.topology.nodes[0]!, id: 'T9' }), 'orphans', /T9 has no edges/],
    [
      'node type mismatch',
      (p) => void (p.plan.execution_graph['T2']!.type = 'commit'),
      'node-type',
      /T2 is commit but its edges make it branch/,
    ],
    [
      'weights not summing to 1',
      (p) => void (p.plan.execution_graph['T5']!.merge_policy!.scoring_weights = { a: 0.5, b: 0.6 }),
      'weights-sum',
      /sum to 1\.1000/,
    ],
    [
      'quorum above parents',
      (p) => void (p.plan.execution_graph['T5']!.merge_policy!.quorum = 7),
      'quorum',
      /quorum 7 exceeds its 3 parents/,
    ],
    ['rsv_total not Σ DQ weight', (p) => void (p.topology.rsv_total = 3), 'rsv-total', /not the sum of DQ weights/],
    [
      'unsafe required file',
      (p) => void (p.topology.nodes[1]!.explicit_output!.required_files = ['../escape.md']),
      'safe-paths',
      /would leave the worktree/,
    ],
    [
      'schema violation',
      (p) => void ((p.topology.nodes[0] as { theta_gt_band: string }).theta_gt_band = 'huge'),
      'schema:topology',
      /Invalid option/,
    ],
  ];
  it.each(cases)('%s', (_name, mutate, rule, message) => {
    const parts = clone(good());
    const over = mutate(parts) ?? {};
    const findings = all(run(over, parts));
    const hit = findings.filter((f) => f.rule === rule);
    expect(hit.map((f) => f.message).join('\n')).toMatch(message);
    if (rule === 'orphans') expect(hit[0]?.level).toBe('warning');
    else expect(statusOf(findings)).toBe('fail');
  });
});
