import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FAKE_AGENT, llmPlannerPolicy } from '../helpers/agents.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { startFakeLlmServer, type FakeLlmServer } from '../helpers/fake-llm-server.js';
import { auditStores } from '../helpers/pg.js';
import { makeStoreSandbox, type AuditStore, type StoreSandbox } from '../helpers/store.js';

// Every test runs on the embedded SQLite store and, when MSO_TEST_PG_URL answers, on PostgreSQL (recorded responses
// then come from the store's blobs table): reads go through the sandbox's dialect-neutral helpers. The tests of one
// store share a sandbox and one recorded run; a test that edits the policy or a blob puts it back when it ends.
let llm: FakeLlmServer;
let sb: StoreSandbox;
let spawnLog: string;
let policyFile: string;
/** The policy the recorded run ran under. */
let policy: string;
beforeAll(async () => {
  llm = await startFakeLlmServer();
});
afterAll(async () => {
  await llm.close();
});
async function setUp(store: AuditStore): Promise<void> {
  sb = await makeStoreSandbox(store);
  expect((await sb.run(['init'])).code).toBe(0);
  spawnLog = join(sb.dir, 'spawned.log');
  // The agent CLI is a wrapper that notes every spawn, so a test can prove replay spawned none.
  const wrapper = join(sb.dir, 'agent.sh');
  await writeFile(wrapper, `#!/bin/sh\necho "$$" >> ${spawnLog}\nexec "${process.execPath}" ${FAKE_AGENT} "$@"\n`);
  await chmod(wrapper, 0o755);
  await writeFile(spawnLog, '');
  policyFile = join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml');
  policy = llmPlannerPolicy(llm.url, wrapper);
  await writeFile(policyFile, policy);
}

const spawns = async (): Promise<number> => (await readFile(spawnLog, 'utf8')).split('\n').filter(Boolean).length;
type Divergence = { node: string; field: string; expected: string | null; actual: string | null; notes: string[] };
interface Replay {
  run_id: string;
  replay_of: string;
  identical: boolean | null;
  answered: number;
  reused: string[];
  divergence: Divergence | null;
  summary: { status: string; nodes: Record<string, number> };
}

/** A designed run: plan → (build, docs) → check, on the fake agent CLI, planned by the fake LLM server. */
async function recordedRun(): Promise<string> {
  llm.script('openai', {
    kind: 'ok',
    text: JSON.stringify({
      subtasks: [
        { id: 'plan', description: 'Plan the change', dependencies: [], complexity: 'low', suggestedRole: 'arch' },
        {
          id: 'build',
          description: 'Build the feature',
          dependencies: ['plan'],
          complexity: 'low',
          suggestedRole: 'arch',
        },
        {
          id: 'docs',
          description: 'Document the feature',
          dependencies: ['plan'],
          complexity: 'low',
          suggestedRole: 'arch',
        },
        {
          id: 'check',
          description: 'Review the feature',
          dependencies: ['build', 'docs'],
          complexity: 'low',
          suggestedRole: 'arch',
        },
      ],
    }),
  });
  const r = await sb.json<{ run_id: string; status: string }>([
    'run',
    '--goal',
    'Add a settings page',
    '--pattern',
    'parallel',
  ]);
  expect(r.body.status, JSON.stringify(r.body)).toBe('completed');
  return r.body.run_id;
}

describe.each(auditStores())('mso replay, timeline, provenance (%s audit store)', (store) => {
  /** The designed run (plan → build, docs → check) most tests replay. */
  let recorded: string;
  beforeAll(async () => {
    await setUp(store);
    recorded = await recordedRun();
  });
  afterAll(async () => {
    await sb.cleanup();
  });
  it('replays a run offline: identical, with no agent process spawned and no request to the model server', async () => {
    const runId = recorded;
    const before = { spawns: await spawns(), requests: llm.requests.length };
    expect(before.spawns).toBeGreaterThanOrEqual(4);
    const r = await sb.json<Replay>(['replay', runId, '--offline']);
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    expect(r.body).toMatchObject({
      replay_of: runId,
      identical: true,
      divergence: null,
      summary: { status: 'completed' },
    });
    expect(r.body.answered).toBeGreaterThanOrEqual(4);
    expect(await spawns()).toBe(before.spawns);
    expect(llm.requests.length).toBe(before.requests);
    const shown = await sb.json<{ manifest: { parent_run_id: string } }>(['runs', 'show', r.body.run_id]);
    expect(shown.body.manifest.parent_run_id).toBe(runId);

    const prov = await sb.json<{
      hashes: Record<string, string>;
      base_sha: string;
      mso_version: string;
      models_used: unknown[];
      cli_versions: unknown[];
    }>(['runs', 'show', runId, '--provenance']);
    expect(prov.body.cli_versions).toEqual([{ agent: 'fake-claude', version: 'fake-0.1', calls: 4 }]);
    expect(prov.body.hashes.plan).toMatch(/^[0-9a-f]{64}$/);
    expect(prov.body.hashes.policy).toMatch(/^[0-9a-f]{64}$/);
    expect(prov.body.base_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(prov.body.models_used.length).toBeGreaterThan(0);

    const t = await sb.json<{ entries: Array<{ node: string | null; kind: string; text: string; refs: string[] }> }>([
      'timeline',
      runId,
    ]);
    const kinds = t.body.entries.map((e) => e.kind);
    for (const k of ['provenance', 'design', 'ready', 'attempt', 'agent', 'commit', 'outcome'])
      expect(kinds).toContain(k);
    expect(t.body.entries.find((e) => e.kind === 'ready' && e.node === 'check')?.text).toMatch(/build, docs/);
    expect(t.body.entries.every((e) => e.refs.length > 0)).toBe(true);
    expect(t.body.entries.find((e) => e.kind === 'ticket' && e.node === 'plan')?.text).toMatch(
      /^TKT-\d{4} todo → in_progress/,
    );
    const human = await sb.run(['timeline', runId]);
    expect(human.stdout).toMatch(/events#\d+/);
  });

  it('replays the shipped example offline, answering its shell nodes and merge gates from the record', async () => {
    const r = await sb.json<{ run_id: string; status: string }>([
      'run',
      '--workflow',
      join(REPO_ROOT, 'examples', 'review-and-merge.yaml'),
    ]);
    expect(r.body.status).toBe('completed');
    const replay = await sb.json<Replay>(['replay', r.body.run_id, '--offline']);
    expect(replay.code, JSON.stringify(replay.body)).toBe(0);
    // Four nodes and the merge node's three gates.
    expect(replay.body).toMatchObject({ identical: true, answered: 7 });
    const gates = await sb.events(replay.body.run_id, { type: 'gate.result' });
    expect(gates.map((g) => g.payload['status'])).toEqual(['success', 'success', 'success']);
  });

  it('replays a run whose id is as long as ids get, naming the replay within the limit', async () => {
    const wf = join(sb.dir, 'long-name.yaml');
    const name = 'Compare PostgreSQL, SQLite and DuckDB for the analytics store and recommend one';
    await writeFile(wf, stringify({ name, goal: name, nodes: [{ id: 'a', label: 'A', command: 'echo a > a.txt' }] }));
    const r = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf]);
    expect(r.body.status).toBe('completed');
    expect(r.body.run_id.split('-msowd-')[1]).toHaveLength(40);
    const replay = await sb.json<Replay>(['replay', r.body.run_id, '--offline']);
    expect(replay.code, JSON.stringify(replay.body)).toBe(0);
    expect(replay.body.identical).toBe(true);
    expect(replay.body.run_id).toMatch(/-msowd-compare-postgresql-sqlite-and-duc-replay$/);
  });

  it('replays the people too: a gate a person approved is approved again, attributed, without waiting', async () => {
    // A merge whose quorum is missed asks a person; the record has the approval (after exit 3 and a resume).
    const wf = join(sb.dir, 'quorum.yaml');
    const out = (id: string) => `mkdir -p outputs && echo ${id} > outputs/${id}.md`;
    await writeFile(
      wf,
      stringify({
        name: 'quorum',
        nodes: [
          { id: 'root', label: 'root', command: out('root') },
          { id: 'ok', label: 'ok', command: out('ok') },
          { id: 'broken', label: 'broken', command: 'exit 1', max_retry: 0 },
          {
            id: 'join',
            label: 'join',
            command: out('join'),
            merge_policy: { strategy: 'score_weighted', quorum: 2 },
          },
        ],
        edges: [
          { from: 'root', to: 'ok' },
          { from: 'root', to: 'broken' },
          { from: 'ok', to: 'join' },
          { from: 'broken', to: 'join' },
        ],
      }),
    );
    const first = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf]);
    expect(first.code).toBe(3);
    const runId = first.body.run_id;
    expect((await sb.run(['approve', runId, 'HITL-0001', '--note', 'one branch is enough'])).code).toBe(0);
    const resumed = await sb.json<{ status: string }>(['resume', runId]);
    expect(resumed.body.status).toBe('completed'); // broken failed; join was approved and went on without it

    const replay = await sb.json<Replay & { summary: { pending_human: string[] } }>(['replay', runId, '--offline']);
    expect(replay.code, JSON.stringify(replay.body)).toBe(0);
    expect(replay.body).toMatchObject({ identical: true, summary: { status: 'completed', pending_human: [] } });
    const decided = (await sb.events(replay.body.run_id, { type: 'hitl.decided' })).map((e) => ({
      by: e.payload['by'],
      note: e.payload['note'],
      src: e.payload['replayed_from'],
    }));
    expect(decided).toEqual([
      { by: 'tester (replayed from HITL-0001)', note: 'one branch is enough', src: 'HITL-0001' },
    ]);
    const t = await sb.json<{ entries: Array<{ node: string | null; kind: string; text: string }> }>([
      'timeline',
      replay.body.run_id,
    ]);
    expect(t.body.entries.find((e) => e.kind === 'decision' && e.node === 'join')?.text).toBe(
      'HITL-0001 approved by tester (replayed from HITL-0001): one branch is enough',
    );
  });

  it('diff names what two runs ran on where it differs: the policy and the agent CLI version', async () => {
    const a = recorded;
    const wrapper = join(sb.dir, 'agent.sh');
    await writeFile(
      policyFile,
      policy.replace(`command: ${wrapper} }`, `command: ${wrapper}, env: { FAKE_AGENT_VERSION: fake-0.2 } }`),
    );
    const b = await recordedRun().finally(() => writeFile(policyFile, policy));
    const d = await sb.json<{ environment: Array<{ field: string; a: unknown; b: unknown }> }>(['diff', a, b]);
    // Without a repository around it, each run provisions its own, so base_sha may differ too.
    const fields = d.body.environment.map((e) => e.field).filter((f) => f !== 'base_sha');
    expect(fields.sort()).toEqual(['cli_version.fake-claude', 'policy_sha256']);
    expect(d.body.environment).toContainEqual({ field: 'cli_version.fake-claude', a: ['fake-0.1'], b: ['fake-0.2'] });
    const human = await sb.run(['diff', a, b]);
    expect(human.stdout).toContain('env cli_version.fake-claude: ["fake-0.1"] → ["fake-0.2"]');
  });

  it('refuses an edited or a truncated recorded response with exit 1, naming the blob and the run', async () => {
    const runId = recorded;
    const rows = await sb.events(runId, { type: 'agent.response', node: 'docs' });
    expect(rows).toHaveLength(1);
    const hash = rows[0]?.payload['blob'] as string;
    const original = (await sb.readBlob(hash)).toString('utf8');
    onTestFinished(() => sb.writeBlob(hash, Buffer.from(original)));
    const body = JSON.parse(original);
    body.patch = body.patch.replace(/Done as instructed\./g, 'Something else.');
    await sb.writeBlob(hash, Buffer.from(JSON.stringify(body)));
    const runsBefore = (await readdir(join(sb.dir, 'workspace', '.mso-context', 'active'))).length;
    const edited = await sb.json<{ error: { code: string; message: string; blob: string; run_id: string } }>([
      'replay',
      runId,
      '--offline',
    ]);
    expect(edited.code).toBe(1);
    expect(edited.body.error).toMatchObject({ code: 'MSO_BLOB_CORRUPT', blob: hash, run_id: runId });
    expect(edited.body.error.message).toMatch(/no longer match its sha256/);
    await sb.writeBlob(hash, Buffer.from(original.slice(0, Math.floor(original.length / 2))));
    const cut = await sb.run(['replay', runId, '--offline']);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(`blob ${hash} of run ${runId} is corrupt`);
    expect(cut.stderr).not.toMatch(/\n\s+at /);
    // Refused before anything was written: no replay run was made.
    expect((await readdir(join(sb.dir, 'workspace', '.mso-context', 'active'))).length).toBe(runsBefore);
  });

  it('--from reruns only the node and its descendants, live, as a linked run', async () => {
    const runId = recorded;
    const before = await spawns();
    const r = await sb.json<Replay>(['replay', runId, '--from', 'docs']);
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    expect(r.body.reused.sort()).toEqual(['build', 'plan']);
    expect(r.body.summary).toMatchObject({ status: 'completed', nodes: { done: 4 } });
    expect(await spawns()).toBe(before + 2);
    const started = await sb.events(r.body.run_id, { type: 'node.attempt' });
    expect(started.map((x) => x.node_id)).toEqual(['docs', 'check']);
  });

  it('refuses with exit 2 when the policy changed since the record, unless --allow-changed', async () => {
    const runId = recorded;
    onTestFinished(() => writeFile(policyFile, policy));
    await writeFile(policyFile, `${policy}# edited\n`);
    const refused = await sb.run(['replay', runId, '--offline']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/policy of .* changed since it ran/);
    const allowed = await sb.json<Replay>(['replay', runId, '--offline', '--allow-changed']);
    expect(allowed.body.identical).toBe(true);
    const neither = await sb.run(['replay', runId]);
    expect(neither.code).toBe(2);
  });
});
