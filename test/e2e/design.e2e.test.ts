import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESIGN_GOALS } from '../fixtures/design-goals.js';
import { REPO_ROOT, makeSandbox, type Sandbox } from '../helpers/cli.js';

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

// One goal per topology type through the CLI (English and Korean); all of DESIGN_GOALS run in process in
// design-goals.int, through the same application calls.
const GOALS = [
  'Add a dark mode toggle to the settings page',
  'Compare PostgreSQL, SQLite and DuckDB for the analytics store and recommend one',
  '결제 흐름을 반복해서 개선',
  '검색 API를 개선하고, 동시에 모바일 앱의 검색 화면을 다시 만든 다음, 두 결과를 함께 검증하라',
  '1. Add SSO with SAML 2. Add audit logging 3. Load-test both 4. Write the admin guide',
];
for (const g of GOALS) if (!DESIGN_GOALS.includes(g)) throw new Error(`not in DESIGN_GOALS: ${g}`);

describe('mso design all → mso validate all', () => {
  it(`passes with zero findings for ${GOALS.length} goals, one per topology type (English and Korean)`, async () => {
    const types = new Set<string>();
    await Promise.all(
      GOALS.map(async (goal, i) => {
        const d = await sb.json<{ run_id: string; topology: { topology_type: string } }>([
          'design',
          'all',
          '--goal',
          goal,
          '--risk',
          i % 2 === 0 ? 'high' : 'medium',
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
  it('refuses a required output outside the worktree before anything is written, and gates a hitl edge at any risk', async () => {
    const active = join(sb.dir, 'workspace', '.mso-context', 'active');
    const before = (await readdir(active)).sort();
    const esc = join(sb.dir, 'esc.yaml');
    await writeFile(
      esc,
      'name: esc\nnodes:\n  - id: a\n    label: A\n    command: "true"\n    explicit_output: { type: memo, required_files: ["../../etc/passwd"] }\n',
    );
    for (const args of [
      ['run', '--workflow', esc],
      ['run', '--workflow', esc, '--dry-run'],
    ]) {
      const r = await sb.json<{ error: { file: string; issues: Array<{ path: string }> } }>(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.body.error.file).toBe(esc);
      expect(r.body.error.issues.map((i) => i.path)).toEqual(['nodes[0].explicit_output.required_files[0]']);
    }
    expect((await readdir(active)).sort()).toEqual(before);
    // A folder given as the workflow file is named as one, not as missing.
    const folder = await sb.json<{ error: { code: string; message: string } }>(['run', '--workflow', sb.dir]);
    expect(folder.code).toBe(2);
    expect(folder.body.error).toMatchObject({
      code: 'MSO_INVALID_ARGUMENT',
      message: expect.stringContaining('is a folder'),
    });
    // The shipped human-gate example without its risk: the hitl edge alone stops the run before publish.
    const text = await readFile(join(REPO_ROOT, 'examples', 'human-gate.yaml'), 'utf8');
    const gated = join(sb.dir, 'gated.yaml');
    await writeFile(gated, text.replace(/^risk: high\n/m, ''));
    expect(await readFile(gated, 'utf8')).toContain('type: hitl');
    const run = await sb.json<{
      run_id: string;
      status: string;
      nodes: Record<string, number>;
      pending_human: string[];
    }>(['run', '--workflow', gated]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.body).toMatchObject({ status: 'awaiting_human', nodes: { done: 1 } });
    expect(run.body.pending_human).toEqual(['HITL-0001: approve publish before it runs']);
    // Rejected: the node fails before it runs, and its ticket says so (it stayed todo).
    const runId = run.body.run_id;
    // --reason is taken as --note (the word cancel uses); both at once is refused.
    expect((await sb.run(['reject', runId, 'HITL-0001', '--note', 'a', '--reason', 'b'])).code).toBe(2);
    expect((await sb.run(['reject', runId, 'HITL-0001', '--reason', 'not yet'])).code).toBe(0);
    // The decision stands: approving it afterwards fails and says so; rejecting again changes nothing.
    const late = await sb.run(['approve', runId, 'HITL-0001']);
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/^HITL-0001 was already rejected by .*: not approved \(a decision stands\)$/m);
    expect((await sb.run(['reject', runId, 'HITL-0001'])).stdout).toContain('(already decided)');
    // An item id is a name, never a path: an item file copied outside the run's hitl folder is not reached.
    const runDir = join(sb.dir, 'workspace', '.mso-context', 'active', runId);
    await copyFile(join(runDir, 'hitl', 'HITL-0001.json'), join(runDir, 'x.json'));
    const itemBefore = await readFile(join(runDir, 'x.json'), 'utf8');
    const escaped = await sb.json<{ error: { code: string; field: string } }>(['approve', runId, '../x']);
    expect(escaped.code).toBe(2);
    expect(escaped.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: 'item' });
    expect(await readFile(join(runDir, 'x.json'), 'utf8')).toBe(itemBefore);
    const resumed = await sb.json<{ status: string }>(['resume', runId]);
    expect(resumed.body.status).toBe('failed');
    const tickets = await sb.json<{ tickets: Array<{ node_id: string; status: string }> }>([
      'ticket',
      'list',
      '--run-id',
      runId,
    ]);
    expect(Object.fromEntries(tickets.body.tickets.map((t) => [t.node_id, t.status]))).toEqual({
      prepare: 'done',
      publish: 'blocked',
    });
  });
  it('lists runs in aligned columns, a dry run marked as one', async () => {
    const dry = await sb.json<{ run_id: string }>([
      'run',
      '--workflow',
      join(REPO_ROOT, 'examples', 'fan-out-fan-in.yaml'),
      '--dry-run',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    const lines = (await sb.run(['runs', 'list'])).stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(2);
    // Whatever the ids' lengths (the 40-character slugs of the goals above among them), the status column lines up.
    const at = lines.map((l) => (/^\S+\s+/.exec(l) as RegExpExecArray)[0].length);
    expect(new Set(at).size).toBe(1);
    expect(lines.find((l) => l.startsWith(dry.body.run_id))).toMatch(/\scompleted \(dry run\)\s/);
    // A header names the columns; every run's time is to the second, in UTC.
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+CREATED \(UTC\)$/);
    for (const l of lines.slice(1)) expect(l).toMatch(/\s\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
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
