import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_AGENT } from '../helpers/agents.js';
import { auditStores } from '../helpers/pg.js';
import { makeStoreSandbox, type StoreSandbox } from '../helpers/store.js';

let sb: StoreSandbox;
let policyFile: string;

interface Proposal {
  id: string;
  status: string;
  target: string;
  patch: Array<{ path: string; value: unknown }>;
  finding: { evidence: string[] };
}

describe.each(auditStores())(
  'the feedback loop (%s audit store)',
  (store) => {
    beforeEach(async () => {
      sb = await makeStoreSandbox(store);
      await sb.run(['init']);
      policyFile = join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml');
    });
    afterEach(async () => {
      await sb.cleanup();
    });
    // The detectors run on both stores in observe.int; here PostgreSQL repeats what only the CLI does with the store
    // (proposals, suggestion_history and its rejected weight), keeping this slow file from doubling. Which findings
    // become proposals (the shell-only test) is the same code over the same rows on either store.
    const sqliteOnly = store === 'postgres' ? it.skip : it;
    sqliteOnly(
      'a node failing the same way in three runs yields a proposal; accepting it changes the fourth run, which succeeds',
      async () => {
        // No agent-level retry either: each failing run is one 1 s attempt (three retried ones took 6-7 s a run).
        await writeFile(policyFile, 'run_policy:\n  max_active_runs: 50\nresilience:\n  retry: { max_retries: 0 }\n');
        const wf = join(sb.dir, 'slow.yaml');
        await writeFile(
          wf,
          'name: slow\nnodes:\n  - id: work\n    label: Slow work\n    command: sleep 1.5 && mkdir -p outputs && echo ok > outputs/work.md\n    timeout_s: 1\n    max_retry: 0\nedges: []\n',
        );
        const runs: string[] = [];
        for (let i = 0; i < 3; i++) {
          const r = await sb.json<{ run_id: string; status: string; findings: number }>(['run', '--workflow', wf]);
          expect(r.body.status).toBe('failed');
          runs.push(r.body.run_id);
        }
        const list = await sb.json<{ proposals: Proposal[] }>(['proposals', 'list', '--status', 'pending']);
        expect(list.body.proposals).toHaveLength(1);
        const p = list.body.proposals[0] as Proposal;
        expect(p).toMatchObject({ target: 'plan', patch: [{ path: '/execution_graph/work/timeout_s' }] });
        // Twice the longest failed attempt (about 1 s), at least twice the old timeout: 3 s or more.
        expect(p.patch[0]?.value).toBeGreaterThanOrEqual(3);
        expect(p.finding.evidence).toHaveLength(3);
        const callbacks = await sb.json<{ rows: Array<{ n: number }> }>([
          'audit',
          'query',
          `SELECT count(*) AS n FROM events WHERE type = 'observe.completed' AND run_id = '${runs[2]}'`,
        ]);
        expect(callbacks.body.rows[0]?.n).toBe(1);
        const readme = await readFile(join(sb.dir, 'observation', 'tester', runs[2] as string, 'readme.md'), 'utf8');
        expect(readme).toContain(`review proposal ${p.id}`);
        // A proposal id is a name, never a path.
        const escaped = await sb.json<{ error: { code: string; field: string } }>([
          'proposals',
          'accept',
          `../${p.id}`,
        ]);
        expect(escaped.code).toBe(2);
        expect(escaped.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: 'proposal' });
        // Another file left in the proposals folder is not one, and does not stop the list (nor the next run).
        const folder = join(sb.dir, 'workspace', '.mso-context', 'proposals');
        await writeFile(join(folder, `${p.id} copy.json`), '{}');
        const listed = await sb.json<{ proposals: Proposal[] }>(['proposals', 'list']);
        expect(listed.code).toBe(0);
        expect(listed.body.proposals.map((x) => x.id)).toContain(p.id);
        expect((await sb.json(['proposals', 'accept', p.id])).code).toBe(0);
        const fourth = await sb.json<{ run_id: string; status: string; proposals_applied: string[] }>([
          'run',
          '--workflow',
          wf,
        ]);
        expect(fourth.body).toMatchObject({ status: 'completed', proposals_applied: [p.id] });
        const plan = JSON.parse(
          await readFile(
            join(
              sb.dir,
              'workspace',
              '.mso-context',
              'active',
              fourth.body.run_id,
              '30_execution',
              'execution_plan.json',
            ),
            'utf8',
          ),
        );
        expect(plan.execution_graph.work.timeout_s).toBe(p.patch[0]?.value);
        const shaped = await sb.json<{ rows: Array<{ payload: string }> }>([
          'audit',
          'query',
          `SELECT payload FROM events WHERE run_id = '${fourth.body.run_id}' AND type = 'design.proposals_applied'`,
        ]);
        expect(JSON.parse(shaped.body.rows[0]?.payload ?? '{}')).toEqual({ applied: [p.id], skipped: [] });
        const diff = await sb.json<{
          plan: { nodes_changed: Array<{ node: string; field: string; a: unknown; b: unknown }> };
          nodes: Array<{ node: string; differs: string[]; a: { state: string }; b: { state: string } }>;
          proposals: { only_a: string[]; only_b: string[] };
        }>(['diff', runs[2] as string, fourth.body.run_id]);
        expect(diff.body.plan.nodes_changed).toEqual([
          { node: 'work', field: 'timeout_s', a: 1, b: p.patch[0]?.value },
        ]);
        expect(diff.body.proposals).toEqual({ only_a: [], only_b: [p.id] });
        expect(diff.body.nodes).toEqual([
          expect.objectContaining({
            node: 'work',
            a: expect.objectContaining({ state: 'failed' }),
            b: expect.objectContaining({ state: 'done' }),
          }),
        ]);
        const unshaped = await sb.json<{ status: string }>(['run', '--workflow', wf, '--no-apply-proposals']);
        expect(unshaped.body.status).toBe('failed');
      },
    );
    sqliteOnly(
      'a shell-only run failing the same way is a finding, never a model, prompt, mental model or fallback change',
      async () => {
        await writeFile(policyFile, 'run_policy:\n  max_active_runs: 50\n');
        const wf = join(sb.dir, 'broken.yaml');
        await writeFile(
          wf,
          'name: broken\nnodes:\n  - id: build\n    label: Build\n    command: echo "cannot build" >&2; exit 1\n    max_retry: 0\nedges: []\n',
        );
        let last = '';
        for (let i = 0; i < 3; i++) {
          const r = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf]);
          expect(r.body.status).toBe('failed');
          last = r.body.run_id;
        }
        const seen = await sb.json<{ results: Array<{ findings: Array<{ kind: string; node_id: string | null }> }> }>([
          'observe',
          '--run-id',
          last,
          '--dry-run',
        ]);
        expect(seen.body.results[0]?.findings).toContainEqual(
          expect.objectContaining({ kind: 'repeated_failure', node_id: 'build' }),
        );
        const list = await sb.json<{ proposals: Proposal[] }>(['proposals', 'list']);
        // A shell command reads no model, prompt or mental model and has no fallback chain: nothing to propose.
        expect(list.body.proposals).toEqual([]);
      },
    );
    const flakyPolicy = (extra = '') =>
      [
        '# team policy',
        `agents:\n  flaky:\n    kind: claude-code\n    command: ${FAKE_AGENT}\n  steady:\n    kind: shell`,
        'fallback_chains:',
        '  default: [flaky, steady, manual]',
        '# a breaker would stop the repeats this test needs',
        'resilience:\n  retry: { max_retries: 0 }\n  circuit_breaker: { failure_threshold: 100 }',
        'run_policy:\n  max_active_runs: 50',
        extra,
      ].join('\n');
    /** Fails `runs` runs (three by default) of one flaky node, and returns the pending policy proposals. */
    const failRuns = async (name: string, runs = 3) => {
      const wf = join(sb.dir, `${name}.yaml`);
      await writeFile(
        wf,
        `name: ${name}\nnodes:\n  - id: n\n    label: N\n    agent: flaky\n    instructions: "#scenario:rate-limited"\n    output: code\n    max_retry: 0\nedges: []\n`,
      );
      // What each run said, shown when a test finds no proposal (its own observation pass warns on stderr).
      const said: string[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await sb.json<{ status?: string; findings?: number }>(['run', '--workflow', wf]);
        said.push(`run ${i + 1}: exit ${r.code} ${r.body.status} findings ${r.body.findings} ${r.stderr.trim()}`);
      }
      const pending = (
        await sb.json<{ proposals: Proposal[] }>(['proposals', 'list', '--status', 'pending'])
      ).body.proposals.filter((x) => x.target === 'policy');
      return Object.assign(pending, { said: said.join('\n') });
    };
    it('applies an accepted policy proposal to policy.yaml, keeping the comments', async () => {
      await writeFile(policyFile, flakyPolicy());
      const pending = await failRuns('rl');
      const [p] = pending;
      expect(p, pending.said).toMatchObject({
        target: 'policy',
        patch: [{ path: '/fallback_chains/default', value: ['steady', 'manual', 'flaky'] }],
      });
      expect((await sb.json(['proposals', 'accept', (p as Proposal).id])).code).toBe(0);
      const text = await readFile(policyFile, 'utf8');
      expect(text).toContain('# team policy');
      expect(text).toContain('# a breaker would stop the repeats this test needs');
      expect(text).toMatch(/default:\s*\n?\s*-? ?\[?\s*-?\s*steady/);
      const agents = await sb.json<{ agents: Array<{ name: string }> }>(['agents', 'list']);
      expect(agents.code).toBe(0);
    });
    sqliteOnly(
      'a node starved of a slot yields a proposal raising the limit; accepted, the next run starts both at once',
      async () => {
        await writeFile(
          policyFile,
          [
            '# team policy',
            'run_policy:\n  max_active_runs: 50\n  max_concurrency: 1',
            'observability:\n  bottleneck_min_ms: 300\n  queue_wait_share: 0.5\n  bottleneck_share: 1',
            '',
          ].join('\n'),
        );
        const wf = join(sb.dir, 'fan.yaml');
        const work = (id: string) => `sleep 1 && mkdir -p outputs && echo ${id} > outputs/${id}.md`;
        // x1 and x2 wait on one parent, so the wait for a slot after it finished is measurable.
        await writeFile(
          wf,
          `name: fan\nnodes:\n  - { id: go, label: go, command: "mkdir -p outputs && echo go > outputs/go.md" }\n  - { id: x1, label: x1, command: "${work('x1')}" }\n  - { id: x2, label: x2, command: "${work('x2')}" }\nedges:\n  - { from: go, to: x1 }\n  - { from: go, to: x2 }\n`,
        );
        const first = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf]);
        expect(first.body.status).toBe('completed');
        const list = await sb.json<{ proposals: Proposal[] }>(['proposals', 'list', '--status', 'pending']);
        expect(list.body.proposals).toEqual([
          expect.objectContaining({
            target: 'policy',
            patch: [{ op: 'replace', path: '/run_policy/max_concurrency', value: 2 }],
          }),
        ]);
        expect((await sb.json(['proposals', 'accept', (list.body.proposals[0] as Proposal).id])).code).toBe(0);
        const text = await readFile(policyFile, 'utf8');
        expect(text).toContain('# team policy');
        expect(text).toMatch(/max_concurrency: 2/);
        const second = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf]);
        expect(second.body.status).toBe('completed');
        const states = await sb.json<{ rows: Array<{ node_id: string; state: string }> }>([
          'audit',
          'query',
          `SELECT node_id, json_extract(payload, '$.state') AS state FROM events WHERE run_id = '${second.body.run_id}' AND type = 'node.state' AND node_id IN ('x1', 'x2') ORDER BY seq`,
        ]);
        // Both started before either finished.
        expect(states.body.rows.slice(0, 2).map((r) => r.state)).toEqual(['running', 'running']);
      },
    );
    it('does not propose a pattern again once it was rejected three times', async () => {
      await writeFile(policyFile, flakyPolicy());
      // Three failures make the pattern; after a rejection, the next failing run proposes it again (the history keeps
      // the earlier failures), until the third rejection.
      for (let round = 0; round < 3; round++) {
        const pending = await failRuns(`rl${round}`, round === 0 ? 3 : 1);
        expect(pending, `round ${round}\n${pending.said}`).toHaveLength(1);
        expect((await sb.json(['proposals', 'reject', (pending[0] as Proposal).id, '--reason', 'not yet'])).code).toBe(
          0,
        );
      }
      const last = await failRuns('rl3', 1);
      expect([...last], `rejected three times\n${last.said}`).toEqual([]);
      const weight = await sb.json<{ rows: Array<{ w: number }> }>([
        'audit',
        'query',
        "SELECT SUM(rejected_weight) AS w FROM suggestion_history WHERE suggestion_type = 'policy_change'",
      ]);
      expect(weight.body.rows[0]?.w).toBe(3);
    });
    // Several runs per test, each spawning mso: a PostgreSQL round trip per statement adds up on a loaded machine.
  },
  240_000,
);
