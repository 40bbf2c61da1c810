import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_AGENT } from '../helpers/agents.js';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
  await sb.run(['init']);
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    [
      'agents:',
      `  fake-claude: { kind: claude-code, command: ${FAKE_AGENT} }`,
      `  careful-codex: { kind: codex, command: ${FAKE_AGENT}, permission_mode: edit }`,
      'fallback_chains:',
      '  default: [fake-claude]',
      'resilience:',
      '  retry: { max_retries: 0 }',
      '',
    ].join('\n'),
  );
});
afterEach(async () => {
  await sb.cleanup();
});

async function workflow(nodes: Array<Record<string, unknown>>): Promise<string> {
  const file = join(sb.dir, 'wf.yaml');
  await writeFile(file, stringify({ name: 'modes', nodes: nodes.map((n) => ({ label: n['id'], ...n })), edges: [] }));
  return file;
}
type Err = { error: { code: string; message: string } };

describe('permission modes at the gate', () => {
  it("refuses a node whose mode is wider than its agent's own (exit 2, naming node and agent)", async () => {
    const wf = await workflow([{ id: 'deploy', agent: 'careful-codex', mode: 'full' }]);
    const r = await sb.json<Err>(['run', '--workflow', wf]);
    expect(r.code).toBe(2);
    expect(r.body.error.code).toBe('MSO_INVALID_ARGUMENT');
    expect(r.body.error.message).toMatch(/node deploy for agent careful-codex/);
    expect(r.body.error.message).toMatch(/wider than the agent's own edit/);
  });
  it('refuses a read-only shell command and a mode no CLI honours', async () => {
    const shell = await sb.json<Err>([
      'run',
      '--workflow',
      await workflow([{ id: 'ls', command: 'ls', mode: 'read-only' }]),
    ]);
    expect(shell.code).toBe(2);
    expect(shell.body.error.message).toMatch(/node ls for agent shell: .*cannot be held to read-only/);
    const odd = await sb.json<Err>(['run', '--workflow', await workflow([{ id: 'x', mode: 'experimental' }])]);
    expect(odd.code).toBe(2);
    expect(odd.body.error.message).toMatch(
      /node x for agent fake-claude: .*"experimental" is not one claude-code can honour/,
    );
  });
  it('runs a read-only node and records its mode and the env names, never the values', async () => {
    const wf = await workflow([{ id: 'review', mode: 'read-only' }]);
    const r = await sb.json<{ status: string; run_id: string }>(['run', '--workflow', wf], {
      env: { ANTHROPIC_API_KEY: 'sk-ant-e2e-VALUE-123' },
    });
    expect(r.code, JSON.stringify(r.body)).toBe(0);
    const rows = (
      await sb.json<{ rows: Array<{ evidence: string }> }>([
        'audit',
        'query',
        `SELECT evidence FROM attempts WHERE run_id = '${r.body.run_id}' AND agent = 'fake-claude'`,
      ])
    ).body.rows;
    const evidence = JSON.parse(rows[0]?.evidence ?? '{}') as { mode?: string; envNames?: string[] };
    expect(evidence.mode).toBe('read-only');
    expect(evidence.envNames).toContain('ANTHROPIC_API_KEY');
    expect(JSON.stringify(rows)).not.toContain('sk-ant-e2e-VALUE-123');
  });
});
