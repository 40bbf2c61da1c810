import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_AGENT } from '../helpers/agents.js';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
let repo: string;
beforeEach(async () => {
  sb = await makeSandbox();
  await sb.run(['init']);
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    [
      'agents:',
      '  fake-claude:',
      '    kind: claude-code',
      `    command: ${FAKE_AGENT}`,
      'fallback_chains:',
      '  default: [fake-claude, manual]',
      'resilience:',
      '  retry:',
      '    max_retries: 0',
      '',
    ].join('\n'),
  );
  repo = join(sb.dir, 'repo');
  await mkdir(repo);
  execFileSync('git', ['init', '-q'], { cwd: repo });
});
afterEach(async () => {
  await sb.cleanup();
});

describe('mso agents', () => {
  it('lists built-in and declared agents with availability and the reason when unavailable', async () => {
    const r = await sb.json<{ agents: Array<{ name: string; available: boolean; reason: string; declared: boolean }> }>(
      ['agents', 'list'],
    );
    expect(r.code).toBe(0);
    const byName = new Map(r.body.agents.map((a) => [a.name, a]));
    expect(byName.get('fake-claude')).toMatchObject({ available: true, declared: true });
    expect(byName.get('manual')).toMatchObject({ available: true });
    expect(byName.get('openai')).toMatchObject({ available: false });
    expect(byName.get('openai')?.reason).toMatch(/model|OPENAI_API_KEY/);
  });
  it('tries an agent through the resilience stack, recording the call and a redacted transcript', async () => {
    const secret = 'sk-proj-ZZZZZZZZZZZZZZZZZZZZZZZZ';
    const r = await sb.json<{
      result: { status: string; cost: { source: string; usd: number }; changedFiles: string[] };
      retries: number;
    }>(['agents', 'try', 'fake-claude', '--prompt', `add sum, key ${secret}`, '--cwd', repo]);
    expect(r.code).toBe(0);
    expect(r.body.result).toMatchObject({
      status: 'success',
      cost: { source: 'reported', usd: 0.0042 },
      changedFiles: ['src/sum.ts'],
    });
    const calls = await sb.json<{ rows: Array<{ agent: string; transcript_blob: string }> }>([
      'audit',
      'query',
      'SELECT agent, transcript_blob FROM agent_calls',
    ]);
    expect(calls.body.rows).toHaveLength(1);
    // The call's blobs (request, transcript, response) are small: kept in their rows.
    const blobs = await sb.json<{ rows: Array<{ text: string }> }>([
      'audit',
      'query',
      'SELECT CAST(data AS TEXT) AS text FROM blobs WHERE data IS NOT NULL',
    ]);
    const texts = blobs.body.rows.map((b) => b.text);
    expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(texts.join('\n')).toContain('[REDACTED');
    for (const t of texts) expect(t).not.toContain(secret);
  });
  it('exits 3 when the manual agent needs a person, 2 for an unknown agent', async () => {
    expect((await sb.run(['agents', 'try', 'manual', '--prompt', 'review it'])).code).toBe(3);
    const unknown = await sb.json(['agents', 'try', 'nobody', '--prompt', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.body).toMatchObject({ error: { code: 'MSO_NOT_FOUND' } });
  });
  it('opens a breaker by MSO_CIRCUIT_FAILURE_THRESHOLD, shows it in health, and resets it', async () => {
    const env = { MSO_CIRCUIT_FAILURE_THRESHOLD: '1' };
    const fail = await sb.json(['agents', 'try', 'fake-claude', '--prompt', '#scenario:crash', '--cwd', repo], { env });
    expect(fail.code).toBe(1);
    const health = await sb.json<{ breakers: Array<{ breaker: string; state: string }> }>(['agents', 'health'], {
      env,
    });
    expect(health.body.breakers).toEqual([expect.objectContaining({ breaker: 'anthropic/default', state: 'open' })]);
    const rejected = await sb.json<{ result: { errorClass: string } }>(
      ['agents', 'try', 'fake-claude', '--prompt', 'x', '--cwd', repo],
      { env },
    );
    expect(rejected.code).toBe(1);
    expect(rejected.body).toMatchObject({ error: { code: 'MSO_ALL_PROVIDERS_UNAVAILABLE' } });
    const reset = await sb.json<{ breakers: Array<{ state: string }> }>(
      ['agents', 'health', '--reset', 'fake-claude'],
      { env },
    );
    expect(reset.body.breakers[0]?.state).toBe('closed');
    const events = await sb.json<{ rows: Array<{ to_state: string }> }>([
      'audit',
      'query',
      'SELECT to_state FROM breaker_events ORDER BY id',
    ]);
    expect(events.body.rows.map((r) => r.to_state)).toEqual(['open', 'closed']);
  });
  it('refuses a malformed breaker override instead of silently disabling the breaker', async () => {
    const r = await sb.json(['agents', 'health'], { env: { MSO_CIRCUIT_FAILURE_THRESHOLD: 'five' } });
    expect(r.code).toBe(2);
    expect(r.body).toMatchObject({ error: { code: 'MSO_INVALID_ARGUMENT', field: 'MSO_CIRCUIT_FAILURE_THRESHOLD' } });
  });
});
