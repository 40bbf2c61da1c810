import { describe, expect, it } from 'vitest';
import { PolicySchema, type WorkflowTopologySpec } from '../contracts/index.js';
import { topoSort } from './graph.js';
import { planHeuristic } from './heuristic-planner.js';
import { importWorkflow } from './import-workflow.js';
import { buildBundle, applyFeedback } from './mental-models.js';
import { MENTAL_MODELS } from './mental-model-library.js';
import { buildPlan } from './plan.js';
import { toMermaid, toText } from './render.js';

const policy = PolicySchema.parse({});
const at = '2026-11-21T10:00:00.000Z';
const plan = (goal: string, risk: 'low' | 'medium' | 'high' = 'medium') =>
  planHeuristic({ runId: '20261121-msowd-test', goal, risk, policy, at });
const forward = (t: WorkflowTopologySpec) => t.edges.filter((e) => e.max_iterations === undefined);
const parentsOf = (t: WorkflowTopologySpec, id: string) =>
  forward(t)
    .filter((e) => e.to === id)
    .map((e) => e.from);
const childrenOf = (t: WorkflowTopologySpec, id: string) =>
  forward(t)
    .filter((e) => e.from === id)
    .map((e) => e.to);

describe('heuristic planner', () => {
  it.each([
    ['Collect the requirements, then design the schema. Finally, write the docs.', 'linear'],
    ['요구사항을 정리하고 데이터 모델을 설계 그리고 문서를 작성', 'linear'],
    ['Compare Redis, Memcached and an in-process LRU cache for the session store', 'fan_out'],
    ['세 가지 캐시 전략을 비교하여 선택', 'fan_out'],
    ['Combine the findings:\n- the user interviews\n- the support tickets\n- the usage metrics', 'fan_in'],
    ['인터뷰 결과 그리고 지원 티켓 그리고 사용 지표를 통합', 'fan_in'],
    // A numbered pipeline and a list titled as steps are sequences (the old planner split them into arbitrary lanes).
    [
      'Build the release pipeline:\n1. cut the branch\n2. run the tests\n3. build the images\n4. update the docs\n5. publish the release',
      'linear',
    ],
    ['단계별 배포 파이프라인:\n- 브랜치 생성\n- 테스트 실행\n- 이미지 빌드\n- 문서 갱신\n- 릴리스 게시', 'linear'],
    [
      'Move the image uploads to S3: add an S3 client wrapper, switch the avatar upload and the attachment upload to it, backfill the existing files, then remove the old disk code',
      'dag',
    ],
    [
      '먼저 API 스키마를 설계하고, 그 다음 서버와 클라이언트를 각각 구현한 뒤, 두 작업을 함께 테스트하고 배포하라',
      'dag',
    ],
    ['Iteratively refine the landing page copy until the review passes', 'loop'],
    ['랜딩 페이지 문구를 반복해서 개선', 'loop'],
  ])('%j → %s, with edges that match', (goal, type) => {
    const t = plan(goal);
    expect(t.topology_type).toBe(type);
    const ids = t.nodes.map((n) => n.id);
    expect(topoSort(ids, forward(t)).cycle).toEqual([]);
    if (type === 'linear')
      expect(ids.every((id) => parentsOf(t, id).length <= 1 && childrenOf(t, id).length <= 1)).toBe(true);
    if (type === 'fan_out') {
      expect(childrenOf(t, 'T1').length).toBeGreaterThanOrEqual(2);
      expect(parentsOf(t, ids.at(-1) as string).length).toBe(childrenOf(t, 'T1').length);
    }
    if (type === 'fan_in') {
      expect(parentsOf(t, ids.at(-1) as string).length).toBe(ids.length - 1);
      expect(ids.slice(0, -1).every((id) => parentsOf(t, id).length === 0)).toBe(true);
    }
    if (type === 'dag') {
      expect(ids.some((id) => childrenOf(t, id).length >= 2)).toBe(true);
      expect(ids.some((id) => parentsOf(t, id).length >= 2)).toBe(true);
    }
    if (type === 'loop') {
      const back = t.edges.filter((e) => e.max_iterations !== undefined);
      expect(back).toHaveLength(1);
      expect(back[0]).toMatchObject({ type: 'control', max_iterations: 3 });
    }
  });
  it('fills the DQ weights, rsv and outputs meaningfully', () => {
    const t = plan('Compare Redis and Memcached for sessions');
    expect(t.decision_questions.length).toBeGreaterThan(0);
    expect(t.rsv_total).toBe(1);
    expect(t.decision_questions.reduce((s, q) => s + q.weight, 0)).toBeCloseTo(1, 10);
    expect(t.nodes.reduce((s, n) => s + (n.rsv_target ?? 0), 0)).toBeCloseTo(t.rsv_total, 4);
    for (const n of t.nodes) {
      expect(n.explicit_output?.required_sections.length).toBeGreaterThan(0);
      expect(n.explicit_output?.acceptance_criteria.length).toBeGreaterThan(0);
      expect(n.persona).toBeTruthy();
    }
    expect(new Set(t.nodes.map((n) => n.label)).size).toBe(t.nodes.length);
    expect(t.loop_risk_assessment.length).toBeGreaterThan(0);
    expect(t.handoff_strategy?.handoff_points.length).toBeGreaterThan(0);
  });
  it('adds a strategy gate and human gates on decision nodes at high risk only', () => {
    expect(plan('Compare A and B', 'high')).toMatchObject({ strategy_gate: true });
    expect(plan('Compare A and B', 'high').execution_policy?.human_gate_nodes.length).toBeGreaterThan(0);
    expect(plan('Compare A and B', 'low').execution_policy?.human_gate_nodes).toEqual([]);
  });
  it.each([
    [
      'Implement signup in three steps: email verification, password rule checks, welcome mail. Each step must include tests.',
      ['Implement email verification', 'Implement password rule checks', 'Implement welcome mail'],
      'Each step must include tests',
    ],
    [
      '사용자 가입 절차를 세 단계로 나누어 구현하라: 이메일 확인, 비밀번호 규칙 검사, 환영 메일 발송. 각 단계는 테스트를 포함해야 한다.',
      ['이메일 확인', '비밀번호 규칙 검사', '환영 메일 발송'],
      '각 단계는 테스트를 포함해야 한다',
    ],
  ])('reads a sentence about every step as what each step must satisfy, not a step: %s', (goal, labels, rule) => {
    const t = plan(goal);
    expect(t.nodes.map((n) => n.label)).toEqual(labels);
    for (const n of t.nodes) expect(n.explicit_output?.acceptance_criteria).toContain(rule);
    // The plan hands it to each node's agent with its required output.
    const p = buildPlan(t, buildBundle(t, at), policy, at);
    for (const id of ['T1', 'T2', 'T3'])
      expect(p.execution_graph[id]?.handoff_contract?.required_outputs?.acceptance_criteria).toContain(rule);
  });
  it.each([
    ['1. Add login 2. Add logout. Each step must include tests.', 'Each step must include tests'],
    ['Add the login page, then add the logout button. Each step needs unit tests.', 'Each step needs unit tests'],
    ['로그인 화면을 추가하고 로그아웃 버튼을 추가하라. 각 단계에 테스트를 포함할 것.', '각 단계에 테스트를 포함할 것'],
  ])('finds the sentence about every step after a list or in other words: %s', (goal, rule) => {
    const t = plan(goal);
    const steps = t.nodes.filter((n) => (n.assigned_dqs ?? []).length > 0);
    expect(steps).toHaveLength(2);
    for (const n of steps) expect(n.explicit_output?.acceptance_criteria).toContain(rule);
    expect(t.nodes.some((n) => n.label.includes(rule.slice(0, 9)))).toBe(false);
  });
  it.each([
    [
      'Implement signup in three steps: email verification, password rule checks, welcome mail. Each step must include tests, and once all steps are done, deploy to staging.',
      'Each step must include tests',
      'Deploy to staging',
    ],
    [
      '사용자 가입 절차를 세 단계로 나누어 구현하라: 이메일 확인, 비밀번호 규칙 검사, 환영 메일 발송. 각 단계는 테스트를 포함해야 하고, 모든 단계가 끝나면 배포하라.',
      '각 단계는 테스트를 포함해야 한다',
      '모든 단계가 끝나면 배포',
    ],
  ])('reads a rule and a last step in one sentence apart: %s', (goal, rule, last) => {
    const t = plan(goal);
    expect(t.nodes.map((n) => n.label).at(-1)).toBe(last);
    expect(t.nodes).toHaveLength(4);
    for (const n of t.nodes) expect(n.explicit_output?.acceptance_criteria).toContain(rule);
  });
  it.each([
    ['Implement signup in three steps:\n- email verification\n- password rule checks\n- welcome mail'],
    ['Implement signup in three steps:\n1. email verification\n2. password rule checks\n3. welcome mail'],
  ])('runs a list under a title that announces steps one after the other: %j', (goal) => {
    const t = plan(goal);
    expect(t.nodes.map((n) => n.label)).toEqual([
      'Implement email verification',
      'Implement password rule checks',
      'Implement welcome mail',
    ]);
    expect(forward(t).map((e) => `${e.from}>${e.to}`)).toEqual(['T1>T2', 'T2>T3']);
  });
  it.each([
    ['회원가입을 세 단계로 구현하라:\n1. 이메일 확인\n2. 비밀번호 규칙\n3. 환영 메일', ['code', 'code', 'code']],
    [
      'Implement signup in three steps:\n1. email verification\n2. password rules\n3. welcome mail',
      ['code', 'code', 'code'],
    ],
    // Under a title that builds, "verify the cart" is a part to build; docs and reviews stay what they are.
    ['Build the checkout:\n- verify the cart\n- take the payment\n- document the API', ['code', 'code', 'memo']],
    ['회원가입 기능을 만들어라:\n- 이메일 인증\n- 비밀번호 검증\n- 문서 작성', ['code', 'code', 'report']],
    ['Implement search:\n- add an index\n- review the query plan', ['code', 'checklist']],
    // A title that does not build leaves each item's own words to decide.
    ['Prepare the launch:\n- verify the build\n- write the notes', ['checklist', 'report', 'decision']],
    ['Make sure the release is ready:\n- run the test suite\n- check the changelog', ['checklist', 'checklist']],
    // A domain noun ("reports", "plan") in a part of what is built is still code.
    ['Implement the admin dashboard:\n- list open reports\n- show the current plan', ['code', 'code', 'decision']],
    ['새로 추가된 API 엔드포인트를 검토하라', ['checklist']],
    ['Write unit tests for the parser', ['code']],
    ['결제 모듈을 리팩터링하라', ['code']],
    ['Investigate why the nightly build is slow', ['report']],
    ['First write failing tests for the parser, then implement it.', ['code', 'code']],
    // Writing for people is a report; building what writes it is code.
    ['Add a README', ['report']],
    ['Implement the docs generator in the build', ['code']],
    ['추가 비용을 분석하라', ['table']],
  ])('gives the items of a list the output of what its title does: %j', (goal, types) => {
    expect(plan(goal).nodes.map((n) => n.explicit_output?.type)).toEqual(types);
  });
  it.each([
    [
      'Build a CLI that converts CSV to JSON. Use TypeScript. After each step, run the full test suite.',
      ['Build a CLI that converts CSV to JSON'],
      ['Use TypeScript.', 'After each step, run the full test suite.'],
    ],
    [
      '타입스크립트를 사용하라. CSV를 JSON으로 바꾸는 CLI를 만들어라. 각 단계가 끝나면 테스트를 실행하라.',
      ['CSV를 JSON으로 바꾸는 CLI를 만들기'],
      ['타입스크립트를 사용하라.', '각 단계가 끝나면 테스트를 실행하라.'],
    ],
    [
      'Add a login page and a logout button. Do not change the database schema.',
      ['Add a login page', 'Add a logout button', 'Merge the parallel results and check them together'],
      ['Do not change the database schema.'],
    ],
    [
      '로그인 페이지를 추가하라. 데이터베이스 스키마는 바꾸지 마라.',
      ['로그인 페이지를 추가'],
      ['데이터베이스 스키마는 바꾸지 마라.'],
    ],
    [
      'Refactor the auth module; do not modify the database migrations.',
      ['Refactor the auth module'],
      ['do not modify the database migrations.'],
    ],
    ['Implement the parser. Keep the public API stable.', ['Implement the parser'], ['Keep the public API stable.']],
    // "Use X in Y" is work: a place to use it in.
    ['Use the new logger in the billing service.', ['Use the new logger in the billing service'], []],
  ])('makes a constraint on the whole work a criterion of every step, not a step: %s', (goal, labels, rules) => {
    const t = plan(goal);
    expect(t.nodes.map((n) => n.label)).toEqual(labels);
    const items = t.nodes.filter((x) => (x.assigned_dqs ?? []).length > 0);
    for (const n of items)
      for (const r of rules) expect(n.explicit_output?.acceptance_criteria).toContain(r.replace(/\.$/, ''));
    // Only the stated rules: nothing else of the goal became a criterion of every step.
    const shared = items.map((n) => n.explicit_output?.acceptance_criteria.slice(2) ?? []);
    for (const c of shared) expect(c).toEqual(rules.map((r) => r.replace(/\.$/, '')));
  });
  it.each([
    // A statement (of a bug) is no order to every step.
    ['로그인 버그를 고쳐라. 비밀번호를 바꿔도 기존 세션이 만료되지 않는다.', 2],
    ['Avoid the N+1 query in OrdersController#index. Add a regression test for it.', 2],
    // List items are work, whatever their first word.
    [
      'Harden checkout:\n- add idempotency keys\n- avoid double charges when the client retries\n- never log card numbers',
      3,
    ],
  ])('keeps work that reads like a rule as work: %j', (goal, steps) => {
    const t = plan(goal);
    expect(t.nodes.filter((n) => (n.assigned_dqs ?? []).length > 0)).toHaveLength(steps);
    for (const n of t.nodes) expect(n.explicit_output?.acceptance_criteria.length).toBeLessThanOrEqual(2);
  });
  it('judges one task read out of a longer goal by its own words, not by the rules around it', () => {
    const t = plan('CSV를 JSON으로 바꾸는 CLI를 만들어라. 각 단계가 끝나면 테스트를 실행하라.');
    expect(t.nodes.map((n) => [n.persona, n.explicit_output?.type])).toEqual([['arch', 'code']]);
  });
  it.each([
    ['결제 모듈을 리팩터링하라. 모든 작업이 끝나면 배포해야 한다.', '모든 작업이 끝나면 배포해야 한다'],
    ['Refactor the payment module. Once all steps are done, deploy it.', 'Once all steps are done, deploy it'],
  ])('keeps a sentence that orders work after every step as a step: %s', (goal, sentence) => {
    const t = plan(goal);
    expect(t.nodes).toHaveLength(2);
    for (const n of t.nodes) expect(n.explicit_output?.acceptance_criteria).not.toContain(sentence);
  });
  it('keeps list items that start with their own verb as they are, beside a title verb', () => {
    expect(plan('Release in three steps: changelog entry, version bump, publish packages').nodes.at(-1)?.label).toBe(
      'Publish packages',
    );
    expect(plan('Ship it in two steps: database migration, run tests').nodes.map((n) => n.label)).toEqual([
      'Ship database migration',
      'Run tests',
    ]);
    expect(
      plan('Set up CI in steps: email the admins, add linting, test coverage report').nodes.map((n) => n.label),
    ).toEqual(['Email the admins', 'Add linting', 'Test coverage report']);
    expect(
      plan('Build the release pipeline in stages: lint, test, package and publish').nodes.map((n) => n.label),
    ).toEqual(['Lint', 'Test', 'Package', 'Publish']);
  });
  it('is deterministic for the same input', () => {
    expect(plan('Build the API, then document it')).toEqual(plan('Build the API, then document it'));
  });
});

describe('mental models and plan', () => {
  it('ships at least eight named models with guidance, checkpoints and failure signals', () => {
    expect(MENTAL_MODELS.length).toBeGreaterThanOrEqual(8);
    for (const m of MENTAL_MODELS) {
      expect(m.guidance.length).toBeGreaterThan(40);
      expect(m.checkpoints.preflight.length).toBeGreaterThan(0);
      expect(m.failureSignals.length).toBeGreaterThan(0);
    }
  });
  it('explains each assignment and feeds band/output conflicts back to the topology', () => {
    const t = plan('Compare A, B and C for the cache');
    const b = buildBundle(t, at);
    expect(b.local_charts).toHaveLength(t.nodes.length);
    expect(b.local_charts.find((c) => c.id === 'chart_T1_1')?.rationale).toMatch(/band wide/);
    expect(b.local_charts.at(-1)?.model_id).toBe('decision_matrix');
    const wideDecision = {
      ...t,
      nodes: t.nodes.map((n, i) => (i === t.nodes.length - 1 ? { ...n, theta_gt_band: 'wide' as const } : n)),
    };
    const fb = buildBundle(wideDecision, at).topology_feedback;
    expect(fb).toEqual([
      expect.objectContaining({ node_id: t.nodes.at(-1)?.id, suggestion: 'set theta_gt_band narrow' }),
    ]);
    const { topology, applied } = applyFeedback(wideDecision, buildBundle(wideDecision, at));
    expect(applied).toHaveLength(1);
    expect(buildBundle(topology, at).topology_feedback).toEqual([]);
  });
  it('types nodes by DESIGN.md and gives merges weights summing to 1 with an explicit quorum', () => {
    const t = plan('Compare A, B and C for the cache');
    const p = buildPlan(t, buildBundle(t, at), policy, at);
    expect(p.execution_graph['T1']?.type).toBe('commit');
    expect(p.execution_graph['T2']?.type).toBe('branch');
    const merge = p.execution_graph[t.nodes.at(-1)?.id as string];
    expect(merge?.type).toBe('merge');
    expect(Object.values(merge?.merge_policy?.scoring_weights ?? {}).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 10);
    expect(merge?.merge_policy?.quorum).toBe(3);
    expect(p.fallback_rules.map((r) => r.error_type)).toEqual([
      'schema_validation_error',
      'hallucination',
      'agent_error',
      'timeout',
      'hitl_block',
    ]);
    expect(toMermaid(t, p)).toMatch(/^flowchart LR/);
  });
});

describe('importWorkflow', () => {
  const wf = {
    name: 'release',
    nodes: [
      { id: 'build', label: 'Build', command: 'make build', gates: ['make test'] },
      { id: 'docs', label: 'Docs', persona: 'quill' },
      {
        id: 'ship',
        label: 'Ship',
        merge_policy: { strategy: 'fast_forward', scoring_weights: { tests: 2, review: 2 } },
      },
    ],
    edges: [
      { from: 'build', to: 'ship' },
      { from: 'docs', to: 'ship' },
    ],
  };
  it('infers type, bands and outputs and carries execution hints through to the plan', () => {
    const t = importWorkflow({ raw: wf, file: 'wf.yaml', runId: '20261121-msowd-x', policy, at });
    expect(t.topology_type).toBe('fan_in');
    expect(t.nodes.find((n) => n.id === 'build')).toMatchObject({
      command: 'make build',
      gates: ['make test'],
      label: 'Build',
    });
    const p = buildPlan(t, buildBundle(t, at), policy, at);
    expect(p.execution_graph['build']).toMatchObject({ command: 'make build', gates: ['make test'] });
    expect(p.execution_graph['ship']?.merge_policy).toMatchObject({
      strategy: 'fast_forward',
      scoring_weights: { tests: 0.5, review: 0.5 },
      quorum: 2,
    });
  });
  it.each<[unknown, string]>([
    [{ ...wf, nodes: [...wf.nodes, { id: 'x', label: 'X', gates: [''] }] }, 'nodes[3].gates[0]'],
    [{ ...wf, nodes: [...wf.nodes, { id: 'x', label: 'X', colour: 'red' }] }, 'nodes[3].colour'],
    [{ ...wf, edges: [...wf.edges, { from: 'ship', to: 'nowhere' }] }, 'edges[2].to'],
    [{ ...wf, edges: [...wf.edges, { from: 'ship', to: 'build' }] }, 'edges[2]'],
    [{ ...wf, nodes: [{ id: '../x', label: 'X' }] }, 'nodes[0].id'],
    // A misspelt key inside a node's merge policy or explicit output is refused, as at the node's own level.
    [{ ...wf, nodes: [{ id: 'm', label: 'M', merge_policy: { stratgy: 'manual' } }] }, 'nodes[0].merge_policy.stratgy'],
    [
      { ...wf, nodes: [{ id: 'm', label: 'M', explicit_output: { type: 'memo', file: 'x' } }] },
      'nodes[0].explicit_output.file',
    ],
    // A required output must be a path in the node's worktree.
    [{ ...wf, edges: [...wf.edges, { from: 'ship', to: 'build', max_iterations: 2, type: 'hitl' }] }, 'edges[2].type'],
    ...['../../etc/passwd', '/etc/passwd', 'a/../../b', '\\server\\x', 'C:\\x', 'c:/x'].map((f): [unknown, string] => [
      { ...wf, nodes: [{ id: 'm', label: 'M', explicit_output: { type: 'memo', required_files: ['ok.md', f] } }] },
      'nodes[0].explicit_output.required_files[1]',
    ]),
  ])('names the failing field path %#', (raw, path) => {
    expect(() => importWorkflow({ raw, file: 'wf.yaml', runId: '20261121-msowd-x', policy, at })).toThrow(
      expect.objectContaining({
        code: 'MSO_INVALID_ARTIFACT',
        issues: expect.arrayContaining([expect.objectContaining({ path })]),
      }),
    );
  });
  it('gates the target of a hitl edge at any risk, and the decision nodes at high risk', () => {
    const raw = {
      name: 'gated',
      nodes: [
        { id: 'prepare', label: 'Prepare', command: 'true' },
        { id: 'publish', label: 'Publish', command: 'true' },
        { id: 'announce', label: 'Announce', command: 'true' },
      ],
      edges: [
        { from: 'prepare', to: 'publish', type: 'hitl' },
        { from: 'publish', to: 'announce' },
      ],
    };
    const t = importWorkflow({ raw, file: 'wf.yaml', runId: '20261121-msowd-x', policy, at });
    expect(t.execution_policy?.human_gate_nodes).toEqual(['publish']);
    expect(t.edges.map((e) => e.type)).toEqual(['hitl', 'data']);
    expect(buildPlan(t, buildBundle(t, at), policy, at).human_gate_nodes).toEqual(['publish']);
    // No hitl edge, not high risk: no gate.
    const plain = { ...raw, edges: raw.edges.map(({ from, to }) => ({ from, to })) };
    expect(
      importWorkflow({ raw: plain, file: 'wf.yaml', runId: '20261121-msowd-x', policy, at }).execution_policy
        ?.human_gate_nodes,
    ).toEqual([]);
    // High risk adds the decision nodes, in plan order.
    const high = importWorkflow({
      raw: { ...raw, risk: 'high' },
      file: 'wf.yaml',
      runId: '20261121-msowd-x',
      policy,
      at,
    });
    // publish is both a decision node and the hitl edge's target: gated once.
    expect(high.execution_policy?.human_gate_nodes).toEqual(['publish', 'announce']);
  });
  it('accepts a cycle closed by a bounded back-edge as a loop', () => {
    const t = importWorkflow({
      raw: { ...wf, edges: [...wf.edges, { from: 'ship', to: 'build', max_iterations: 2 }] },
      file: 'wf.yaml',
      runId: '20261121-msowd-x',
      policy,
      at,
    });
    expect(t.topology_type).toBe('loop');
  });
});

describe('the plan as text', () => {
  it('heads its columns and says what the goal asks of every step', () => {
    const text = toText(plan('Build a CLI that converts CSV to JSON. Add a README. Use TypeScript.'));
    const lines = text.split('\n');
    expect(lines[2]).toMatch(/^ {2}NODE +KIND +BAND +PERSONA +OUTPUT +TASK {2}<- AFTER$/);
    // Each row's task starts under the header's TASK, whatever its output's length.
    const at = (lines[2] as string).indexOf('TASK');
    for (const row of lines.slice(3, -1)) expect(row.slice(at)).toMatch(/^[A-Z]/);
    expect(lines.at(-1)).toBe('every step: Use TypeScript');
    expect(toText(plan('Build a CLI that converts CSV to JSON. Add a README.'))).not.toContain('every step');
  });
});

describe('a loop goal in Korean', () => {
  it('keeps the subject of its condition with the condition, not in the work', () => {
    const t = plan('테스트가 통과할 때까지 버그를 고쳐라');
    expect(t.nodes.map((n) => [n.label, n.explicit_output?.type])).toEqual([
      ['버그를 고쳐라', 'code'],
      ['테스트가 통과 여부 확인 후 반복 결정', 'checklist'],
    ]);
  });
});

describe('a title that announces a set of things, then names them after a colon', () => {
  it.each([
    [
      'Do the following three things in parallel: log cleanup, cache setup, monitoring dashboard.',
      ['Log cleanup', 'Cache setup', 'Monitoring dashboard'],
    ],
    [
      '다음 세 가지를 병렬로 처리하라: 로그 정리, 캐시 설정, 모니터링 대시보드 추가.',
      ['로그 정리', '캐시 설정', '모니터링 대시보드 추가'],
    ],
  ])('makes each named thing a task, side by side: %s', (goal, labels) => {
    const t = plan(goal);
    expect(t.nodes.slice(0, 3).map((n) => n.label)).toEqual(labels);
    expect(t.nodes).toHaveLength(4);
    expect(parentsOf(t, 'T4')).toEqual(['T1', 'T2', 'T3']);
  });
});
