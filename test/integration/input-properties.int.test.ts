import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  EXIT_CODES,
  ExecutionPlanSchema,
  PolicySchema,
  SafeIdSchema,
  WorkflowTopologySpecSchema,
  isMsoError,
  refNameProblem,
} from '../../src/contracts/index.js';
import { buildBundle, buildPlan, importWorkflow } from '../../src/design/index.js';
import { parseTicket, ticketSlug } from '../../src/tickets/index.js';
import { loadPolicy, parseYamlText } from '../../src/workspace/index.js';
import type { Fs } from '../../src/platform/index.js';

const LONG = process.env['MSO_LONG_TESTS'] === '1';
/** Cases per property: bounded in the default run, at least 10,000 with MSO_LONG_TESTS=1. */
const RUNS = LONG ? 10_000 : 150;
const policy = PolicySchema.parse({});
const at = '2026-11-21T10:00:00.000Z';

/**
 * What the CLI would do with `fn`'s outcome: 0 when it returns, else the exit code of its error, which must be an
 * MsoError of the invalid category (exit 2) whose issues each name a field path.
 */
function exitOf(fn: () => unknown): 0 | 2 {
  try {
    fn();
    return 0;
  } catch (e) {
    if (!isMsoError(e)) throw new Error(`not an MsoError (would exit 70): ${String(e)}`, { cause: e });
    expect(EXIT_CODES[e.category]).toBe(2);
    const issues = (e.details['issues'] ?? [{ path: e.details['field'] }]) as Array<{ path?: unknown }>;
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) expect(typeof i.path === 'string' && i.path.length > 0).toBe(true);
    return 2;
  }
}

const TRICKY_IDS = [
  'a',
  'a.',
  'a.lock',
  'A.LOCK',
  '..',
  'a..b',
  '@',
  'a@{b',
  'x/',
  '/x',
  '.a',
  '-a',
  'a b',
  'a\u0001',
  'a\u007f',
  '한',
  'a:b',
  'a~1',
  'a^',
  'a?',
  'a*',
  'a[',
  'a\\b',
  'ok-1',
  'n_2',
  'v1.2',
  'x'.repeat(128),
  'x'.repeat(129),
];
const idArb = fc.oneof(
  fc.constantFrom(...TRICKY_IDS),
  fc.string({
    unit: fc.constantFrom('a', 'b', '1', '.', '-', '_', '/', '@', '{', 'l', 'o', 'c', 'k', ' ', '\0', '한'),
  }),
);

const nodeArb = fc.record(
  {
    id: idArb,
    label: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('작업'), fc.integer()),
    description: fc.string({ maxLength: 40 }),
    command: fc.oneof(fc.constant('true'), fc.string({ maxLength: 10 })),
    gates: fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 2 }),
    timeout_s: fc.oneof(fc.integer({ min: -3, max: 100 }), fc.double(), fc.string({ maxLength: 3 })),
    max_retry: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double()),
    theta_gt_band: fc.constantFrom('narrow', 'moderate', 'wide', 'huge'),
    output: fc.constantFrom('memo', 'code', 'report', 'nonsense'),
    merge_policy: fc.record(
      {
        strategy: fc.constantFrom('score_weighted', 'fast_forward', 'manual', 'x'),
        quorum: fc.integer({ min: -1, max: 4 }),
        scoring_weights: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.double(), fc.integer())),
      },
      { requiredKeys: [] },
    ),
    extra: fc.anything(),
  },
  { requiredKeys: ['id', 'label'] },
);

/** Well-formed workflows (unique good ids, forward edges): most of them import, so the success path is exercised. */
const cleanWorkflowArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/), { minLength: 1, maxLength: 10 })
  .chain((ids) =>
    fc.record({
      name: fc.constantFrom('clean', '한국어 흐름', 'Mixed 이름'),
      nodes: fc.constant(ids.map((id) => ({ id, label: `do ${id}`, command: 'true' }))),
      edges:
        ids.length < 2
          ? fc.constant([])
          : fc.array(
              fc
                .tuple(fc.nat({ max: ids.length - 2 }), fc.nat({ max: ids.length - 1 }))
                .map(([a, b]) => ({ from: ids[a] as string, to: ids[Math.max(a + 1, b)] as string })),
              { maxLength: 12 },
            ),
    }),
  );

const workflowArb = fc.oneof(
  { weight: 1, arbitrary: fc.anything() },
  { weight: 4, arbitrary: cleanWorkflowArb },
  {
    weight: 6,
    arbitrary: fc.array(nodeArb, { maxLength: 8 }).chain((nodes) => {
      const ids = nodes.map((n) => n.id);
      const endpoint = ids.length > 0 ? fc.oneof(fc.constantFrom(...ids), idArb) : idArb;
      return fc.record(
        {
          name: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('한국어 작업'), fc.integer()),
          goal: fc.string({ maxLength: 30 }),
          risk: fc.constantFrom('low', 'medium', 'high', 'extreme'),
          topology_type: fc.constantFrom('linear', 'fan_out', 'fan_in', 'dag', 'loop', 'ring'),
          nodes: fc.constant(nodes),
          edges: fc.array(
            fc.record(
              {
                from: endpoint,
                to: endpoint,
                type: fc.constantFrom('data', 'control', 'hitl', 'other'),
                max_iterations: fc.integer({ min: -1, max: 4 }),
              },
              { requiredKeys: ['from', 'to'] },
            ),
            { maxLength: 10 },
          ),
        },
        { requiredKeys: ['nodes'] },
      );
    }),
  },
);

describe('input properties: exit 0, or exit 2 with a field path; never 70', () => {
  it('ids: the schema accepts exactly what the shared ref rule accepts, and git agrees', () => {
    const accepted: string[] = [];
    fc.assert(
      fc.property(idArb, (id) => {
        const ok = SafeIdSchema.safeParse(id).success;
        if (ok) {
          expect(refNameProblem(`mso/20261121-msoorch-x/${id}`)).toBeNull();
          accepted.push(id);
        }
        exitOf(() =>
          importWorkflow({
            raw: { nodes: [{ id, label: 'x' }] },
            file: 'wf.yaml',
            runId: '20261121-msowd-p',
            policy,
            at,
          }),
        );
      }),
      { numRuns: RUNS },
    );
    // git itself accepts every branch name built from an accepted id (one process for the lot).
    const sample = [...new Set([...accepted, ...TRICKY_IDS.filter((i) => SafeIdSchema.safeParse(i).success)])].slice(
      0,
      200,
    );
    const script = sample
      .map((id) => `git check-ref-format --branch 'mso/r/${id}' >/dev/null || echo "refused ${id}"`)
      .join('\n');
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe('');
  });

  it('workflows: import, mental models and plan either succeed with schema-valid artifacts or refuse with paths', () => {
    const seen = { 0: 0, 2: 0 };
    fc.assert(
      fc.property(workflowArb, (raw) => {
        let topology: unknown;
        const code = exitOf(() => {
          topology = importWorkflow({ raw, file: 'wf.yaml', runId: '20261121-msowd-p', policy, at });
        });
        seen[code]++;
        if (code === 0) {
          const t = WorkflowTopologySpecSchema.parse(topology);
          const bundle = buildBundle(t, at);
          ExecutionPlanSchema.parse(buildPlan(t, bundle, policy, at));
        }
      }),
      { numRuns: RUNS },
    );
    // Both outcomes are exercised, not only refusals.
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[2]).toBeGreaterThan(0);
  });

  it('workflow text: any YAML text parses or is refused with the file named', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          workflowArb.map((w) => stringify(w)),
        ),
        (text) => {
          exitOf(() => parseYamlText(text, 'wf.yaml'));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('policies: any policy.yaml loads or is refused with the key path', async () => {
    const valueArb = fc.oneof(
      fc.integer({ min: -5, max: 100 }),
      fc.double(),
      fc.string({ maxLength: 8 }),
      fc.boolean(),
    );
    const policyArb = fc.oneof(
      fc.record(
        {
          run_policy: fc.record({ max_active_runs: valueArb, max_concurrency: valueArb }, { requiredKeys: [] }),
          design: fc.record(
            { max_depth: valueArb, workflow_max_nodes: valueArb, planner: fc.constantFrom('heuristic', 'llm', 'x') },
            { requiredKeys: [] },
          ),
          agents: fc.dictionary(
            fc.string({ maxLength: 6 }),
            fc.record({ kind: fc.constantFrom('shell', 'codex', 'x') }),
          ),
          unknown_key: valueArb,
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          policyArb.map((p) => stringify(p)),
          fc.string({ maxLength: 40 }),
        ),
        async (text) => {
          const fs = { readFile: async () => text } as unknown as Fs;
          try {
            await loadPolicy(fs, 'policy.yaml');
          } catch (e) {
            exitOf(() => {
              throw e;
            });
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('tickets: any frontmatter parses or is refused with the field path; any title gives a safe slug', () => {
    const fm = fc.record(
      {
        id: fc.oneof(fc.constant('TKT-0001'), fc.string({ maxLength: 8 })),
        task_context_id: fc.string({ maxLength: 5 }),
        title: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('한국어 제목')),
        status: fc.constantFrom('todo', 'done', 'nope'),
        owner: fc.string({ maxLength: 5 }),
        due_by: fc.oneof(fc.constant('2026-12-01'), fc.string({ maxLength: 10 })),
        created: fc.constant('2026-11-21'),
        updated: fc.oneof(fc.constant('2026-11-21'), fc.integer()),
        dependencies: fc.array(fc.oneof(fc.constant('TKT-0002'), fc.string({ maxLength: 6 })), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fm.map((f) => `---\n${stringify(f)}---\nbody\n`),
          fc.string({ maxLength: 40 }),
        ),
        (text) => {
          exitOf(() => parseTicket(text, 'TKT-0001-x.md'));
        },
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (title) => {
        const slug = ticketSlug(title);
        expect(slug.length).toBeLessThanOrEqual(60);
        expect(slug).not.toMatch(/[/\\\0]|\.\./);
      }),
      { numRuns: RUNS },
    );
  });
});
