import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, resolveSettings, type MsoApp } from '../../src/app/index.js';
import { CollaborationResultSchema } from '../../src/contracts/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { FAKE_AGENT } from '../helpers/agents.js';

let dir: string;
let app: MsoApp;
let runId: string;

async function makeApp(policy: string): Promise<MsoApp> {
  await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
  await writeFile(join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'), policy);
  const settings = resolveSettings(
    { workspace: join(dir, 'ws'), observation: join(dir, 'obs'), observer: 'alice' },
    {},
    dir,
  );
  return createApp(
    {
      ...nodePlatform(),
      logger: { warn: () => {}, info: () => {} },
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'] },
      version: 't',
    },
    settings,
  );
}

const AGENTS = [
  'agents:',
  '  fake-claude: { kind: claude-code, command: ' + FAKE_AGENT + ' }',
  '  fake-codex: { kind: codex, command: ' + FAKE_AGENT + ', model: fake-1 }',
  '  fake-gemini: { kind: gemini, command: ' + FAKE_AGENT + ' }',
  'fallback_chains:',
  '  default: [fake-claude, fake-codex, fake-gemini, manual]',
  'resilience:',
  '  retry: { max_retries: 0 }',
  '',
].join('\n');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-tkt-'));
  app = await makeApp(AGENTS);
  runId = (await app.runs.create({ skillKey: 'msotcm', caseSlug: 'tickets' })).run_id;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tickets', () => {
  it('writes real YAML lists, a title, string dates and the default owner', async () => {
    const t = await app.tickets.create({ runId }, { title: 'Add the sum function', tags: ['core', 'math'], deps: [] });
    expect(t.path).toMatch(/tickets\/TKT-0001-add-the-sum-function\.md$/);
    const text = await readFile(t.path, 'utf8');
    expect(text).toMatch(
      /^---\nid: TKT-0001\ntask_context_id: TKT-0001\ntitle: Add the sum function\nstatus: todo\npriority: medium\nowner: agent\ndue_by: \d{4}-\d{2}-\d{2}\ndependencies: \[\]\ntags:\n {2}- core\n {2}- math\ncreated: \d{4}-\d{2}-\d{2}\n/,
    );
    expect(text.endsWith('\n')).toBe(true);
    expect((await app.schema.validate('ticket', t.path)).valid).toBe(true);
  });
  it('never reuses an id, even after the highest ticket is archived', async () => {
    await app.tickets.create({ runId }, { title: 'one' });
    await app.tickets.create({ runId }, { title: 'two' });
    await app.tickets.move({ runId }, 'TKT-0002', 'cancelled');
    const archived = await app.tickets.archive({ runId });
    expect(archived.map((a) => a.ticket)).toEqual(['TKT-0002']);
    expect((await app.tickets.create({ runId }, { title: 'three' })).ticket.id).toBe('TKT-0003');
    const tc = join(dir, 'ws', '.mso-context', 'active', runId, '40_collaboration', 'task-context');
    expect(await readFile(join(tc, 'ticket_closure_log.md'), 'utf8')).toMatch(/\| TKT-0002 \| cancelled \| agent \|/);
    const year = (await readdir(join(tc, 'archive')))[0] as string;
    expect(await readdir(join(tc, 'archive', year))).toEqual(['TKT-0002-two.md']);
  });
  it('does not rewrite the file for a request for the current state, and sets updated on a real move', async () => {
    const t = await app.tickets.create({ runId }, { title: 'x' });
    const before = (await stat(t.path)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await app.tickets.move({ runId }, 'TKT-0001', 'todo')).toMatchObject({
      changed: false,
      from: 'todo',
      to: 'todo',
    });
    expect((await stat(t.path)).mtimeMs).toBe(before);
    await app.tickets.move({ runId }, t.path, 'in_progress');
    await expect(app.tickets.move({ runId }, 'TKT-0001', 'todo')).rejects.toMatchObject({
      code: 'MSO_TICKET_INVALID_TRANSITION',
    });
    const rows = await app.audit.query("SELECT payload FROM events WHERE type = 'ticket.transition'");
    expect(rows.rows.map((r) => JSON.parse(String(r['payload'])))).toEqual([
      { from: 'todo', to: 'in_progress', reason: null },
    ]);
  });
  it('blocks tickets whose dependencies do not exist instead of crashing', async () => {
    await app.tickets.create({ runId }, { title: 'a', deps: ['TKT-0042'] });
    const b = await app.tickets.create({ runId }, { title: 'b', deps: ['TKT-0043'] });
    await app.tickets.move({ runId }, b.ticket.id, 'in_progress');
    const r = await app.tickets.validate({ runId });
    expect(r.valid).toBe(false);
    expect(r.issues).toEqual([
      { ticket: 'TKT-0001', dependency: 'TKT-0042', action: 'marked blocked_reason (todo cannot move to blocked)' },
      { ticket: 'TKT-0002', dependency: 'TKT-0043', action: 'moved in_progress -> blocked' },
    ]);
    expect((await app.tickets.show({ runId }, 'TKT-0002')).ticket).toMatchObject({
      status: 'blocked',
      blocked_reason: 'unknown dependency TKT-0043',
    });
    expect((await app.tickets.dispatch({ runId }, 'TKT-0001', {})).skipped).toMatch(/blocked: unknown dependency/);
  });
});

describe('dispatch against the fake agent CLI', () => {
  it('run: writes a CC-04 result, moves the ticket to done and records attempt and payload', async () => {
    const t = await app.tickets.create({ runId }, { title: 'Add sum' });
    const r = await app.tickets.dispatch({ runId }, t.ticket.id, {});
    expect(r).toMatchObject({
      mode: 'run',
      mode_reason: 'when_unsure: no mode signal, default run',
      status: 'done',
      agent: 'fake-claude',
      exitCode: 0,
    });
    const collab = CollaborationResultSchema.parse(JSON.parse(await readFile(r.result_path as string, 'utf8')));
    expect(collab).toMatchObject({
      dispatch_mode: 'run',
      status: 'success',
      requires_manual_confirmation: false,
      handoff_payload: { task_name: 'Add sum', task_id: 'TKT-0001' },
    });
    expect(collab.output_report).toMatchObject({ changed_files: ['src/sum.ts'], cost: { source: 'reported' } });
    const show = await app.tickets.show({ runId }, 'TKT-0001');
    expect(show.ticket).toMatchObject({ status: 'done', attempts: 1, agent: 'fake-claude' });
    const a = await app.audit.query(`SELECT status, agent, cost_source FROM attempts WHERE run_id = '${runId}'`);
    expect(a.rows).toEqual([{ status: 'success', agent: 'fake-claude', cost_source: 'reported' }]);
    const p = await app.audit.query(`SELECT status, action FROM audit_logs WHERE run_id = '${runId}'`);
    expect(p.rows).toEqual([{ status: 'success', action: 'dispatch' }]);
    expect((await app.tickets.dispatch({ runId }, 'TKT-0001', {})).skipped).toBe('status=done');
  });
  it('passes the results of dependencies in the hand-off', async () => {
    await app.tickets.create({ runId }, { title: 'first' });
    await app.tickets.create({ runId }, { title: 'second', deps: ['TKT-0001'] });
    expect((await app.tickets.dispatch({ runId }, 'TKT-0002', {})).skipped).toBe('waiting on TKT-0001');
    await app.tickets.dispatch({ runId }, 'TKT-0001', {});
    const r = await app.tickets.dispatch({ runId }, 'TKT-0002', {});
    const collab = JSON.parse(await readFile(r.result_path as string, 'utf8'));
    expect(collab.handoff_payload.dependency_results).toEqual([
      expect.objectContaining({ task_id: 'TKT-0001', status: 'done', summary: 'Added sum() and tests pass.' }),
    ]);
  });
  it('moves a failed ticket to blocked with the reason', async () => {
    const t = await app.tickets.create({ runId }, { title: 'crash please' });
    await writeFile(
      t.path,
      (await readFile(t.path, 'utf8')).replace('# crash please', '# crash please\n\n#scenario:crash'),
    );
    const r = await app.tickets.dispatch({ runId }, t.ticket.id, { agent: 'fake-claude' });
    expect(r).toMatchObject({ status: 'blocked', exitCode: 1 });
    expect((await app.tickets.show({ runId }, t.ticket.id)).ticket.blocked_reason).toMatch(/^process:/);
  });
  it('batch: dispatches the ticket and the other ready tickets concurrently', async () => {
    await app.tickets.create({ runId }, { title: 'a', tags: ['batch'] });
    await app.tickets.create({ runId }, { title: 'b' });
    await app.tickets.create({ runId }, { title: 'c', deps: ['TKT-0001'] });
    const r = await app.tickets.dispatch({ runId }, 'TKT-0001', {});
    expect(r.mode_reason).toBe('tag batch');
    expect(r.batch?.map((o) => [o.ticket, o.status])).toEqual([
      ['TKT-0001', 'done'],
      ['TKT-0002', 'done'],
    ]);
    expect((await app.tickets.show({ runId }, 'TKT-0003')).ticket.status).toBe('todo');
  });
  it('swarm: sends the ticket to agents of distinct providers and keeps the best, recording the vote', async () => {
    const t = await app.tickets.create({ runId }, { title: 'Add sum', tags: ['swarm'] });
    const r = await app.tickets.dispatch({ runId }, t.ticket.id, {});
    expect(r.mode).toBe('swarm');
    expect(r.verdict?.ranking.map((s) => s.candidate).sort()).toEqual(['fake-claude', 'fake-codex', 'fake-gemini']);
    expect(r.verdict?.winner).toBeTruthy();
    expect(r.status).toBe('done');
    const d = await app.audit.query("SELECT title, approved_by FROM decisions WHERE title LIKE 'swarm winner%'");
    expect(d.rows).toHaveLength(1);
    const ev = await app.audit.query("SELECT count(*) AS n FROM evidence WHERE type = 'score'");
    expect(ev.rows[0]?.['n']).toBe(3);
  });
  it('falls back to a person when no agent is available: FALLBACK, exit 3, a human item for observers', async () => {
    app = await makeApp('fallback_chains:\n  default: [claude-code, manual]\n');
    const id = (await app.runs.create({ skillKey: 'msotcm', caseSlug: 'fallback' })).run_id;
    const t = await app.tickets.create({ runId: id }, { title: 'Needs a human', priority: 'critical' });
    const r = await app.tickets.dispatch({ runId: id }, t.ticket.id, { mode: 'run' });
    expect(r).toMatchObject({
      requires_manual_confirmation: true,
      status: 'in_progress',
      hitl: 'HITL-0001',
      exitCode: 3,
    });
    const collab = JSON.parse(await readFile(r.result_path as string, 'utf8'));
    expect(collab).toMatchObject({
      requires_manual_confirmation: true,
      status: 'in_progress',
      next_actions: ['manual_dispatch', 'validate_manual_route'],
    });
    const brief = await readFile(join(dir, 'obs', 'alice', id, '02_decisions', 'HITL-0001.md'), 'utf8');
    expect(brief).toMatch(/urgency: critical/);
    expect(await readFile(join(dir, 'obs', 'alice', id, 'readme.md'), 'utf8')).toContain('decide HITL-0001');
  });
  it.each<[{ tags?: string[]; priority?: 'critical' }, string, string]>([
    [{ tags: ['batch'] }, 'batch', 'tag batch'],
    [{ tags: ['multi'] }, 'swarm', 'tag multi'],
    [{ priority: 'critical' }, 'batch', 'priority critical'],
    [{}, 'run', 'when_unsure: no mode signal, default run'],
  ])('infers the mode from %j', async (input, mode, reason) => {
    const { inferMode } = await import('../../src/engine/index.js');
    const fm = {
      ...(await app.tickets.create({ runId }, { title: 'x' })).ticket,
      tags: input.tags ?? [],
      priority: input.priority ?? ('medium' as const),
    };
    expect(inferMode(fm)).toEqual({ mode, reason });
  });
});
