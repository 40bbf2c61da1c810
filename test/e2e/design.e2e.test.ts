import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await makeSandbox();
  await sb.run(['init']);
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    'run_policy:\n  max_active_runs: 100\n',
  );
});
afterAll(async () => {
  await sb.cleanup();
});

const GOALS = [
  'Add a dark mode toggle to the settings page',
  'Compare PostgreSQL, SQLite and DuckDB for the analytics store and recommend one',
  'Collect the requirements, then design the schema. Finally, write the docs.',
  'Iteratively refine the onboarding email copy until the review passes',
  'Combine the findings:\n- user interviews\n- support tickets\n- usage metrics',
  'Release pipeline:\n1. cut the branch\n2. run the tests\n3. build the images\n4. update the changelog\n5. publish the release',
  'Find every place the codebase reads the config and document it',
  'Research external articles on rate limiting, then write a summary',
  'Fix the flaky login test',
  'Review the pull request for security issues',
  'Migrate the user table to the new schema, update the API and verify with tests',
  'Explore three alternatives for the caching layer in parallel',
  '사용자 온보딩 프로세스 설계 그리고 결과 비교 분석',
  '결제 흐름을 반복해서 개선',
  '요구사항을 정리하고 데이터 모델을 설계 그리고 문서를 작성',
  '인터뷰 결과 그리고 지원 티켓 그리고 사용 지표를 통합',
  '단계별 배포 파이프라인:\n- 브랜치 생성\n- 테스트 실행\n- 이미지 빌드\n- 문서 갱신\n- 릴리스 게시',
  'Analyze performance bottlenecks in the checkout service',
  'Write a migration guide for v2; the guide depends on the API changes and the config changes',
  'Benchmark the JSON parser, then optimize the hot path, then benchmark again',
  'Summarize the incident and propose follow-ups',
  'Design the architecture for a multi-tenant job queue with high risk of data loss',
  'Move the image uploads from local disk to S3: add an S3 client wrapper, switch the avatar upload and the attachment upload to it, backfill the existing files, then remove the old disk code',
  '검색 API를 개선하고, 동시에 모바일 앱의 검색 화면을 다시 만든 다음, 두 결과를 함께 검증하라',
  '1. Add SSO with SAML 2. Add audit logging 3. Load-test both 4. Write the admin guide',
];

describe('mso design all → mso validate all', () => {
  it(`passes with zero findings for ${GOALS.length} varied goals (English and Korean)`, async () => {
    const types = new Set<string>();
    for (let i = 0; i < GOALS.length; i += 4) {
      await Promise.all(
        GOALS.slice(i, i + 4).map(async (goal, j) => {
          const risk = (i + j) % 3 === 0 ? 'high' : 'medium';
          const d = await sb.json<{ run_id: string; topology: { topology_type: string } }>([
            'design',
            'all',
            '--goal',
            goal,
            '--risk',
            risk,
          ]);
          expect(d.code, JSON.stringify(d.body)).toBe(0);
          types.add(d.body.topology.topology_type);
          const v = await sb.json<{ status: string; findings: unknown[] }>([
            'validate',
            'all',
            '--run-id',
            d.body.run_id,
          ]);
          expect(v.body.findings, `${goal}: ${JSON.stringify(v.body.findings)}`).toEqual([]);
          expect(v.code).toBe(0);
        }),
      );
    }
    expect([...types].sort()).toEqual(['dag', 'fan_in', 'fan_out', 'linear', 'loop']);
  });
});

describe('design commands', () => {
  it('writes the topology, prints WROTE, shows Mermaid and mirrors the governance report for observers', async () => {
    const t = await sb.run(['design', 'topology', '--goal', 'Compare A and B', '--case-slug', 'ab']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^WROTE .*10_topology\/workflow_topology_spec\.json\n$/);
    const runId = t.stdout.split('/active/')[1]?.split('/')[0] as string;
    expect((await sb.run(['design', 'mental-model', '--run-id', runId])).code).toBe(0);
    expect((await sb.run(['design', 'plan', '--run-id', runId])).code).toBe(0);
    const m = await sb.run(['design', 'show', '--run-id', runId, '--format', 'mermaid']);
    expect(m.stdout).toMatch(/^flowchart LR\n/);
    // Mermaid gets its own ids (n0, n1, …) so any node id is safe; the labels keep ours.
    expect(m.stdout).toContain('n0 --> n1');
    expect(m.stdout).toContain('T1: ');
    const v = await sb.run(['validate', 'all', '--run-id', runId]);
    expect(v.code).toBe(0);
    const mirrored = await readFile(
      join(sb.dir, 'observation', 'tester', runId, '04_review', 'governance_report.json'),
      'utf8',
    );
    expect(JSON.parse(mirrored)).toMatchObject({ status: 'ok', run_id: runId });
  });
  it('fails validation with exit 1 when an artifact is broken, naming the file and field', async () => {
    const d = await sb.json<{ run_id: string; plan: string }>(['design', 'all', '--goal', 'Compare A, B and C']);
    const plan = JSON.parse(await readFile(d.body.plan, 'utf8'));
    plan.execution_graph.T2.parent_refs = ['GHOST'];
    await writeFile(d.body.plan, JSON.stringify(plan));
    const v = await sb.json<{ status: string; findings: Array<{ rule: string; file: string; path: string }> }>([
      'validate',
      'contracts',
      '--run-id',
      d.body.run_id,
    ]);
    expect(v.code).toBe(1);
    expect(v.body.status).toBe('fail');
    expect(v.body.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ rule: 'CC-06', path: 'execution_graph.T2.parent_refs' })]),
    );
  });
  it('imports a workflow, and refuses a broken one with exit 2 naming the field path', async () => {
    const good = join(sb.dir, 'wf.yaml');
    await writeFile(
      good,
      'name: demo\nnodes:\n  - id: a\n    label: A\n    command: echo a\n  - id: b\n    label: B\n    gates: ["true"]\nedges:\n  - from: a\n    to: b\n',
    );
    const ok = await sb.json<{ run_id: string; topology_type: string }>(['design', 'import', '--workflow', good]);
    expect(ok.code).toBe(0);
    expect(ok.body.topology_type).toBe('linear');
    const bad = join(sb.dir, 'bad.yaml');
    await writeFile(bad, 'nodes:\n  - id: a\n    label: A\n    gates: [""]\nedges:\n  - from: a\n    to: z\n');
    const r = await sb.json<{ error: { code: string; file: string; issues: Array<{ path: string }> } }>([
      'design',
      'import',
      '--workflow',
      bad,
    ]);
    expect(r.code).toBe(2);
    expect(r.body.error.file).toBe(bad);
    expect(r.body.error.issues.map((i) => i.path)).toContain('nodes[0].gates[0]');
  });
  it('handles bad goals without a crash: blank → exit 2 and nothing written; emoji and 100 KB → a valid plan', async () => {
    const active = join(sb.dir, 'workspace', '.mso-context', 'active');
    const before = (await readdir(active)).length;
    for (const blank of ['', '   \n\t  ']) {
      const r = await sb.json<{ error: { code: string; field: string } }>(['design', 'all', '--goal', blank]);
      expect(r.code).toBe(2);
      expect(r.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: 'goal' });
    }
    expect((await readdir(active)).length).toBe(before);
    const emoji = await sb.json<{ run_id: string; topology: { nodes: number } }>(['design', 'all', '--goal', '🚀🔥✨']);
    expect(emoji.code).toBe(0);
    expect(emoji.body.run_id).toMatch(/-msowd-run-[0-9a-f]{8}$/);
    const big = `${'Add a step to the pipeline and test it, then document the change. '.repeat(1550)}`.slice(
      0,
      100 * 1024,
    );
    const large = await sb.json<{ run_id: string }>(['design', 'all', '--goal', big]);
    expect(large.code).toBe(0);
    const korean = await sb.json<{ run_id: string }>([
      'design',
      'all',
      '--goal',
      '검색 API를 개선하고, 동시에 모바일 앱의 검색 화면을 다시 만든 다음, 두 결과를 함께 검증하라',
    ]);
    // Korean words survive romanized (a second run of the same goal today gets a -2 suffix).
    expect(korean.body.run_id).toMatch(/-msowd-geomsaek-api-gaeseonhago-dongsi-/);
    for (const runId of [emoji.body.run_id, large.body.run_id, korean.body.run_id]) {
      const v = await sb.json<{ findings: unknown[] }>(['validate', 'all', '--run-id', runId]);
      expect(v.body.findings, runId).toEqual([]);
      const t = JSON.parse(
        await readFile(join(active, runId, '10_topology', 'workflow_topology_spec.json'), 'utf8'),
      ) as { nodes: Array<{ label: string }> };
      expect(t.nodes.length).toBeGreaterThanOrEqual(1);
      expect(t.nodes.length).toBeLessThanOrEqual(18);
    }
  });
  it('refuses a missing goal with exit 2', async () => {
    const r = await sb.json(['design', 'topology']);
    expect(r.code).toBe(2);
    expect(r.body).toMatchObject({ error: { code: 'MSO_INVALID_ARGUMENT', field: 'goal' } });
  });
});
