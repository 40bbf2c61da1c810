import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform, type AtomicFs } from '../../src/platform/index.js';
import { openWorkspace, readIndex } from '../../src/workspace/index.js';
import { appIn } from '../helpers/app.js';

const deps = nodePlatform();
let dir: string;
const open = (over: { observationRoot?: string; peerHints?: string[]; create?: boolean } = {}) =>
  openWorkspace(deps, {
    root: join(dir, 'ws'),
    observationRoot: over.observationRoot ?? join(dir, 'obs'),
    observerId: 'alice',
    ...(over.peerHints ? { peerHints: over.peerHints } : {}),
    ...(over.create === undefined ? {} : { create: over.create }),
  });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-ws-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('policy.yaml', () => {
  it('fills missing keys while keeping the user comments and values', async () => {
    const file = join(dir, 'ws', '.mso-context', 'config', 'policy.yaml');
    await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
    await writeFile(file, '# my team settings\nrun_policy:\n  max_active_runs: 3 # keep it small\n');
    const ws = await open();
    expect(ws.policy.run_policy.max_active_runs).toBe(3);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# my team settings');
    expect(text).toContain('max_active_runs: 3 # keep it small');
    expect(text).toContain('auto_archive_after_days: 7');
    expect(text).toContain('on_peer_missing: warn_and_continue');
  });
  it('refuses a malformed policy naming the file and field, and leaves it untouched', async () => {
    const file = join(dir, 'ws', '.mso-context', 'config', 'policy.yaml');
    await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
    const bad = 'run_policy:\n  max_active_runs: many\n';
    await writeFile(file, bad);
    await expect(open()).rejects.toMatchObject({
      code: 'MSO_INVALID_ARTIFACT',
      file,
      issues: [expect.objectContaining({ path: 'run_policy.max_active_runs' })],
    });
    expect(await readFile(file, 'utf8')).toBe(bad);
  });
  it('reads the file it wrote as the defaults, and any change to that text as written', async () => {
    const first = await open();
    const text = await readFile(first.layout.policyFile, 'utf8');
    expect((await open()).policy).toEqual(first.policy);
    expect(await open({ create: false }).then((w) => w.policy)).toEqual(first.policy);
    expect(text).toContain('max_active_runs: 10\n');
    await writeFile(first.layout.policyFile, text.replace('max_active_runs: 10\n', 'max_active_runs: 2\n'));
    expect((await open()).policy.run_policy.max_active_runs).toBe(2);
    expect((await open({ create: false })).policy.run_policy.max_active_runs).toBe(2);
    await writeFile(first.layout.policyFile, text.replace('max_active_runs: 10\n', 'max_active_runs: many\n'));
    await expect(open()).rejects.toMatchObject({ code: 'MSO_INVALID_ARTIFACT' });
  });
  it('lives inside the workspace root in use, wherever that is', async () => {
    const ws = await open();
    expect(ws.layout.policyFile.startsWith(join(dir, 'ws'))).toBe(true);
    expect(await stat(ws.layout.policyFile)).toBeTruthy();
  });
});

describe("the app's workspace", () => {
  it('is opened once per app while its policy and anchors stay the same, and again once one changes', async () => {
    const app = appIn(dir);
    const read = await app.open(false);
    const first = await app.open(true);
    expect(first).not.toBe(read); // opening to read never stands in for opening to write
    expect(await stat(first.layout.policyFile)).toBeTruthy();
    expect(await app.open(true)).toBe(first);
    expect(await app.open(false)).toBe(first);
    // The observation root removed: the next opening checks the anchors again and makes it anew.
    await rm(join(dir, 'obs'), { recursive: true, force: true });
    const anchored = await app.open(true);
    expect(anchored).not.toBe(first);
    expect(await stat(anchored.layout.observationAnchor)).toBeTruthy();
    const text = await readFile(first.layout.policyFile, 'utf8');
    await writeFile(first.layout.policyFile, text.replace('max_active_runs: 10\n', 'max_active_runs: 2\n'));
    const edited = await app.open(true);
    expect(edited).not.toBe(anchored);
    expect(edited.policy.run_policy.max_active_runs).toBe(2);
    await writeFile(first.layout.policyFile, text.replace('max_active_runs: 10\n', 'max_active_runs: many\n'));
    await expect(app.open(true)).rejects.toMatchObject({ code: 'MSO_INVALID_ARTIFACT' });
    await rm(join(dir, 'ws'), { recursive: true, force: true });
    const again = await app.open(true);
    expect(again.policy.run_policy.max_active_runs).toBe(10);
    expect(await stat(again.layout.policyFile)).toBeTruthy();
  });
});

describe('runs', () => {
  it('keeps a run created through its phases, and gives it a max_active_runs slot only when it goes live', async () => {
    const first = await open();
    const text = await readFile(first.layout.policyFile, 'utf8');
    await writeFile(first.layout.policyFile, text.replace('max_active_runs: 10\n', 'max_active_runs: 1\n'));
    const ws = await open();
    const a = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'a' } });
    for (const phase of ['10_topology', '30_execution', '40_collaboration', '70_governance'] as const)
      await ws.runs.setPhase(a.runId, phase, 'completed');
    expect((await ws.runs.get(a.runId)).manifest.status).toBe('created');
    const b = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'b' } });
    await ws.runs.setStatus(b.runId, 'awaiting_human');
    await expect(ws.runs.setStatus(a.runId, 'active')).rejects.toMatchObject({ code: 'MSO_MAX_ACTIVE_RUNS' });
    expect((await ws.runs.get(a.runId)).manifest.status).toBe('created');
    // A live run changing between live statuses takes no new slot; a finished one frees its slot.
    await ws.runs.setStatus(b.runId, 'active');
    await ws.runs.setStatus(b.runId, 'completed');
    await ws.runs.setStatus(a.runId, 'active');
    expect((await ws.runs.get(a.runId)).manifest.status).toBe('active');
  });
  it('a design of several steps records each phase at its end, one that fails as failed, and the ones done before an error', async () => {
    const workflowText = 'name: phases\nnodes:\n  - { id: a, label: A, command: "true" }\n';
    const app = appIn(dir);
    const done = await app.design.all({ workflowText });
    const phases = (runId: string) =>
      readFile(join(dir, 'ws', '.mso-context', 'active', runId, 'manifest.json'), 'utf8').then(
        (t) => JSON.parse(t) as { phases: Record<string, { status: string }>; status: string },
      );
    const ok = await phases(done.run_id);
    expect([
      ok.phases['10_topology']?.status,
      ok.phases['20_mental-model']?.status,
      ok.phases['30_execution']?.status,
    ]).toEqual(['completed', 'completed', 'completed']);
    // A step that throws: the phases before it are recorded completed, its own failed, and the run with it.
    const failing = appIn(dir, 't', {
      point: (p) => {
        if (p === 'design.plan') throw new Error('the plan broke');
      },
    });
    await expect(failing.design.all({ workflowText })).rejects.toThrow('the plan broke');
    const runs = (await readIndex(deps.fs, join(dir, 'ws', '.mso-context', 'registry', 'manifest-index.jsonl'))).filter(
      (r) => r.run_id !== done.run_id,
    );
    const broken = await phases(runs.at(-1)?.run_id as string);
    expect([
      broken.phases['10_topology']?.status,
      broken.phases['20_mental-model']?.status,
      broken.phases['30_execution']?.status,
    ]).toEqual(['completed', 'completed', 'failed']);
    expect(broken.status).toBe('failed');
    // An error between two steps (here just after the topology's): the phase done is recorded.
    const between = appIn(dir, 't', {
      point: (p) => {
        if (p === 'design.topology') throw new Error('stopped between steps');
      },
    });
    await expect(between.design.all({ workflowText })).rejects.toThrow('stopped between steps');
    const last = (await readIndex(deps.fs, join(dir, 'ws', '.mso-context', 'registry', 'manifest-index.jsonl'))).at(-1);
    const stopped = await phases(last?.run_id as string);
    expect([
      stopped.phases['10_topology']?.status,
      stopped.phases['20_mental-model']?.status,
      stopped.phases['30_execution']?.status,
    ]).toEqual(['completed', 'pending', 'pending']);
    // Through mso run the same error fails the run it made (not left `created`), and the run is mirrored.
    await expect(between.engine.run({ workflowText, dryRun: true })).rejects.toThrow('stopped between steps');
    const failed = (await readIndex(deps.fs, join(dir, 'ws', '.mso-context', 'registry', 'manifest-index.jsonl'))).at(
      -1,
    );
    expect(failed?.run_id).not.toBe(last?.run_id);
    expect((await phases(failed?.run_id as string)).status).toBe('failed');
    expect(existsSync(join(dir, 'obs', 't', failed?.run_id as string, 'readme.md'))).toBe(true);
  });

  it('creates, finalizes and archives a run, recording each status in the index', async () => {
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'onboarding' } });
    expect(ref.runId).toMatch(/^\d{8}-msowd-onboarding$/);
    const second = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'onboarding' } });
    expect(second.runId).toBe(`${ref.runId}-2`);
    await ws.runs.setStatus(ref.runId, 'completed');
    const archived = await ws.runs.archive(ref.runId);
    expect(archived.manifest.status).toBe('archived');
    expect(archived.dir).toContain(join('.mso-context', 'archive'));
    const index = await readIndex(deps.fs, ws.layout.indexFile);
    expect(index.find((r) => r.run_id === ref.runId)?.status).toBe('archived');
    const lines = (await readFile(ws.layout.indexFile, 'utf8')).trim().split('\n');
    expect(
      lines
        .map((l) => JSON.parse(l))
        .filter((r) => r.run_id === ref.runId)
        .map((r) => r.status),
    ).toEqual(['created', 'completed', 'archived']);
  });
  it('refuses impossible transitions and archiving an active run', async () => {
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    await expect(ws.runs.archive(ref.runId)).rejects.toMatchObject({ code: 'MSO_RUN_INVALID_TRANSITION' });
    await ws.runs.setStatus(ref.runId, 'completed');
    await expect(ws.runs.setStatus(ref.runId, 'failed')).rejects.toMatchObject({
      code: 'MSO_RUN_INVALID_TRANSITION',
      from: 'completed',
      to: 'failed',
    });
    expect((await ws.runs.setStatus(ref.runId, 'completed')).manifest.status).toBe('completed');
  });
  it('counts only really active runs against max_active_runs', async () => {
    await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
    await writeFile(join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'), 'run_policy:\n  max_active_runs: 2\n');
    const ws = await open();
    const a = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'a' } });
    const b = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'b' } });
    // Only designed (created): no slot held yet.
    const designed = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'designed' } });
    expect(designed.manifest.status).toBe('created');
    await ws.runs.setStatus(designed.runId, 'cancelled');
    await ws.runs.setStatus(a.runId, 'active');
    await ws.runs.setStatus(b.runId, 'active');
    // A run made to execute at once is refused a slot before it is made; one only designed takes none.
    const live = { id: { skillKey: 'msowd', caseSlug: 'c' }, live: true } as const;
    await expect(ws.runs.create(live)).rejects.toMatchObject({ code: 'MSO_MAX_ACTIVE_RUNS' });
    expect((await ws.runs.list()).some((r) => r.run_id.endsWith('-c'))).toBe(false);
    const later = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'later' } });
    expect(later.manifest.status).toBe('created');
    await ws.runs.setStatus(a.runId, 'failed', { error: { message: 'boom', phase: 'test' } });
    await expect(ws.runs.create(live)).resolves.toBeTruthy();
  });
  it('archives only finished runs past auto_archive_after_days', async () => {
    await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
    await writeFile(
      join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'),
      'run_policy:\n  auto_archive_after_days: 0\n',
    );
    const ws = await open();
    const done = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'done' } });
    await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'busy' } });
    await ws.runs.setStatus(done.runId, 'completed');
    const archived = await ws.runs.archiveDue();
    expect(archived.map((r) => r.runId)).toEqual([done.runId]);
  });
  it('reports a malformed manifest with its file and field', async () => {
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    const file = join(ref.dir, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8'));
    m.status = 'exploded';
    await writeFile(file, JSON.stringify(m));
    await expect(ws.runs.get(ref.runId)).rejects.toMatchObject({
      code: 'MSO_INVALID_ARTIFACT',
      file,
      issues: [expect.objectContaining({ path: 'status' })],
    });
  });
});

describe('anchors', () => {
  it('creates linked anchors on first open', async () => {
    const ws = await open();
    const wsAnchor = JSON.parse(await readFile(ws.layout.anchor, 'utf8'));
    const obsAnchor = JSON.parse(await readFile(join(dir, 'obs', '.anchor.json'), 'utf8'));
    expect(wsAnchor.type).toBe('mso-workspace');
    expect(wsAnchor.peers.observation.workspace_id).toBe(obsAnchor.workspace_id);
    expect(obsAnchor.peers.workspace.workspace_id).toBe(wsAnchor.workspace_id);
  });
  it('recovers a moved observation root, persists the events and rewrites observer links', async () => {
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    await rename(join(dir, 'obs'), join(dir, 'moved-obs'));
    const again = await open({ observationRoot: join(dir, 'moved-obs') });
    const kinds = again.anchors?.events.map((e) => `${e.event}${e['recovered'] === true ? '(recovered)' : ''}`);
    expect(kinds).toEqual(['SELF_RELOCATED', 'PEER_MISSING', 'PEER_MISSING(recovered)']);
    expect(again.anchors?.syncSuspended).toBe(false);
    const m = (await again.runs.get(ref.runId)).manifest;
    expect(m.observer_links).toEqual([join(dir, 'moved-obs', 'alice', ref.runId)]);
    const status = await again.status();
    expect(status.events.map((e) => e.event)).toContain('SELF_RELOCATED');
  });
  it('finds a moved observation root by its anchor id when nothing points at it', async () => {
    await open();
    await mkdir(join(dir, 'elsewhere'), { recursive: true });
    await rename(join(dir, 'obs'), join(dir, 'elsewhere', 'renamed'));
    const again = await open();
    expect(again.layout.observationRoot).toBe(join(dir, 'elsewhere', 'renamed'));
    expect(again.anchors?.events.some((e) => e.event === 'PEER_MISSING' && e['recovered'] === true)).toBe(true);
  });
  it('suspends sync when another observation space replaces the peer, until relink', async () => {
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    await openWorkspace(deps, {
      root: join(dir, 'other-ws'),
      observationRoot: join(dir, 'other-obs'),
      observerId: 'bob',
    });
    const replaced = await open({ observationRoot: join(dir, 'other-obs') });
    expect(replaced.anchors?.syncSuspended).toBe(true);
    expect(replaced.anchors?.events.map((e) => e.event)).toEqual(['PEER_REPLACED']);
    const sync = await replaced.sync(ref.runId);
    expect(sync.skipped).toMatch(/suspended/);
    // Still suspended on the next start: the new peer was not adopted silently.
    expect((await open({ observationRoot: join(dir, 'other-obs') })).anchors?.syncSuspended).toBe(true);
    const relinked = await replaced.relink();
    expect(relinked.syncSuspended).toBe(false);
    expect((await open({ observationRoot: join(dir, 'other-obs') })).anchors?.syncSuspended).toBe(false);
  });
  it('blocks with PEER_MISSING when on_peer_missing is block and the peer is gone', async () => {
    await open();
    await writeFile(
      join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'),
      'relocation_policy:\n  on_peer_missing: block\n',
    );
    await rm(join(dir, 'obs'), { recursive: true });
    await expect(open()).rejects.toMatchObject({ code: 'MSO_PEER_MISSING_BLOCKED' });
    const status = await await open({ create: false }).catch(() => null);
    expect(status).toBeNull();
  });
  it('reports a malformed anchor with its file and field', async () => {
    const ws = await open();
    const a = JSON.parse(await readFile(ws.layout.anchor, 'utf8'));
    a.workspace_id = 'nope';
    await writeFile(ws.layout.anchor, JSON.stringify(a));
    await expect(open()).rejects.toMatchObject({
      code: 'MSO_INVALID_ARTIFACT',
      file: ws.layout.anchor,
      issues: expect.arrayContaining([expect.objectContaining({ path: 'workspace_id' })]),
    });
  });
});

describe('observation sync', () => {
  it('copies only changed files, read-only, and mirrors governance into 04_review', async () => {
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    await writeFile(join(ref.dir, '10_topology', 'workflow_topology_spec.json'), '{"a":1}');
    await writeFile(join(ref.dir, '70_governance', 'report.json'), '{}');
    const first = await ws.sync(ref.runId);
    expect(first.copied).toBeGreaterThanOrEqual(2);
    const target = ws.layout.observationRunDir(ref.runId);
    const copy = join(target, '03_artifacts', '10_topology', 'workflow_topology_spec.json');
    expect(await readFile(copy, 'utf8')).toBe('{"a":1}');
    expect((await stat(copy)).mode & 0o222).toBe(0);
    expect(await readFile(join(target, '04_review', 'report.json'), 'utf8')).toBe('{}');
    const second = await ws.sync(ref.runId);
    expect(second.copied).toBe(0);
    await writeFile(join(ref.dir, '10_topology', 'workflow_topology_spec.json'), '{"a":22}');
    const third = await ws.sync(ref.runId);
    expect(third.copied).toBe(1);
    expect(await readFile(copy, 'utf8')).toBe('{"a":22}');
    const readme = await readFile(join(target, 'readme.md'), 'utf8');
    expect(readme).toContain(`# ${ref.runId}`);
    expect(readme).toContain('**Progress**: 0/10 phases');
  });
  it('writes the mirror atomically without flushing each file, and the workspace’s own files flushed', async () => {
    // Every atomic write of small files goes through the platform's writeNew: it says which were flushed, and where.
    const flushed = new Map<string, boolean>();
    const atomic = deps.atomicFs as AtomicFs;
    const spied = {
      ...deps,
      atomicFs: {
        ...atomic,
        writeNew: (p: string, d: string | Uint8Array, m: number, sync?: boolean) => {
          flushed.set(p.replace(/\.tmp-.*/, ''), sync !== false);
          return atomic.writeNew(p, d, m, sync);
        },
      },
    };
    const ws = await openWorkspace(spied, {
      root: join(dir, 'ws'),
      observationRoot: join(dir, 'obs'),
      observerId: 'alice',
    });
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    await writeFile(join(ref.dir, '10_topology', 'workflow_topology_spec.json'), '{"a":1}');
    await ws.sync(ref.runId);
    const target = ws.layout.observationRunDir(ref.runId);
    const mirror = [...flushed].filter(([p]) => p.startsWith(target));
    expect(mirror.map(([p]) => p.slice(target.length + 1)).sort()).toEqual(
      expect.arrayContaining([
        '01_summary/summary.md',
        '03_artifacts/10_topology/workflow_topology_spec.json',
        'readme.md',
      ]),
    );
    expect(mirror.every(([, sync]) => !sync)).toBe(true);
    expect(flushed.get(join(ref.dir, 'manifest.json'))).toBe(true);
    expect(await readFile(join(target, '03_artifacts', '10_topology', 'workflow_topology_spec.json'), 'utf8')).toBe(
      '{"a":1}',
    );
  });
  it('does nothing when auto_sync is off', async () => {
    await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
    await writeFile(
      join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'),
      'observation_policy:\n  auto_sync: false\n',
    );
    const ws = await open();
    const ref = await ws.runs.create({ id: { skillKey: 'msowd', caseSlug: 'x' } });
    expect((await ws.sync(ref.runId)).skipped).toMatch(/auto_sync/);
    await chmod(dir, 0o755);
  });
});
