import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicySchema, type WorkflowTopologySpec } from '../contracts/index.js';
import { topoSort } from './graph.js';
import { planHeuristic } from './heuristic-planner.js';
import { buildBundle } from './mental-models.js';
import { buildPlan } from './plan.js';
import { toLabel } from './text.js';

const policy = PolicySchema.parse({});
const at = '2026-11-21T10:00:00.000Z';
const plan = (goal: string): WorkflowTopologySpec =>
  planHeuristic({ runId: '20261121-msowd-prop', goal, risk: 'medium', policy, at });

const EN_VERBS = [
  'add',
  'fix',
  'migrate',
  'refactor',
  'implement',
  'remove',
  'design',
  'document',
  'rewrite',
  'upgrade',
];
const EN_OBJECTS = [
  'the login page',
  'the billing service',
  'audit logging',
  'the search index',
  'the CSV export',
  'the admin guide',
  'rate limiting',
  'the cache layer',
  'the payment webhook',
  'the user table',
];
const KO_VERBS = ['추가', '수정', '개선', '작성', '검토', '구현', '설계', '제거'];
const KO_OBJECTS = [
  '로그인 페이지를',
  '결제 서비스를',
  '검색 인덱스를',
  '관리자 가이드를',
  '캐시 계층을',
  '사용자 테이블을',
];

/** 2 to 6 distinct steps, each a verb and an object. */
const steps = (verbs: readonly string[], objects: readonly string[], ko: boolean): fc.Arbitrary<string[]> =>
  fc
    .uniqueArray(fc.tuple(fc.nat(verbs.length - 1), fc.nat(objects.length - 1)), {
      minLength: 2,
      maxLength: 6,
      selector: ([, o]) => o,
    })
    .map((pairs) => pairs.map(([v, o]) => (ko ? `${objects[o]} ${verbs[v]}` : `${verbs[v]} ${objects[o]}`)));

/** The ways a person writes a list of steps. */
const EN_FORMS: ReadonlyArray<(s: string[]) => string> = [
  (s) => `Ship it:\n${s.map((x) => `- ${x}`).join('\n')}`,
  (s) => `Plan:\n${s.map((x, i) => `${i + 1}. ${x}`).join('\n')}`,
  (s) => s.map((x, i) => `${i + 1}. ${x}`).join(' '),
  (s) => s.map((x) => `${x.charAt(0).toUpperCase()}${x.slice(1)}.`).join(' '),
  (s) => `${s.slice(0, -1).join(', ')}, then ${s.at(-1) as string}`,
  (s) => `${s.slice(0, -1).join('; ')} and finally ${s.at(-1) as string}`,
];
const KO_FORMS: ReadonlyArray<(s: string[]) => string> = [
  (s) =>
    `${s
      .slice(0, -1)
      .map((x) => `${x}하고`)
      .join(' ')} ${s.at(-1) as string}하라`,
  (s) =>
    `${s
      .slice(0, -1)
      .map((x) => `${x}한 다음`)
      .join(' ')} ${s.at(-1) as string}하라`,
  (s) => `작업 목록:\n${s.map((x) => `- ${x}`).join('\n')}`,
  (s) => s.map((x) => `${x}한다.`).join(' '),
];

const norm = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim();

function checkStructure(goal: string, items: string[]): void {
  const t = plan(goal);
  const ids = t.nodes.map((n) => n.id);
  const forward = t.edges.filter((e) => e.max_iterations === undefined);
  expect(topoSort(ids, forward).cycle).toEqual([]);
  for (const n of t.nodes) {
    expect(n.label).not.toBe(toLabel(goal));
    expect(norm(n.description ?? '')).not.toBe(norm(goal));
  }
  for (const item of items) {
    const hits = t.nodes.filter((n) => norm(n.description ?? n.label) === norm(item));
    expect(
      hits.map((n) => n.id),
      `${item} in ${JSON.stringify(goal)}`,
    ).toHaveLength(1);
  }
  // Node types follow the graph and the plan builds: merges have ≥ 2 parents, branches exactly 1.
  const p = buildPlan(t, buildBundle(t, at), policy, at);
  for (const node of Object.values(p.execution_graph)) {
    if (node.type === 'merge') expect(node.parent_refs.length).toBeGreaterThanOrEqual(2);
    if (node.type === 'branch') expect(node.parent_refs).toHaveLength(1);
  }
}

describe('offline planner structural properties (fast-check)', () => {
  it('English lists of steps: no label repeats the goal, no cycle, every step once', () => {
    fc.assert(
      fc.property(steps(EN_VERBS, EN_OBJECTS, false), fc.nat(EN_FORMS.length - 1), (s, f) => {
        checkStructure((EN_FORMS[f] as (s: string[]) => string)(s), s);
      }),
      { numRuns: 100 },
    );
  });
  it('Korean lists of steps: no label repeats the goal, no cycle, every step once', () => {
    fc.assert(
      fc.property(steps(KO_VERBS, KO_OBJECTS, true), fc.nat(KO_FORMS.length - 1), (s, f) => {
        checkStructure((KO_FORMS[f] as (s: string[]) => string)(s), s);
      }),
      { numRuns: 100 },
    );
  });
  it('any text at all gives at least one node and no cycle, and never throws', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (g) => {
          fc.pre(g.trim() !== '');
          const t = plan(g);
          expect(t.nodes.length).toBeGreaterThanOrEqual(1);
          expect(
            topoSort(
              t.nodes.map((n) => n.id),
              t.edges.filter((e) => e.max_iterations === undefined),
            ).cycle,
          ).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
