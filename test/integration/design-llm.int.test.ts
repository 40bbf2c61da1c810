import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MsoApp } from '../../src/app/index.js';
import type { WorkflowTopologySpec } from '../../src/contracts/index.js';
import { appIn } from '../helpers/app.js';
import { startFakeLlmServer, type FakeLlmServer } from '../helpers/fake-llm-server.js';

let server: FakeLlmServer;
let dir: string;
let app: MsoApp;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-llm-'));
  await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
  await writeFile(
    join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'),
    [
      'agents:',
      '  planner:',
      '    kind: openai-compatible',
      `    base_url: ${server.url}/v1`,
      '    model: planner-model',
      'design:',
      '  planner_chain: [planner]',
      'resilience:',
      '  retry: { max_retries: 0 }',
      '  deadlines: { first_output_ms: 400, inactivity_ms: 400, total_ms: 5000 }',
      '',
    ].join('\n'),
  );
  app = appIn(dir);
  server.requests.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const answer = (subtasks: unknown[]) => ({ kind: 'ok' as const, text: JSON.stringify({ subtasks, reasoning: 'r' }) });
const task = (id: string, description: string, dependencies: string[] = [], extra: Record<string, unknown> = {}) => ({
  id,
  description,
  dependencies,
  complexity: 'medium',
  ...extra,
});
const topologyOf = async (r: { path: string }) => JSON.parse(await readFile(r.path, 'utf8')) as WorkflowTopologySpec;

describe('LLM planner through the agents layer', () => {
  it('turns a valid decomposition into a DAG with personas from valid suggestions or keywords', async () => {
    server.script(
      'openai',
      answer([
        task('schema', 'Design the database schema', [], { suggestedRole: 'arch' }),
        task('ui', 'Build the settings screen layout', ['schema'], { suggestedRole: 'wizard' }),
        task('docs', 'Write the user guide', ['schema']),
      ]),
    );
    const r = await app.design.topology({ goal: 'Add user settings', planner: 'llm', pattern: 'parallel' });
    const t = await topologyOf(r);
    expect(t.metadata?.['planner']).toMatchObject({ requested: 'llm', used: 'llm', calls: 1 });
    expect(t.topology_type).toBe('dag');
    expect(t.nodes.map((n) => [n.id, n.persona])).toEqual([
      ['schema', 'arch'],
      ['ui', 'canvas'],
      ['docs', 'quill'],
    ]);
    expect(t.edges.map((e) => `${e.from}->${e.to}`)).toEqual(['schema->ui', 'schema->docs']);
    expect(server.requests).toHaveLength(1);
    expect((await app.design.all({ runId: r.run_id, planner: 'llm' })).plan).toBeTruthy();
  });
  it('sends invalid JSON back once with the error, then uses the corrected answer', async () => {
    server.script(
      'openai',
      { kind: 'ok', text: 'Sure! Here is the plan: {subtasks: oops' },
      answer([task('a', 'Collect the data'), task('b', 'Analyze the data', ['a'])]),
    );
    const goal = 'Collect the churn data, then analyze it';
    const t = await topologyOf(await app.design.topology({ goal, planner: 'llm' }));
    expect(t.metadata?.['planner']).toMatchObject({ used: 'llm', calls: 2 });
    // The offline planner's reading goes into the prompt as a hint.
    const first = JSON.stringify(server.requests[0]?.body);
    expect(first).toContain('h1: Collect the churn data');
    expect(first).toContain('h2: analyze the churn data (after h1)');
    const second = JSON.stringify(server.requests[1]?.body);
    expect(second).toContain('Your previous answer was invalid');
  });
  it.each([
    [
      'a cycle',
      [task('a', 'First step', ['b']), task('b', 'Second step', ['a'])],
      /circular dependency: (a -> b -> a|b -> a -> b)/,
    ],
    ['unknown dependencies', [task('a', 'First step', ['zzz'])], /a depends on unknown id zzz/],
    ['invalid JSON', null, /no JSON object/],
  ])('falls back to the heuristic planner after %s twice, recording why', async (_name, subtasks, reason) => {
    const bad = subtasks === null ? { kind: 'ok' as const, text: 'I cannot do JSON today.' } : answer(subtasks);
    server.script('openai', bad, bad);
    const t = await topologyOf(await app.design.topology({ goal: 'Compare A and B, then decide', planner: 'llm' }));
    expect(t.metadata?.['planner']).toMatchObject({ requested: 'llm', used: 'heuristic', calls: 2 });
    expect(String((t.metadata?.['planner'] as { fallback_reason: string }).fallback_reason)).toMatch(reason);
    expect(t.metadata?.['source']).toBe('heuristic-planner');
  });
  it('falls back when the model times out, with the reason recorded in the audit log too', async () => {
    server.script('openai', { kind: 'slow_first', delayMs: 3_000 });
    const r = await app.design.topology({ goal: 'Write the release notes', planner: 'llm' });
    const t = await topologyOf(r);
    expect(String((t.metadata?.['planner'] as { fallback_reason: string }).fallback_reason)).toMatch(/timeout/);
    const ev = await app.audit.query(
      `SELECT payload FROM events WHERE run_id = '${r.run_id}' AND type = 'design.topology'`,
    );
    expect(String(ev.rows[0]?.['payload'])).toContain('fallback_reason');
  });
  it('decomposes high-complexity subtasks again up to max depth (hierarchical)', async () => {
    server.script(
      'openai',
      answer([
        task('plan', 'Plan the migration'),
        task('move', 'Migrate all services', ['plan'], { complexity: 'high' }),
        task('verify', 'Verify the migration', ['move']),
      ]),
      answer([task('db', 'Migrate the database', [], { complexity: 'high' }), task('api', 'Migrate the API', ['db'])]),
      answer([task('dump', 'Dump the old database'), task('load', 'Load into the new database', ['dump'])]),
    );
    const t = await topologyOf(
      await app.design.topology({
        goal: 'Migrate to the new platform',
        planner: 'llm',
        pattern: 'hierarchical',
        maxDepth: 3,
      }),
    );
    expect(t.metadata?.['planner']).toMatchObject({ used: 'llm', calls: 3, decomposed: ['move', 'move.db'] });
    expect(t.nodes.map((n) => n.id)).toEqual(['plan', 'move.db.dump', 'move.db.load', 'move.api', 'verify']);
    expect(t.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(
      ['move.api->verify', 'move.db.dump->move.db.load', 'move.db.load->move.api', 'plan->move.db.dump'].sort(),
    );
  });
  it('stops at max depth 1 and with pattern parallel', async () => {
    server.script(
      'openai',
      answer([task('a', 'Do the big thing', [], { complexity: 'high' }), task('b', 'Check it', ['a'])]),
    );
    const t = await topologyOf(await app.design.topology({ goal: 'Big goal', planner: 'llm', pattern: 'parallel' }));
    expect(t.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    expect(server.requests).toHaveLength(1);
  });
});
