import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditLog, type AuditLog } from '../../src/audit/index.js';
import { runChain } from '../../src/agents/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { createBreakerFactory } from '../../src/resilience/index.js';
import { adapter, FAKE_AGENT, tempRepo, testAdapterDeps } from '../helpers/agents.js';

const platform = nodePlatform();
let repo: Awaited<ReturnType<typeof tempRepo>>;
let log: AuditLog;
beforeAll(async () => {
  repo = await tempRepo();
  log = openAuditLog(platform, { file: `${repo.dir}/audit.db`, blobsDir: `${repo.dir}/blobs`, env: {} });
});
afterAll(async () => {
  log.close();
  await repo.cleanup();
});

describe('failures read from the stream', () => {
  it.each(['claude-code', 'codex'] as const)(
    '%s: a bad key ends the call at the first retry frame, falls back, and is no breaker failure',
    async (kind) => {
      const deps = testAdapterDeps({
        defaults: {
          deadlines: { firstOutputMs: 20_000, inactivityMs: 20_000, totalMs: 60_000 },
          lingerGraceMs: 300,
          killGraceMs: 300,
        },
      });
      const bad = adapter(deps, `bad-${kind}`, { kind, command: FAKE_AGENT, provider: `p-${kind}` });
      const next = adapter(deps, 'shell', { kind: 'shell' });
      const breaker = createBreakerFactory(log, platform.clock, {
        failureThreshold: 5,
        resetTimeoutMs: 60_000,
        halfOpenMaxAttempts: 1,
      });
      const out = await runChain(
        {
          clock: platform.clock,
          random: platform.random,
          breaker,
          retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1, jitter: false },
          audit: log,
        },
        [bad, next],
        { runId: 'r', instructions: '#scenario:auth-retry', command: 'echo fell back', cwd: repo.dir },
      );
      // The fake would hang for ever after the frame: only reading the frame ends it.
      expect(out.trail[0]).toMatchObject({
        agent: `bad-${kind}`,
        outcome: 'failure',
        errorClass: 'auth',
        problem: 'configuration',
      });
      expect(out.trail.filter((s) => s.agent === `bad-${kind}`)).toHaveLength(1); // no retry of a bad key
      expect(out.result).toMatchObject({ agent: 'shell', status: 'success' });
      expect(breaker(`p-${kind}/default`).metrics().failures).toBe(0);
    },
  );
  it('codex offline: an unresolvable host ends the call at once as network, not after minutes of reconnects', async () => {
    const deps = testAdapterDeps({
      defaults: {
        deadlines: { firstOutputMs: 20_000, inactivityMs: 20_000, totalMs: 60_000 },
        lingerGraceMs: 300,
        killGraceMs: 300,
      },
    });
    const r = await adapter(deps, 'x', { kind: 'codex', command: FAKE_AGENT }).run({
      runId: 'r',
      instructions: '#scenario:offline',
      cwd: repo.dir,
    });
    expect(r).toMatchObject({ status: 'failure', errorClass: 'network' });
    expect(r.errorMessage).toMatch(/failed to lookup address/);
  });
  it('retry chatter does not reset the no-progress deadline', async () => {
    const deps = testAdapterDeps({
      defaults: {
        deadlines: { firstOutputMs: 20_000, inactivityMs: 700, totalMs: 60_000 },
        lingerGraceMs: 300,
        killGraceMs: 300,
      },
    });
    const r = await adapter(deps, 'c', { kind: 'claude-code', command: FAKE_AGENT }).run({
      runId: 'r',
      instructions: '#scenario:retry-chatter',
      cwd: repo.dir,
    });
    // 20 retry frames 200 ms apart would each have reset an output-based deadline; the call ends long before them.
    expect(r).toMatchObject({ status: 'timeout', errorClass: 'server_error' });
    expect(r.errorMessage).toMatch(/no progress for 700 ms while the CLI retried/);
    expect(r.transcript.split('\n').filter((l) => l.includes('api_retry')).length).toBeLessThan(20);
  });
  it('gemini takes a prompt on stdin: no argv limit, a leading dash is no flag', async () => {
    const big = `--help me: ${'x'.repeat(200 * 1024)} #scenario:default`;
    const r = await adapter(testAdapterDeps(), 'g', { kind: 'gemini', command: FAKE_AGENT }).run({
      runId: 'r',
      instructions: big,
      cwd: repo.dir,
    });
    expect(r.status, r.errorMessage ?? '').toBe('success');
  });
});
