import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
let runId: string;
beforeEach(async () => {
  sb = await makeSandbox();
  runId = (await sb.json<{ run_id: string }>(['runs', 'create', '--skill-key', 'msotcm', '--case-slug', 'tickets']))
    .body.run_id;
});
afterEach(async () => {
  await sb.cleanup();
});

describe('mso ticket', () => {
  it('creates, moves with "<id> <from> -> <to>", and refuses an invalid transition with exit 1', async () => {
    const c = await sb.run([
      'ticket',
      'create',
      'Write the docs',
      '--run-id',
      runId,
      '--tags',
      'docs,release',
      '--priority',
      'high',
    ]);
    expect(c.code).toBe(0);
    expect(c.stdout.trim()).toMatch(/TKT-0001-write-the-docs\.md$/);
    const m = await sb.run(['ticket', 'move', 'TKT-0001', 'in_progress', '--run-id', runId]);
    expect(m.stdout.trim()).toBe('TKT-0001 todo -> in_progress');
    const bad = await sb.run(['ticket', 'move', 'TKT-0001', 'todo', '--run-id', runId]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid transition in_progress -> todo');
    const list = await sb.json<{ tickets: Array<{ id: string; status: string; tags: string[] }> }>([
      'ticket',
      'list',
      '--run-id',
      runId,
      '--status',
      'in_progress',
    ]);
    expect(list.body.tickets).toEqual([
      expect.objectContaining({ id: 'TKT-0001', status: 'in_progress', tags: ['docs', 'release'] }),
    ]);
    expect((await sb.json(['ticket', 'list'])).code).toBe(2);
    expect((await sb.json(['ticket', 'create', 'x', '--run-id', runId, '--due-by', '2026-02-30'])).code).toBe(2);
  });
  it('lets exactly one of several racing processes move a ticket; the file is never corrupted', async () => {
    const c = await sb.json<{ path: string }>(['ticket', 'create', 'Contended', '--run-id', runId]);
    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        sb.json<{ to?: string; error?: { code: string } }>([
          'ticket',
          'move',
          'TKT-0001',
          i % 2 === 0 ? 'in_progress' : 'cancelled',
          '--run-id',
          runId,
        ]),
      ),
    );
    const winners = racers.filter((r) => r.code === 0 && (r.body as { changed?: boolean }).changed === true);
    expect(winners).toHaveLength(1);
    for (const r of racers.filter((x) => !winners.includes(x))) {
      if (r.code === 0) expect((r.body as { changed: boolean }).changed).toBe(false);
      else expect(['MSO_TICKET_CONFLICT', 'MSO_TICKET_INVALID_TRANSITION']).toContain(r.body.error?.code);
    }
    const final = await sb.json<{ ticket: { status: string } }>(['ticket', 'show', 'TKT-0001', '--run-id', runId]);
    expect(final.body.ticket.status).toBe(winners[0]?.body.to);
    expect(await readFile(c.body.path, 'utf8')).toMatch(/^---\n[\s\S]+\n---\n# Contended\n$/);
  });
  it('dispatches with the seed fallback (exit 3) when no agent is available, and skips finished tickets', async () => {
    await sb.run(['ticket', 'create', 'Needs hands', '--run-id', runId]);
    const r = await sb.run(['dispatch', '--ticket', 'TKT-0001', '--run-id', runId, '--agent', 'manual']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^FALLBACK: TKT-0001/);
    await sb.run(['ticket', 'move', 'TKT-0001', 'done', '--run-id', runId]);
    const skip = await sb.run(['dispatch', '--ticket', 'TKT-0001', '--run-id', runId]);
    expect(skip).toMatchObject({ code: 0 });
    expect(skip.stdout.trim()).toBe('SKIP: TKT-0001 status=done');
  });
});

describe('mso pipeline sample', () => {
  it('runs design → ticket → dispatch → audit → validate and prints done', async () => {
    const r = await sb.run([
      'pipeline',
      'sample',
      '--goal',
      'Design the onboarding flow and compare it with the current one',
      '--task-title',
      'Implement onboarding flow',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\[pipeline:\d{8}-msowd-implement-onboarding-flow\] done$/);
    expect(r.stderr).toContain('70 validate ok');
  });
});
