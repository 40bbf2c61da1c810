// Offline planner speed (not a test): time per goal for the dev-set goals, synthetic goals of about 2 KB (English
// and Korean: prose with connectives, a bullet list, an enumeration) and a 100 KB goal. Baseline in the same run:
// buildTopology over the same tasks and edges, i.e. the topology assembly every planner pays, without reading the
// text. Target: < 5 ms per goal up to 2 KB. Run: npm run bench:planner (compiled, under plain node).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PolicySchema } from '../src/contracts/index.js';
import { planHeuristic } from '../src/design/heuristic-planner.js';
import { buildTopology, type TaskSpec } from '../src/design/topology-builder.js';

const policy = PolicySchema.parse({});
const at = '2026-11-21T10:00:00.000Z';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 200);

function upTo(bytes: number, parts: readonly string[], sep: string): string {
  let out = '';
  for (let i = 0; Buffer.byteLength(out + sep + (parts[i % parts.length] as string)) <= bytes; i++)
    out += (out ? sep : '') + (parts[i % parts.length] as string);
  return out;
}

const devGoals = (
  JSON.parse(readFileSync(new URL('../../test/fixtures/planner-goals.json', import.meta.url), 'utf8')) as {
    goals: Array<{ goal: string }>;
  }
).goals.map((g) => g.goal);
const enProse = upTo(
  2048,
  [
    'Profile the checkout endpoint, optimize the slowest query, and verify the latency improvement with a load test',
    'then rewrite the lexer, the formatter and the linter rules separately',
    'after that, translate the onboarding emails into Spanish, Korean and Hindi',
    'finally, compare PostgreSQL, SQLite and DuckDB for the analytics store and recommend one',
  ],
  '; ',
);
const koProse = upTo(
  2048,
  [
    '검색 API를 개선하고, 동시에 모바일 앱의 검색 화면을 다시 만든 다음, 두 결과를 함께 검증하라',
    '온보딩 이메일을 스페인어, 일본어, 힌디어로 번역한 뒤 원어민 검토를 받아라',
    '먼저 로그인 버그를 재현하고, 그 다음 원인을 수정한 뒤, 마지막으로 회귀 테스트를 추가하라',
  ],
  '. ',
);
const bullets = `Sprint goals:\n${upTo(2040, ['- fix the login timeout on the cart, checkout and refund pages', '- add CSV export', '- update the pricing page copy', '- document both in the API guide'], '\n')}`;
const huge = upTo(100 * 1024, ['Add a step to the pipeline and test it, then document the change.'], ' ');

/** Median of five batches: the machine is shared, and one slow batch should not move the figure. */
function median(f: () => void, rounds: number): number {
  const per = Math.max(1, Math.floor(rounds / 5));
  const batches: number[] = [];
  for (let b = 0; b < 5; b++) {
    const t0 = performance.now();
    for (let i = 0; i < per; i++) f();
    batches.push((performance.now() - t0) / per);
  }
  return batches.sort((a, b) => a - b)[2] as number;
}

function time(goal: string, rounds: number): { planMs: number; baseMs: number; nodes: number } {
  const plan = () => planHeuristic({ runId: '20261121-msowd-bench', goal, risk: 'medium', policy, at });
  const last = plan();
  const planMs = median(plan, rounds);
  const tasks: TaskSpec[] = last.nodes.map((n, i) => ({
    id: n.id,
    text: n.description ?? n.label,
    role: 'item',
    dq: `DQ${i + 1}`,
  }));
  const edges = last.edges.map((e) => ({ from: e.from, to: e.to, back: e.max_iterations !== undefined }));
  const baseMs = median(
    () =>
      buildTopology({
        runId: '20261121-msowd-bench',
        goal,
        risk: 'medium',
        type: last.topology_type,
        tasks,
        edges,
        policy,
        at,
        rationale: 'baseline',
        source: 'bench',
        planner: {},
      }),
    rounds,
  );
  return { planMs, baseMs, nodes: last.nodes.length };
}

function main(): void {
  for (const g of devGoals.slice(0, 10)) time(g, 20); // warm-up
  console.log(
    `planner bench (node ${process.versions.node}, ${new Date().toISOString()}, ${ROUNDS} rounds each, median of 5 batches, load ${loadavg()[0]?.toFixed(1)})`,
  );
  let sum = 0;
  let worst = 0;
  let base = 0;
  for (const g of devGoals) {
    const r = time(g, Math.max(1, Math.floor(ROUNDS / 4)));
    sum += r.planMs;
    base += r.baseMs;
    worst = Math.max(worst, r.planMs);
  }
  console.log(
    `dev set (${devGoals.length} goals, ≤ 260 B): mean ${(sum / devGoals.length).toFixed(3)} ms/goal, worst ${worst.toFixed(3)} ms; ` +
      `baseline buildTopology ${(base / devGoals.length).toFixed(3)} ms (×${(sum / base).toFixed(1)})`,
  );
  for (const [name, goal, rounds] of [
    ['EN prose 2 KB', enProse, ROUNDS],
    ['KO prose 2 KB', koProse, ROUNDS],
    ['bullet list 2 KB', bullets, ROUNDS],
    ['100 KB goal', huge, Math.max(1, Math.floor(ROUNDS / 10))],
  ] as const) {
    const r = time(goal, rounds);
    console.log(
      `${name.padEnd(16)} (${Buffer.byteLength(goal)} B, ${r.nodes} nodes): ${r.planMs.toFixed(3)} ms/goal; ` +
        `baseline buildTopology ${r.baseMs.toFixed(3)} ms (×${(r.planMs / r.baseMs).toFixed(1)}); target < 5 ms up to 2 KB`,
    );
  }
}

main();
