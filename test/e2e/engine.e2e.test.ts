import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_AGENT } from '../helpers/agents.js';
import { MSO_BIN, REPO_ROOT } from '../helpers/cli.js';
import { auditStores } from '../helpers/pg.js';
import { makeStoreSandbox, type StoreSandbox } from '../helpers/store.js';

// Every test runs on the embedded SQLite store and, when MSO_TEST_PG_URL answers, on PostgreSQL: the tests read the
// record through the sandbox's dialect-neutral reads (events with parsed payloads, portable SQL), never SQLite's.
let sb: StoreSandbox;

type Node = {
  id: string;
  label?: string;
  command?: string;
  agent?: string;
  gates?: string[];
  max_retry?: number;
  timeout_s?: number;
  merge_policy?: Record<string, unknown>;
  instructions?: string;
  output?: string;
  explicit_output?: Record<string, unknown>;
};
async function workflow(
  name: string,
  nodes: Node[],
  edges: Array<{ from: string; to: string; max_iterations?: number }>,
): Promise<string> {
  const file = join(sb.dir, `${name}.yaml`);
  await writeFile(file, stringify({ name, nodes: nodes.map((n) => ({ label: n.id, ...n })), edges }));
  return file;
}
interface Summary {
  run_id: string;
  status: string;
  nodes: Record<string, number>;
  tickets: Record<string, number>;
  pending_human: string[];
  reason: string | null;
  duration_ms: number;
  node_details: Record<string, { state: string; commit: string | null; tree_hash: string | null }>;
  next: Array<{ command: string; note?: string }>;
}
const run = (args: string[]) => sb.json<Summary>(['run', ...args]);
const q = (sql: string) => sb.rows(sql);
const out = (id: string, text = id) => `mkdir -p outputs && echo ${text} > outputs/${id}.md`;

describe.each(auditStores())('mso run (%s audit store)', (store) => {
  beforeEach(async () => {
    sb = await makeStoreSandbox(store);
    expect((await sb.run(['init'])).code).toBe(0);
    await writeFile(
      join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
      `agents:\n  fake-claude: { kind: claude-code, command: ${FAKE_AGENT} }\nfallback_chains:\n  default: [fake-claude, manual]\nresilience:\n  retry: { max_retries: 0 }\nrun_policy:\n  max_active_runs: 50\n`,
    );
  });
  afterEach(async () => {
    await sb.cleanup();
  });
  it('runs the shipped offline example: branch, judged merge with gates, real commits, tree hashes, tickets done', async () => {
    const r = await run(['--workflow', join(REPO_ROOT, 'examples', 'review-and-merge.yaml')]);
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    expect(r.body).toMatchObject({ status: 'completed', nodes: { done: 4 }, tickets: { done: 4 } });
    // The record is where the store says: the workspace's SQLite file only when no PostgreSQL URL is set.
    expect(existsSync(join(sb.dir, 'workspace', '.mso-context', 'audit.db'))).toBe(store === 'sqlite');
    for (const n of Object.values(r.body.node_details)) {
      expect(n.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(n.tree_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    // The merge node's snapshots: started, then merged (its gates run between the two, so their times differ).
    const merged = await q(
      `SELECT status FROM node_snapshots WHERE run_id = '${r.body.run_id}' AND node_id = 'merge' ORDER BY created_at`,
    );
    expect(merged).toEqual([{ status: 'active' }, { status: 'merged' }]);
    const order = (
      await q(`SELECT node_id FROM events WHERE run_id = '${r.body.run_id}' AND type = 'node.committed' ORDER BY seq`)
    ).map((x) => x['node_id']);
    expect(order[0]).toBe('scaffold');
    expect(order[3]).toBe('merge');
    const judged = await q(`SELECT title FROM decisions WHERE title LIKE 'merge merge:%'`);
    expect(judged).toHaveLength(1);
    // The run's duration is the same wherever it is read: its summary, printed before the observation after it
    // recorded its own event, and mso status afterwards.
    const later = await sb.json<Summary>(['status', r.body.run_id]);
    expect(later.body.duration_ms).toBe(r.body.duration_ms);
  });
  it('runs diamond, deep chain and loop plans in dependency order', async () => {
    const diamond = await workflow(
      'diamond',
      [
        { id: 'a', command: out('a') },
        { id: 'b', command: out('b') },
        { id: 'c', command: out('c') },
        { id: 'd', command: out('d') },
      ],
      [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'c' },
        { from: 'b', to: 'd' },
        { from: 'c', to: 'd' },
      ],
    );
    const dia = await run(['--workflow', diamond]);
    expect(dia.body.status).toBe('completed');
    // Write-ahead: a node's start is on record before anything else of it, and after its parents' completion.
    const ev = (await sb.events(dia.body.run_id))
      .filter((e) => e.node_id !== null)
      .map((e) => ({ seq: e.seq, type: e.type, node_id: e.node_id, state: e.payload['state'] ?? null }));
    const first = (id: string) => ev.find((e) => e.node_id === id);
    const seqOf = (id: string, state: string) =>
      ev.find((e) => e.node_id === id && e.type === 'node.state' && e.state === state)?.seq ?? NaN;
    for (const id of ['a', 'b', 'c', 'd']) expect(first(id)).toMatchObject({ type: 'node.state', state: 'running' });
    for (const [p, c] of [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'd'],
      ['c', 'd'],
    ] as const) {
      expect(seqOf(p, 'done')).toBeLessThan(seqOf(c, 'running'));
    }
    const chainNodes = Array.from({ length: 8 }, (_, i) => ({
      id: `s${i}`,
      command: `${out(`s${i}`)} && test $(ls outputs | wc -l) -eq ${i + 1}`,
    }));
    const chain = await workflow(
      'chain',
      chainNodes,
      chainNodes.slice(1).map((n, i) => ({ from: `s${i}`, to: n.id })),
    );
    const c = await run(['--workflow', chain]);
    expect(c.body, JSON.stringify(c.body)).toMatchObject({ status: 'completed', nodes: { done: 8 } });
    // The loop's evaluation fails until the work node has run three times.
    const loop = await workflow(
      'loop',
      [
        { id: 'work', command: 'mkdir -p outputs && echo x >> outputs/log.txt && cp outputs/log.txt outputs/work.md' },
        { id: 'check', command: out('check'), gates: ['test $(wc -l < outputs/log.txt) -ge 3'], max_retry: 0 },
      ],
      [
        { from: 'work', to: 'check' },
        { from: 'check', to: 'work', max_iterations: 4 },
      ],
    );
    const l = await run(['--workflow', loop]);
    expect(l.body.status).toBe('completed');
    const iterations = await q(
      `SELECT count(*) AS n FROM events WHERE run_id = '${l.body.run_id}' AND type = 'loop.iterate'`,
    );
    expect(iterations).toEqual([{ n: 2 }]);
  });
  it("records a shell step's changed files and HEAD from the commit made after it (a move by both paths)", async () => {
    const wf = await workflow(
      'changes',
      [
        { id: 'a', command: 'echo x > a.txt && echo y > b.txt' },
        { id: 'b', command: 'mv a.txt moved.txt && rm b.txt && echo z > c.txt' },
        // A step that commits by itself: what it committed counts too, and HEAD after it is its own commit.
        {
          id: 'c',
          command:
            'echo w > d.txt && git add d.txt && git -c user.name=t -c user.email=t@t commit -qm self && echo v > e.txt',
        },
      ],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.body, JSON.stringify(r.body)).toMatchObject({ status: 'completed', nodes: { done: 3 } });
    const rows = (await q(
      `SELECT node_id, files_changed, json_extract(evidence, '$.headBefore') AS before, json_extract(evidence, '$.headAfter') AS after FROM attempts WHERE run_id = '${r.body.run_id}' ORDER BY node_id`,
    )) as Array<{ node_id: string; files_changed: string; before: string; after: string }>;
    const files = Object.fromEntries(rows.map((x) => [x.node_id, JSON.parse(x.files_changed) as string[]]));
    expect(files).toEqual({
      a: ['a.txt', 'b.txt'],
      b: ['a.txt', 'b.txt', 'c.txt', 'moved.txt'],
      c: ['d.txt', 'e.txt'],
    });
    const commit = (id: string) => r.body.node_details[id]?.commit;
    // HEAD before each step is its parent's commit; after it, the same (nothing committed) or the step's own commit.
    expect(rows[1]).toMatchObject({ before: commit('a'), after: commit('a') });
    expect(rows[2]?.before).toBe(commit('b'));
    expect(rows[2]?.after).toMatch(/^[0-9a-f]{40}$/);
    expect([commit('b'), commit('c')]).not.toContain(rows[2]?.after);
  });

  it('runs a fan-out wider than --max-concurrency: each child from its parent’s commit, its worktree made ahead', async () => {
    const kids = Array.from({ length: 7 }, (_, i) => `k${i}`);
    const wf = await workflow(
      'fan',
      [
        { id: 'root', command: out('root') },
        ...kids.map((id) => ({ id, command: `test -f outputs/root.md && ${out(id)}` })),
      ],
      kids.map((id) => ({ from: 'root', to: id })),
    );
    const r = await run(['--workflow', wf, '--max-concurrency', '2']);
    expect(r.body, JSON.stringify(r.body)).toMatchObject({ status: 'completed', nodes: { done: 8 } });
    const rows = (await q(
      `SELECT node_id, json_extract(evidence, '$.headBefore') AS before FROM attempts WHERE run_id = '${r.body.run_id}' AND node_id != 'root'`,
    )) as Array<{ node_id: string; before: string }>;
    expect(rows.map((x) => x.node_id).sort()).toEqual(kids);
    for (const x of rows) expect(x.before).toBe(r.body.node_details['root']?.commit);
    // Never more than two children at once, counted from their state events.
    let running = 0;
    let most = 0;
    for (const e of await sb.events(r.body.run_id))
      if (e.type === 'node.state' && e.node_id !== 'root') {
        if (e.payload['state'] === 'running') most = Math.max(most, ++running);
        if (e.payload['state'] === 'done') running--;
      }
    expect(most).toBe(2);
    // The finished run's worktrees are gone (folders and git's registrations), in plan order; its branches stay.
    const cleanup = (await sb.events(r.body.run_id)).find((e) => e.type === 'run.cleanup');
    expect(cleanup?.payload['removed_worktrees']).toEqual(['root', ...kids]);
    const runDir = join(sb.dir, 'workspace', '.mso-context', 'active', r.body.run_id);
    for (const id of ['root', ...kids]) expect(existsSync(join(runDir, 'worktree', id))).toBe(false);
    const git = (...a: string[]) => execFileSync('git', a, { cwd: sb.cwd, encoding: 'utf8' });
    expect(git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(git('branch', '--list', `mso/${r.body.run_id}/*`).trim().split('\n')).toHaveLength(8);
  });

  it('starts a child from its parent’s last commit when the parent’s first commit failed its gate', async () => {
    // A node's children's worktrees are begun as soon as its step succeeded, unless a gate may still fail it.
    const flag = join(sb.dir, 'tried-once');
    const wf = await workflow(
      'regate',
      [
        {
          id: 'flaky',
          command: `if [ -f ${flag} ]; then ${out('ok')}; else touch ${flag}; echo one > first.txt; fi`,
          gates: ['test -f outputs/ok.md'],
          max_retry: 1,
        },
        { id: 'after', command: `test -f outputs/ok.md && ! test -f first.txt && ${out('after')}` },
        { id: 'stuck', command: out('stuck'), gates: ['false'], max_retry: 0 },
        { id: 'never', command: out('never') },
        {
          id: 'lacking',
          command: out('lacking'),
          explicit_output: { type: 'memo', required_files: ['x.md'] },
          max_retry: 0,
        },
        { id: 'unmade', command: out('unmade') },
      ],
      [
        { from: 'flaky', to: 'after' },
        { from: 'stuck', to: 'never' },
        { from: 'lacking', to: 'unmade' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.body.nodes, JSON.stringify(r.body)).toEqual({ done: 2, failed: 2, blocked: 2 });
    const events = await sb.events(r.body.run_id);
    const failures = events.filter((e) => e.type === 'node.failure').map((e) => e.node_id);
    expect(failures.sort()).toEqual(['flaky', 'lacking', 'stuck']);
    const before = await q(
      `SELECT json_extract(evidence, '$.headBefore') AS h FROM attempts WHERE run_id = '${r.body.run_id}' AND node_id = 'after'`,
    );
    expect(before).toEqual([{ h: r.body.node_details['flaky']?.commit }]);
    // The children of the nodes that failed their gate or their required file never ran, and got no worktree.
    const runDir = join(sb.dir, 'workspace', '.mso-context', 'active', r.body.run_id);
    expect(existsSync(join(runDir, 'worktree', 'never'))).toBe(false);
    expect(existsSync(join(runDir, 'worktree', 'unmade'))).toBe(false);
    const git = (...a: string[]) => execFileSync('git', a, { cwd: sb.cwd, encoding: 'utf8' });
    const listed = git('worktree', 'list', '--porcelain').match(/^worktree .*$/gm) ?? [];
    expect(listed.map((l) => basename(l)).sort()).toEqual(
      ['after', 'flaky', 'lacking', 'stuck', basename(sb.cwd)].sort(),
    );
  });

  it('blocks the dependents of a failed node, names the ancestor, and lets independent branches finish', async () => {
    const wf = await workflow(
      'partial',
      [
        { id: 'root', command: out('root') },
        { id: 'bad', command: 'exit 3', max_retry: 0 },
        { id: 'after', command: out('after') },
        { id: 'good', command: out('good') },
      ],
      [
        { from: 'root', to: 'bad' },
        { from: 'bad', to: 'after' },
        { from: 'root', to: 'good' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.code).toBe(1);
    expect(r.body.nodes).toEqual({ done: 2, failed: 1, blocked: 1 });
    const detail = await q(
      `SELECT payload FROM events WHERE run_id = '${r.body.run_id}' AND type = 'node.state' AND node_id = 'after' ORDER BY seq DESC LIMIT 1`,
    );
    expect(String(detail[0]?.['payload'])).toContain('blocked by failed ancestor bad');
  });
  it('asks a person when the quorum is missed (exit 3), and finishes after approve + resume', async () => {
    const wf = await workflow(
      'quorum',
      [
        { id: 'root', command: out('root') },
        { id: 'ok', command: out('ok') },
        { id: 'broken', command: 'exit 1', max_retry: 0 },
        { id: 'join', command: out('join'), merge_policy: { strategy: 'score_weighted', quorum: 2 } },
      ],
      [
        { from: 'root', to: 'ok' },
        { from: 'root', to: 'broken' },
        { from: 'ok', to: 'join' },
        { from: 'broken', to: 'join' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.code).toBe(3);
    expect(r.body.status).toBe('awaiting_human');
    expect(r.body.pending_human[0]).toMatch(/^HITL-0001: merge join: 1 of 2 parents succeeded/);
    expect((r.body as unknown as { waiting: unknown[] }).waiting).toEqual([
      expect.objectContaining({
        item: 'HITL-0001',
        kind: 'quorum_missed',
        node: 'join',
        decide: `mso approve|reject ${r.body.run_id} HITL-0001`,
      }),
    ]);
    const brief = await readFile(
      join(sb.dir, 'observation', 'tester', r.body.run_id, '02_decisions', 'HITL-0001.md'),
      'utf8',
    );
    expect(brief).toContain('gate-type: H1');
    expect((await sb.run(['approve', r.body.run_id, 'HITL-0001', '--note', 'ok with one branch'])).code).toBe(0);
    const resumed = await sb.json<Summary>(['resume', r.body.run_id]);
    expect(resumed.body.node_details['join']?.state).toBe('done');
    // The person said to go on with one branch: the final node is done, so the run is completed, saying what it
    // went on without.
    expect(resumed.code).toBe(0);
    expect(resumed.body).toMatchObject({
      status: 'completed',
      reason: expect.stringMatching(/^join done without broken \(failed: /),
    });
    const decision = await q(
      "SELECT approved_by, decision_content FROM decisions WHERE title LIKE 'HITL-0001 approved%'",
    );
    expect(decision).toEqual([{ approved_by: 'tester', decision_content: 'ok with one branch' }]);
    // The timeline says who asked and who decided.
    const timeline = await sb.json<{ entries: Array<{ node: string | null; kind: string; text: string }> }>([
      'timeline',
      r.body.run_id,
    ]);
    expect(
      timeline.body.entries.filter((e) => e.kind === 'human' || e.kind === 'decision').map((e) => [e.node, e.text]),
    ).toEqual([
      ['join', expect.stringMatching(/^HITL-0001 \(\w+\) asked: /)],
      ['join', 'HITL-0001 approved by tester: ok with one branch'],
    ]);
    // The timeline explains it: the failure and its rule, the person asked, the decision with its note, the judge.
    const t = await sb.json<{ entries: Array<{ node: string | null; kind: string; text: string; refs: string[] }> }>([
      'timeline',
      r.body.run_id,
    ]);
    const of = (kind: string, node: string) => t.body.entries.filter((e) => e.kind === kind && e.node === node);
    expect(of('failure', 'broken')[0]?.text).toMatch(/rule \w+, action \w+/);
    expect(of('human', 'join')[0]?.text).toMatch(/HITL-0001 \(quorum_missed\)/);
    expect(of('decision', 'join')[0]).toMatchObject({
      text: 'HITL-0001 approved by tester: ok with one branch',
      refs: ['hitl:HITL-0001'],
    });
    expect(of('judge', 'join')[0]?.text).toMatch(/score_weighted, quorum 2: ok=/);
    const kinds = t.body.entries.map((e) => `${e.kind}:${e.node ?? ''}`);
    expect(kinds.indexOf('decision:join')).toBeLessThan(kinds.indexOf('judge:join'));
  });
  it('completes a run whose merge met its quorum without a failed branch, naming it; apply takes the merge', async () => {
    const wf = await workflow(
      'quorum-met',
      [
        { id: 'root', command: out('root') },
        { id: 'x', command: out('x') },
        { id: 'y', command: out('y') },
        { id: 'z', command: 'exit 1', max_retry: 0 },
        { id: 'join', command: out('join'), merge_policy: { strategy: 'score_weighted', quorum: 2 } },
      ],
      [
        { from: 'root', to: 'x' },
        { from: 'root', to: 'y' },
        { from: 'root', to: 'z' },
        { from: 'x', to: 'join' },
        { from: 'y', to: 'join' },
        { from: 'z', to: 'join' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    expect(r.body).toMatchObject({ status: 'completed', nodes: { done: 4, failed: 1 }, resumable: false });
    expect(r.body.reason).toBe('join done without z (failed: process: exit 1)');
    expect(r.body.next[0]?.command).toMatch(/^mso apply /);
    // mso status says the same later, from the record; mso explain tells it in the timeline.
    const later = await sb.json<Summary>(['status', r.body.run_id]);
    expect(later.body).toMatchObject({ status: 'completed', reason: r.body.reason });
    // Kept beside its status in the manifest: the observation readme says it too.
    const readme = await readFile(join(sb.dir, 'observation', 'tester', r.body.run_id, 'readme.md'), 'utf8');
    expect(readme).toContain(`Note: ${r.body.reason}`);
    const why = await sb.json<{
      run_id: string;
      provenance: { base_sha: string };
      timeline: Array<{ kind: string; text: string }>;
    }>(['explain', r.body.run_id]);
    expect(why.code, why.stderr).toBe(0);
    expect(why.body.provenance.base_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(why.body.timeline.find((e) => e.kind === 'outcome')?.text).toContain(`completed: ${r.body.reason}`);
    const told = await sb.run(['explain', r.body.run_id]);
    expect(told.stdout).toMatch(new RegExp(`^RUN ${r.body.run_id}: mso `));
    expect(told.stdout).toContain('join done without z');
    // A failure one node before the merge: the node after it is blocked, and the merge went on without both.
    const deeper = await workflow(
      'quorum-deeper',
      [
        { id: 'root', command: out('root') },
        { id: 'x', command: out('x') },
        { id: 'y', command: out('y') },
        { id: 'a', command: 'exit 1', max_retry: 0 },
        { id: 'a2', command: out('a2') },
        { id: 'join', command: out('join'), merge_policy: { strategy: 'score_weighted', quorum: 2 } },
      ],
      [
        { from: 'root', to: 'x' },
        { from: 'root', to: 'y' },
        { from: 'root', to: 'a' },
        { from: 'a', to: 'a2' },
        { from: 'x', to: 'join' },
        { from: 'y', to: 'join' },
        { from: 'a2', to: 'join' },
      ],
    );
    const d = await run(['--workflow', deeper]);
    expect(d.code, JSON.stringify(d.body)).toBe(0);
    expect(d.body).toMatchObject({
      status: 'completed',
      reason: 'join done without a (failed: process: exit 1), a2 (blocked)',
    });
    // A failed final node (here: the merge's own step) is the run's failure, as before.
    const broken = await workflow(
      'quorum-join-fails',
      [
        { id: 'root', command: out('root') },
        { id: 'x', command: out('x') },
        { id: 'y', command: 'exit 1', max_retry: 0 },
        { id: 'join', command: 'exit 1', max_retry: 0, merge_policy: { strategy: 'score_weighted', quorum: 1 } },
      ],
      [
        { from: 'root', to: 'x' },
        { from: 'root', to: 'y' },
        { from: 'x', to: 'join' },
        { from: 'y', to: 'join' },
      ],
    );
    const f = await run(['--workflow', broken]);
    expect(f.code).toBe(1);
    expect(f.body.status).toBe('failed');
  });
  it('turns a merge conflict into a human gate', async () => {
    const wf = await workflow(
      'conflict',
      [
        { id: 'root', command: 'mkdir -p outputs && echo base > shared.txt && echo r > outputs/root.md' },
        { id: 'left', command: 'echo left > shared.txt && mkdir -p outputs && echo l > outputs/left.md' },
        { id: 'right', command: 'echo right > shared.txt && mkdir -p outputs && echo r > outputs/right.md' },
        { id: 'join', command: out('join') },
      ],
      [
        { from: 'root', to: 'left' },
        { from: 'root', to: 'right' },
        { from: 'left', to: 'join' },
        { from: 'right', to: 'join' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.code).toBe(3);
    expect(r.body.pending_human[0]).toMatch(/merge join: (right conflicts with left|left conflicts with right)/);
  });
  it('fires each fallback rule: retry, checkout to the start commit, escalate to a person', async () => {
    const counter = join(sb.dir, 'count');
    const wf = await workflow(
      'fallbacks',
      [
        // agent_error rule (retry): exits 1 the first time only.
        {
          id: 'flaky',
          command: `n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}; ${out('flaky')}; [ "$n" -ge 1 ]`,
        },
        // schema_validation_error (checkout + retry): the required output appears only on the second try.
        {
          id: 'late',
          command: `if [ -f ${counter}.late ]; then ${out('late')}; else touch ${counter}.late; echo partial > partial.txt; fi`,
          gates: ['test -f outputs/late.md'],
        },
        // hitl_block (escalate): the manual agent.
        { id: 'human', agent: 'manual' },
      ],
      [
        { from: 'flaky', to: 'late' },
        { from: 'late', to: 'human' },
      ],
    );
    const r = await run(['--workflow', wf]);
    expect(r.code).toBe(3);
    const rules = (await sb.events(r.body.run_id, { type: 'node.retry' })).map((e) => ({
      node_id: e.node_id,
      rule: e.payload['rule'],
      action: e.payload['action'],
    }));
    expect(rules).toEqual([
      { node_id: 'flaky', rule: 'agent_error', action: 'retry' },
      { node_id: 'late', rule: 'schema_validation_error', action: 'checkout' },
    ]);
    const checkout = await sb.events(r.body.run_id, { type: 'node.checkout' });
    expect(checkout).toHaveLength(1);
    expect(checkout[0]?.payload['target_commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(
      await q(
        `SELECT status FROM node_snapshots WHERE run_id = '${r.body.run_id}' AND node_id = 'late' AND status = 'rolled_back'`,
      ),
    ).toHaveLength(1);
    expect(r.body.pending_human[0]).toMatch(/do human by hand/);
    const hitl = r.body.pending_human[0]?.split(':')[0] as string;
    // The person does the work in the node's worktree, approves, and the run finishes.
    const wt = join(sb.dir, 'workspace', '.mso-context', 'active', r.body.run_id, 'worktree', 'human');
    await mkdir(join(wt, 'outputs'), { recursive: true });
    await writeFile(join(wt, 'outputs', 'human.md'), 'done by hand\n');
    // Approving work done by hand needs the person to say it was done.
    const unsaid = await sb.run(['approve', r.body.run_id, hitl]);
    expect(unsaid.code).toBe(2);
    expect(unsaid.stderr).toMatch(/--done/);
    expect((await sb.run(['approve', r.body.run_id, hitl, '--done'])).code).toBe(0);
    const done = await sb.json<Summary>(['resume', r.body.run_id]);
    expect(done.body).toMatchObject({ status: 'completed', nodes: { done: 3 } });
  });
  it("runs a shell step once per attempt: the agents' transient retries never run it again", async () => {
    // The default resilience (two retries with backoff) applies to agents; a command is run again only by the node's
    // own max_retry, and each run is an attempt.
    await writeFile(
      join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
      'run_policy:\n  max_active_runs: 50\n',
    );
    const counter = join(sb.dir, 'executions.log');
    for (const [maxRetry, runs] of [
      [0, 1],
      [1, 2],
    ] as const) {
      await writeFile(counter, '');
      const file = await workflow(
        `slow-${maxRetry}`,
        [{ id: 'deploy', command: `echo x >> ${counter}; sleep 5`, timeout_s: 1, max_retry: maxRetry }],
        [],
      );
      const r = await run(['--workflow', file]);
      expect(r.body).toMatchObject({
        status: 'failed',
        reason: expect.stringContaining("timed out after 1 s (its total deadline; a node's is its timeout_s)"),
      });
      expect((await readFile(counter, 'utf8')).split('\n').filter(Boolean)).toHaveLength(runs);
      const attempts = await q(
        `SELECT count(*) AS n FROM attempts WHERE run_id = '${r.body.run_id}' AND node_id = 'deploy'`,
      );
      expect(Number(attempts[0]?.['n'])).toBe(runs);
      // Its ticket counts the same attempts, blocked with the reason.
      const tickets = await sb.json<{ tickets: Array<{ node_id: string; status: string; attempts: number }> }>([
        'ticket',
        'list',
        '--run-id',
        r.body.run_id,
      ]);
      expect(tickets.body.tickets).toEqual([
        expect.objectContaining({ node_id: 'deploy', status: 'blocked', attempts: runs }),
      ]);
      // A failed node's run ends on the command that runs it again.
      expect((await sb.run(['status', r.body.run_id])).stdout).toContain(
        `next      mso rerun ${r.body.run_id} --failed`,
      );
    }
    const usage = await sb.run(['rerun', 'whatever']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/give --failed or --node ID\n/);
  });
  it('stops new dispatches when the budget is spent: failed with budget_exceeded', async () => {
    const wf = await workflow(
      'budget',
      [
        { id: 'a', output: 'code' },
        { id: 'b', output: 'code' },
        { id: 'c', output: 'code' },
      ],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    );
    const r = await run(['--workflow', wf, '--budget-usd', '0.005']);
    expect(r.code).toBe(1);
    expect(r.body.reason).toMatch(/^budget_exceeded/);
    const runs = await q(
      `SELECT count(*) AS n FROM attempts WHERE run_id = '${r.body.run_id}' AND status != 'running'`,
    );
    expect(Number(runs[0]?.['n'])).toBeLessThan(3);
    // A resume keeps the budget it was started with; raising it lets the run go on.
    const kept = await sb.json<Summary>(['resume', r.body.run_id]);
    expect(kept.body.reason).toMatch(/^budget_exceeded/);
    const raised = await sb.json<Summary>(['resume', r.body.run_id, '--budget-usd', '10']);
    expect(raised.body.status, JSON.stringify(raised.body)).toBe('completed');
    const coordinators = await sb.events(r.body.run_id, { type: 'run.coordinator' });
    expect(coordinators.map((c) => c.payload['budget_usd'])).toEqual([0.005, 0.005, 10]);
  });
  it('cancels a running run from another process and resumes it to completion', async () => {
    const marker = join(sb.dir, 'go');
    const wf = await workflow(
      'cancel',
      [
        { id: 'slow', command: `while [ ! -f ${marker} ]; do sleep 0.1; done; ${out('slow')}` },
        { id: 'next', command: out('next') },
      ],
      [{ from: 'slow', to: 'next' }],
    );
    const child = spawn(
      process.execPath,
      [MSO_BIN, '--json', 'run', '--workflow', wf, '--run-id', '20261121-msoorch-cancel-me'],
      { cwd: sb.cwd, env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    keepStderr(child);
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor(child, '20261121-msoorch-cancel-me', 'agent.spawned');
    const live = await sb.json<Summary>(['status', '20261121-msoorch-cancel-me']);
    expect(live.body).toMatchObject({ status: 'active', nodes: { running: 1, pending: 1 } });
    expect((await sb.run(['cancel', '20261121-msoorch-cancel-me'])).code).toBe(0);
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout).status).toBe('cancelled');
    const [cancelled] = await sb.events('20261121-msoorch-cancel-me', { type: 'run.cancelled' });
    expect(cancelled?.payload).toMatchObject({ resumable: true });
    await writeFile(marker, 'go');
    const resumed = await sb.json<Summary>(['resume', '20261121-msoorch-cancel-me']);
    expect(resumed.body).toMatchObject({ status: 'completed', nodes: { done: 2 } });
    // The node run again after the resume numbers its attempt on from the cancelled one (mso logs shows them so).
    const attempts = await q(
      `SELECT attempt_no, status FROM attempts WHERE run_id = '20261121-msoorch-cancel-me' AND node_id = 'slow' ORDER BY started_at`,
    );
    expect(attempts.map((a) => [Number(a['attempt_no']), a['status']])).toEqual([
      [1, 'cancelled'],
      [2, 'success'],
    ]);
  });
  it('refuses a second coordinator, survives kill -9 of the first: resume ends the orphaned agent and never runs a finished node twice', async () => {
    const marker = join(sb.dir, 'release');
    const wf = await workflow(
      'crash',
      [
        { id: 'first', command: out('first') },
        { id: 'middle', command: `while [ ! -f ${marker} ]; do sleep 0.1; done; ${out('middle')}` },
        { id: 'last', command: out('last') },
      ],
      [
        { from: 'first', to: 'middle' },
        { from: 'middle', to: 'last' },
      ],
    );
    const id = '20261121-msoorch-crash-me';
    const child = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--run-id', id], {
      cwd: sb.cwd,
      env: sb.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    keepStderr(child);
    const exited = new Promise((r) => child.once('exit', r));
    await waitFor(child, id, 'agent.spawned', 'middle');
    const spawned = await sb.events(id, { type: 'agent.spawned', node: 'middle' });
    expect(spawned).toHaveLength(1);
    const orphan = spawned[0]?.payload['pid'] as number;
    expect(orphan).toBeGreaterThan(1);
    // While the coordinator lives, its run lease refuses a second one.
    const busy = await sb.json<{ error: { code: string } }>(['resume', id]);
    expect(busy.body.error.code).toBe('MSO_RUN_BUSY');
    child.kill('SIGKILL');
    await exited;
    expect(isAlive(orphan)).toBe(true);
    // The orphan waits for the marker, so it is alive until resume ends it; the marker is written only then, for the
    // node's second attempt (written before, the orphan could see it and exit on its own first).
    let settled = false;
    const resuming = sb.json<Summary>(['resume', id]).finally(() => (settled = true));
    let killed: Awaited<ReturnType<typeof sb.events>> = [];
    for (let i = 0; i < 300 && !settled && killed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      killed = await sb.events(id, { type: 'agent.orphan_killed' }).catch(() => []);
    }
    await writeFile(marker, 'go');
    const resumed = await resuming;
    expect(resumed.body, JSON.stringify(resumed.body)).toMatchObject({ status: 'completed', nodes: { done: 3 } });
    killed = await sb.events(id, { type: 'agent.orphan_killed' });
    expect(killed.filter((e) => e.payload['pid'] === orphan)).toHaveLength(1);
    const commits = await q(
      `SELECT node_id, count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'node.committed' GROUP BY node_id ORDER BY node_id`,
    );
    expect(commits).toEqual([
      { node_id: 'first', n: 1 },
      { node_id: 'last', n: 1 },
      { node_id: 'middle', n: 1 },
    ]);
    const attempts = await q(
      `SELECT node_id, count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'node.attempt' GROUP BY node_id ORDER BY node_id`,
    );
    expect(attempts).toEqual([
      { node_id: 'first', n: 1 },
      { node_id: 'last', n: 1 },
      { node_id: 'middle', n: 2 },
    ]);
    // The timeline explains why middle ran twice: the resume took the run over, ended the orphan, closed its attempt.
    const t = await sb.json<{ entries: Array<{ kind: string; text: string }> }>(['timeline', id]);
    const said = t.body.entries.map((e) => `${e.kind}: ${e.text}`);
    expect(said).toContainEqual(expect.stringMatching(/^coordinator: took the run over from coordinator pid \d+/));
    expect(said).toContainEqual(
      expect.stringMatching(new RegExp(`^recovery: ended process group ${orphan} \\(SIG(TERM|KILL)\\) an earlier`)),
    );
    expect(said).toContainEqual(expect.stringMatching(/^recovery: closed 1 attempt\(s\) the stopped coordinator/));
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a spawned coordinator printed on stderr, kept to explain an early exit. */
const stderrOf = new WeakMap<ChildProcess, string>();
function keepStderr(child: ChildProcess): void {
  stderrOf.set(child, '');
  child.stderr?.on('data', (c: Buffer) => stderrOf.set(child, (stderrOf.get(child) ?? '') + c.toString()));
}

/**
 * Polls the store until the run has an event of `type` (of `node`), failing at once when the coordinator `child`
 * exited first (with what it printed): such a run will not write it. A poll that fails (the store busy) counts as
 * not yet.
 */
async function waitFor(child: ChildProcess, runId: string, type: string, node?: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = await q(
      `SELECT count(*) AS n FROM events WHERE run_id = '${runId}' AND type = '${type}'${node ? ` AND node_id = '${node}'` : ''}`,
    ).catch(() => [{ n: 0 }]);
    if (Number(s[0]?.['n']) > 0) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the coordinator of ${runId} exited (${child.exitCode ?? child.signalCode}) before ${type}: ${stderrOf.get(child) ?? ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${type} event for ${runId}`);
}
