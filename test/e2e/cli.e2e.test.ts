import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('mso CLI basics', () => {
  it('prints the version and help with exit 0', async () => {
    const v = await sb.run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await sb.run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--workspace <dir>');
    expect(h.stdout).toContain('runs');
  });
  it('answers a bad flag with exit 2 and one JSON error object', async () => {
    const r = await sb.json(['runs', 'list', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.body).toMatchObject({ error: { code: 'MSO_USAGE' } });
    const human = await sb.run(['runs', 'frobnicate']);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('mso:');
  });
  it('refuses a workspace or observation root that is a file (or under one) with exit 2, naming where it came from', async () => {
    const file = join(sb.dir, 'notes.txt');
    await writeFile(file, 'not a folder\n');
    const cases = [
      { args: ['--workspace', file, 'status'], env: {}, field: '--workspace' },
      { args: ['--observation', join(file, 'obs'), 'init'], env: {}, field: '--observation' },
      { args: ['run', '--goal', 'x'], env: { MSO_WORKSPACE_ROOT: join(file, 'ws') }, field: 'MSO_WORKSPACE_ROOT' },
    ];
    for (const c of cases) {
      const r = await sb.json<{ error: { code: string; field: string; message: string } }>(c.args, { env: c.env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: c.field });
      expect(r.body.error.message).toContain(`${file} is a file, not a folder`);
      // No stack trace without --debug, and nothing made.
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await readFile(file, 'utf8')).toBe('not a folder\n');
    expect(await readdir(sb.dir)).not.toContain('workspace');
  });
  it('init is idempotent and creates both spaces, anchors and policy', async () => {
    const first = await sb.json<{ workspace_id: string; policy_file: string }>(['init']);
    expect(first.code).toBe(0);
    const policy = await readFile(first.body.policy_file, 'utf8');
    const second = await sb.json<{ workspace_id: string }>(['init']);
    expect(second.body.workspace_id).toBe(first.body.workspace_id);
    expect(await readFile(first.body.policy_file, 'utf8')).toBe(policy);
    expect(JSON.parse(await readFile(join(sb.dir, 'observation', '.anchor.json'), 'utf8')).type).toBe(
      'mso-observation',
    );
  });
});

describe('mso runs', () => {
  it('creates, lists, finalizes and archives a run through the CLI', async () => {
    const created = await sb.json<{ run_id: string; dir: string; observation: string }>([
      'runs',
      'create',
      '--skill-key',
      'mso-workflow-topology-design',
      '--case-slug',
      'Sample Run',
    ]);
    expect(created.code).toBe(0);
    const id = created.body.run_id;
    expect(id).toMatch(/^\d{8}-msowd-sample-run$/);
    expect((await readdir(created.body.dir)).sort()).toEqual(
      expect.arrayContaining(['00_collect', '10_topology', '20_mental-model', '90_meta', 'manifest.json', 'worktree']),
    );
    expect(await readFile(join(created.body.observation, 'readme.md'), 'utf8')).toContain(`# ${id}`);
    const human = await sb.run(['runs', 'create', '--run-id', '20261121-msoac-explicit']);
    expect(human.stdout.trim()).toBe('20261121-msoac-explicit');
    const dup = await sb.json(['runs', 'create', '--run-id', '20261121-msoac-explicit']);
    expect(dup.code).toBe(1);
    expect(dup.body).toMatchObject({ error: { code: 'MSO_RUN_EXISTS' } });

    expect((await sb.json(['runs', 'finalize', id, '--status', 'completed'])).code).toBe(0);
    const refused = await sb.json(['runs', 'finalize', id, '--status', 'failed']);
    expect(refused.code).toBe(1);
    expect(refused.body).toMatchObject({
      error: { code: 'MSO_RUN_INVALID_TRANSITION', from: 'completed', to: 'failed' },
    });
    expect((await sb.json(['runs', 'archive', id])).code).toBe(0);
    const list = await sb.json<{ runs: Array<{ run_id: string; status: string }> }>([
      'runs',
      'list',
      '--status',
      'archived',
    ]);
    expect(list.body.runs.map((r) => r.run_id)).toEqual([id]);
    const shown = await sb.json<{ dir: string; manifest: { archive_path: string } }>(['runs', 'show', id]);
    expect(shown.body.manifest.archive_path).toMatch(/^archive\/\d{4}-\d{2}\//);
  });
  it.each([
    [['runs', 'create', '--run-id', '99999999-msowd-x'], 'MSO_INVALID_RUN_ID'],
    [['runs', 'create', '--run-id', '20261121-msowd-../../etc'], 'MSO_UNSAFE_PATH'],
    [['runs', 'create', '--case-slug', '../../x'], 'MSO_UNSAFE_PATH'],
    [['runs', 'create', '--skill-key', 'nope', '--case-slug', 'x'], 'MSO_INVALID_ARGUMENT'],
    [['runs', 'finalize', '20261121-msowd-x', '--status', 'done'], 'MSO_USAGE'],
    [['--observer', '../up', 'runs', 'list'], 'MSO_UNSAFE_PATH'],
  ])('refuses %j with exit 2 (%s) and writes nothing', async (args, code) => {
    const r = await sb.json(args);
    expect(r.code).toBe(2);
    expect(r.body).toMatchObject({ error: { code } });
    const entries = await readdir(join(sb.dir, 'workspace', '.mso-context', 'active')).catch(() => []);
    expect(entries).toEqual([]);
  });
  it('names the file and field of a malformed policy.yaml with exit 2', async () => {
    await sb.run(['init']);
    const file = join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml');
    await writeFile(file, 'run_policy:\n  max_active_runs: -1\n  surprise: true\n');
    const r = await sb.json<{ error: { file: string; issues: Array<{ path: string }> } }>([
      'runs',
      'create',
      '--case-slug',
      'x',
    ]);
    expect(r.code).toBe(2);
    expect(r.body.error.file).toBe(file);
    expect(r.body.error.issues.map((i) => i.path).sort()).toEqual([
      'run_policy.max_active_runs',
      'run_policy.surprise',
    ]);
  });
  it('20 processes creating and finalizing runs at once leave a consistent index and manifests', async () => {
    await sb.run(['init']);
    await writeFile(
      join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
      'run_policy:\n  max_active_runs: 50\n',
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (async () => {
          const c = await sb.json<{ run_id: string }>([
            'runs',
            'create',
            '--skill-key',
            'msowd',
            '--case-slug',
            'same-slug',
          ]);
          if (c.code !== 0) return { create: c, finalize: null };
          const f = await sb.json([
            'runs',
            'finalize',
            c.body.run_id,
            '--status',
            i % 2 === 0 ? 'completed' : 'failed',
          ]);
          return { create: c, finalize: f };
        })(),
      ),
    );
    for (const r of results) {
      expect(r.create.code, JSON.stringify(r.create)).toBe(0);
      expect(r.finalize?.code, JSON.stringify(r.finalize)).toBe(0);
    }
    const ids = results.map((r) => r.create.body.run_id);
    expect(new Set(ids).size).toBe(20);
    const index = (
      await readFile(join(sb.dir, 'workspace', '.mso-context', 'registry', 'manifest-index.jsonl'), 'utf8')
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { run_id: string; status: string });
    expect(index).toHaveLength(40);
    const latest = new Map(index.map((r) => [r.run_id, r.status]));
    expect(latest.size).toBe(20);
    for (const [i, id] of ids.entries()) {
      const manifest = JSON.parse(
        await readFile(join(sb.dir, 'workspace', '.mso-context', 'active', id, 'manifest.json'), 'utf8'),
      );
      expect(manifest.status).toBe(i % 2 === 0 ? 'completed' : 'failed');
      expect(latest.get(id)).toBe(manifest.status);
    }
    const listed = await sb.json<{ count: number }>(['runs', 'list']);
    expect(listed.body.count).toBe(20);
  });
});

describe('mso schema', () => {
  it('lists, exports and validates artifacts, naming each failing field path', async () => {
    const list = await sb.json<{ schemas: Array<{ kind: string }> }>(['schema', 'list']);
    expect(list.body.schemas.length).toBe(12);
    const out = join(sb.dir, 'schemas');
    const exp = await sb.json<{ files: string[] }>(['schema', 'export', '--out', out]);
    expect(exp.body.files).toHaveLength(12);
    const topo = JSON.parse(await readFile(join(out, 'topology.schema.json'), 'utf8'));
    expect(topo.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(topo.required).toEqual(expect.arrayContaining(['run_id', 'nodes', 'edges', 'topology_type', 'rsv_total']));

    const file = join(sb.dir, 'topo.json');
    await writeFile(
      file,
      JSON.stringify({
        run_id: '20261121-msowd-x',
        topology_type: 'ring',
        nodes: [
          { id: 'T1', label: 'x', theta_gt_band: 'wide' },
          { id: 'T2', theta_gt_band: 'tight' },
        ],
        edges: [],
      }),
    );
    const bad = await sb.run(['schema', 'validate', 'topology', file]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('topology_type');
    expect(bad.stdout).toContain('nodes[1].label');
    expect(bad.stdout).toContain('nodes[1].theta_gt_band');
    expect(bad.stdout).toContain('rsv_total');
    await writeFile(
      file,
      JSON.stringify({
        run_id: '20261121-msowd-x',
        topology_type: 'linear',
        rsv_total: 1,
        nodes: [{ id: 'T1', label: 'x', theta_gt_band: 'wide' }],
        edges: [],
      }),
    );
    const good = await sb.json<{ valid: boolean }>(['schema', 'validate', 'topology', file]);
    expect(good).toMatchObject({ code: 0, body: { valid: true } });
    const ticket = join(sb.dir, 'TKT-0001-x.md');
    await writeFile(
      ticket,
      '---\nid: TKT-0001\ntask_context_id: TKT-0001\ntitle: X\nstatus: todo\nowner: agent\ndue_by: 2026-11-28\ndependencies: []\ntags: [a]\ncreated: 2026-11-21\nupdated: 2026-11-21\n---\n# X\n',
    );
    expect((await sb.json(['schema', 'validate', 'ticket', ticket])).code).toBe(0);
    expect((await sb.json(['schema', 'validate', 'nonsense', ticket])).code).toBe(2);
  });
});

describe('anchors through the CLI', () => {
  it('recovers a moved observation root pointed at by MSO_OBSERVATION_ROOT', async () => {
    const c = await sb.json<{ run_id: string }>(['runs', 'create', '--case-slug', 'move-me']);
    await rename(join(sb.dir, 'observation'), join(sb.dir, 'observation-moved'));
    const env = { MSO_OBSERVATION_ROOT: join(sb.dir, 'observation-moved') };
    const status = await sb.json<{ events: Array<{ event: string; recovered?: boolean }>; syncSuspended: boolean }>(
      ['workspace', 'status'],
      { env },
    );
    expect(status.body.syncSuspended).toBe(false);
    expect(status.body.events.map((e) => e.event)).toEqual(expect.arrayContaining(['SELF_RELOCATED', 'PEER_MISSING']));
    expect(status.body.events.some((e) => e.recovered === true)).toBe(true);
    const shown = await sb.json<{ manifest: { observer_links: string[] } }>(['runs', 'show', c.body.run_id], { env });
    expect(shown.body.manifest.observer_links).toEqual([join(sb.dir, 'observation-moved', 'tester', c.body.run_id)]);
  });
  it('suspends sync for a replaced peer until relink, and blocks on a missing peer under block', async () => {
    await sb.run(['init']);
    const other = { MSO_WORKSPACE_ROOT: join(sb.dir, 'ws2'), MSO_OBSERVATION_ROOT: join(sb.dir, 'obs2') };
    await sb.run(['init'], { env: other });
    const env = { MSO_OBSERVATION_ROOT: join(sb.dir, 'obs2') };
    const created = await sb.run(['runs', 'create', '--case-slug', 'x'], { env });
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('sync suspended');
    const s = await sb.json<{ syncSuspended: boolean }>(['workspace', 'status'], { env });
    expect(s.body.syncSuspended).toBe(true);
    expect((await sb.json(['workspace', 'relink'], { env })).code).toBe(0);
    expect((await sb.json<{ syncSuspended: boolean }>(['workspace', 'status'], { env })).body.syncSuspended).toBe(
      false,
    );

    await writeFile(
      join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
      'relocation_policy:\n  on_peer_missing: block\n',
    );
    await rm(join(sb.dir, 'obs2'), { recursive: true });
    const blocked = await sb.json(['runs', 'create', '--case-slug', 'y'], { env });
    expect(blocked.code).toBe(1);
    expect(blocked.body).toMatchObject({ error: { code: 'MSO_PEER_MISSING_BLOCKED' } });
  });
});
