import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox('mso-limits-');
});
afterEach(async () => {
  await sb.cleanup();
});

const policyFile = () => join(sb.env['MSO_WORKSPACE_ROOT'] as string, '.mso-context', 'config', 'policy.yaml');
const runsOnDisk = async () =>
  readdir(join(sb.env['MSO_WORKSPACE_ROOT'] as string, '.mso-context', 'active')).catch(() => [] as string[]);

async function file(name: string, text: string): Promise<string> {
  const path = join(sb.dir, name);
  await writeFile(path, text);
  return path;
}

function chainYaml(name: string, n: number): string {
  const nodes = Array.from({ length: n }, (_, i) => `  - {id: n${i}, label: step ${i}, command: "true"}`);
  const edges = Array.from({ length: n - 1 }, (_, i) => `  - {from: n${i}, to: n${i + 1}}`);
  return `name: ${name}\nnodes:\n${nodes.join('\n')}\nedges:\n${edges.join('\n')}\n`;
}

const BOMB =
  'a0: &a0 [x, x, x, x, x, x, x, x, x]\n' +
  Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]\n`).join('');

describe('input limits: exit 2 with the field named, nothing written', () => {
  it('refuses a workflow over the node limit and over the size limit (both set in policy.yaml)', async () => {
    await mkdir(join(policyFile(), '..'), { recursive: true });
    await writeFile(policyFile(), 'design:\n  workflow_max_nodes: 5\n  workflow_max_bytes: 600\n');
    const many = await sb.json<{ error: { code: string; message: string } }>([
      'run',
      '--workflow',
      await file('many.yaml', chainYaml('many', 6)),
    ]);
    expect(many.code).toBe(2);
    expect(many.body.error.code).toBe('MSO_INVALID_ARTIFACT');
    expect(many.body.error.message).toMatch(/nodes: 6 nodes; the limit is 5 \(policy design\.workflow_max_nodes\)/);
    const big = await sb.json<{ error: { message: string } }>([
      'run',
      '--workflow',
      await file('big.yaml', chainYaml('big', 4) + `# ${'x'.repeat(600)}\n`),
    ]);
    expect(big.code).toBe(2);
    expect(big.body.error.message).toMatch(/the limit is 600 \(policy design\.workflow_max_bytes\)/);
    expect(await runsOnDisk()).toEqual([]);
  });

  it.each([
    [
      'a duplicate node id',
      'nodes:\n  - {id: a, label: a, command: "true"}\n  - {id: a, label: b, command: "true"}\n',
      'nodes[1].id: duplicate node id a',
    ],
    [
      'an edge to no node',
      'nodes:\n  - {id: a, label: a, command: "true"}\nedges:\n  - {from: a, to: b}\n',
      'edges[0].to: unknown node b',
    ],
    [
      'a cycle',
      'nodes:\n  - {id: a, label: a, command: "true"}\n  - {id: b, label: b, command: "true"}\nedges:\n  - {from: a, to: b}\n  - {from: b, to: a}\n',
      'edges[1]: cycle',
    ],
    ['an unknown key', 'nodes:\n  - {id: a, label: a, command: "true", colour: red}\n', 'nodes[0]'],
  ])('refuses %s before the first run makes its workspace', async (_what, text, said) => {
    // Also for a run on the distributed backend, whose Redis settings are read first.
    for (const extra of [[], ['--redis', 'redis://127.0.0.1:1']]) {
      const r = await sb.json<{ error: { message: string } }>([
        'run',
        '--workflow',
        await file('bad.yaml', text),
        ...extra,
      ]);
      expect(r.code).toBe(2);
      expect(r.body.error.message).toContain(said);
      // Neither space was made: nothing of mso is left where the user ran it.
      expect(await readdir(sb.dir)).not.toContain('workspace');
      expect(await readdir(sb.dir)).not.toContain('observation');
    }
  });

  it('refuses YAML alias bombs in a workflow and in policy.yaml', async () => {
    const wf = await sb.json<{ error: { message: string } }>([
      'run',
      '--workflow',
      await file('bomb.yaml', `${BOMB}nodes:\n  - {id: a, label: a}\n`),
    ]);
    expect(wf.code).toBe(2);
    expect(wf.body.error.message).toMatch(/too many YAML aliases/);
    // Refused before the workspace was even made.
    expect(await readdir(sb.dir)).not.toContain('workspace');
    await mkdir(join(policyFile(), '..'), { recursive: true });
    await writeFile(policyFile(), `design:\n  default_persona: arch\nx_bomb:\n${BOMB.replace(/^/gm, '  ')}`);
    const pol = await sb.json<{ error: { code: string; message: string } }>(['status']);
    expect(pol.code).toBe(2);
    expect(pol.body.error.message).toContain('policy.yaml');
    expect(pol.body.error.message).toMatch(/too many YAML aliases/);
    expect(await runsOnDisk()).toEqual([]);
  });

  it.each(['a.', 'a.lock', 'x.LOCK'])('refuses node id %j, which git would refuse as a branch', async (id) => {
    const r = await sb.json<{ error: { message: string } }>([
      'run',
      '--workflow',
      await file('ids.yaml', `name: ids\nnodes:\n  - {id: "${id}", label: x, command: "true"}\n`),
    ]);
    expect(r.code).toBe(2);
    expect(r.body.error.message).toMatch(/nodes\[0\]\.id: must not end with/);
    expect(await runsOnDisk()).toEqual([]);
  });

  it('names a run after a Korean workflow name (romanized, as the README says) and hashes one with no letters', async () => {
    const korean = await sb.json<{ run_id: string }>([
      'design',
      'import',
      '--workflow',
      await file('ko.yaml', 'name: 한국어 작업 흐름\nnodes:\n  - {id: a, label: 가, command: "true"}\n'),
    ]);
    expect(korean.code).toBe(0);
    expect(korean.body.run_id).toMatch(/^\d{8}-msowd-hangukeo-jakeop-heureum$/);
    const name = '🚀🚀';
    const emoji = await sb.json<{ run_id: string }>([
      'design',
      'import',
      '--workflow',
      await file('emoji.yaml', `name: "${name}"\nnodes:\n  - {id: a, label: x, command: "true"}\n`),
    ]);
    expect(emoji.code).toBe(0);
    const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
    expect(emoji.body.run_id).toMatch(new RegExp(`^\\d{8}-msowd-run-${hash}$`));
  });

  it('designs and gates a 155-node workflow (once exit 70: a negative DQ weight)', async () => {
    const r = await sb.json<{ status: string }>([
      'run',
      '--dry-run',
      '--workflow',
      await file('n155.yaml', chainYaml('n155', 155)),
    ]);
    expect(r.code).toBe(0);
  });

  it('random workflows through the CLI: exit 0, or exit 2 naming a field; never 70', async () => {
    const id = fc.constantFrom('a', 'b', 'a.', 'x.lock', 'a..b', '한', 'ok-1');
    const node = fc.record({ id, label: fc.constantFrom('x', '', '작업'), timeout_s: fc.constantFrom(5, -1, 'x') });
    const wfs = fc.sample(
      fc.record({ name: fc.constantFrom('w', '한국어'), nodes: fc.array(node, { maxLength: 3 }) }),
      { numRuns: 4, seed: 18 },
    );
    const seen = { 0: 0, 2: 0 };
    for (const [i, wf] of wfs.entries()) {
      const r = await sb.json<{ error?: { message: string } }>([
        'design',
        'import',
        '--workflow',
        await file(`p${i}.yaml`, JSON.stringify(wf)),
      ]);
      expect([0, 2]).toContain(r.code);
      if (r.code === 2) expect(r.body.error?.message).toMatch(/p\d\.yaml: \S+/);
      seen[r.code as 0 | 2]++;
    }
    // The samples (seed 18: one valid workflow, three refused) cover both outcomes, or a branch went untested.
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[2]).toBeGreaterThan(0);
  });
});
