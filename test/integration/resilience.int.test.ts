import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runChain } from '../../src/agents/index.js';
import { openAuditLog, type AuditLog } from '../../src/audit/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { fakeClock } from '../../src/platform/testing/index.js';
import { createBreakerFactory } from '../../src/resilience/index.js';
import { adapter, FAKE_AGENT, tempRepo, testAdapterDeps } from '../helpers/agents.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { auditStores, pgSchema } from '../helpers/pg.js';
import { startFakeLlmServer, type FakeLlmServer } from '../helpers/fake-llm-server.js';

const platform = nodePlatform();
let dir: string;
let log: AuditLog;
/** What the child processes open: the SQLite file, or the PostgreSQL store while a suite runs on it. */
let target: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-res-'));
  log = openAuditLog(platform, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs') });
  target = join(dir, 'audit.db');
});
afterEach(async () => {
  log.close();
  await rm(dir, { recursive: true, force: true });
});

const cfg = { failureThreshold: 5, resetTimeoutMs: 60_000, halfOpenMaxAttempts: 1 };
const child = (...args: string[]) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'test', 'fixtures', 'breaker-acquire.mjs'), target, ...args],
      (e, stdout) => (e ? reject(e) : resolve(JSON.parse(stdout))),
    );
  });

describe.each(auditStores())('circuit breaker (%s)', (store) => {
  let schema: ReturnType<typeof pgSchema> | null = null;
  beforeEach(async () => {
    if (store !== 'postgres') return;
    await platform.preparePostgres?.();
    schema = pgSchema();
    log.close();
    target = schema.url;
    log = openAuditLog(platform, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs'), url: target });
  });
  afterEach(() => {
    if (!schema) return;
    log.close();
    schema.drop();
    schema = null;
    // The suite's own afterEach closes the log again: give it the SQLite one back.
    log = openAuditLog(platform, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs') });
  });
  it('opens after 5 consecutive failures, half-opens after the reset timeout with exactly one trial, and closes on success', () => {
    const clock = fakeClock('2026-11-21T10:00:00Z');
    const b = createBreakerFactory(log, clock, cfg)('openai/m');
    for (let i = 0; i < 4; i++) b.failure(b.acquire() as never, 'server_error');
    expect(b.metrics().state).toBe('closed');
    b.failure(b.acquire() as never, 'server_error');
    expect(b.metrics()).toMatchObject({ state: 'open', consecutiveFailures: 5, failures: 5 });
    expect(b.acquire()).toMatchObject({ allowed: false, state: 'open', retryAt: '2026-11-21T10:01:00.000Z' });
    clock.advance(60_000);
    const trial = b.acquire();
    expect(trial).toEqual({ allowed: true, trial: true });
    expect(b.acquire()).toMatchObject({ allowed: false, state: 'half_open' });
    b.success(trial as never);
    expect(b.metrics()).toMatchObject({ state: 'closed', consecutiveFailures: 0, rejections: 2 });
    for (let i = 0; i < 5; i++) b.failure(b.acquire() as never, 'timeout');
    clock.advance(60_000);
    b.failure(b.acquire() as never, 'timeout');
    expect(b.metrics().state).toBe('open');
    const transitions = log.db.prepare('SELECT from_state, to_state FROM breaker_events ORDER BY id').all();
    expect(transitions).toEqual([
      { from_state: 'closed', to_state: 'open' },
      { from_state: 'open', to_state: 'half_open' },
      { from_state: 'half_open', to_state: 'closed' },
      { from_state: 'closed', to_state: 'open' },
      { from_state: 'open', to_state: 'half_open' },
      { from_state: 'half_open', to_state: 'open' },
    ]);
  });
  it('a success resets the consecutive count; resetting by hand closes it', () => {
    const b = createBreakerFactory(log, fakeClock(), cfg)('x/y');
    for (let i = 0; i < 4; i++) b.failure(b.acquire() as never, 'e');
    b.success(b.acquire() as never);
    for (let i = 0; i < 4; i++) b.failure(b.acquire() as never, 'e');
    expect(b.metrics().state).toBe('closed');
    b.failure(b.acquire() as never, 'e');
    expect(b.metrics().state).toBe('open');
    b.reset();
    expect(b.metrics().state).toBe('closed');
  });
  it('shares state between processes: failures in one open it for another', async () => {
    const m = await child('anthropic/m', 'fail', '5');
    expect(m['state']).toBe('open');
    const b = createBreakerFactory(log, platform.clock, cfg)('anthropic/m');
    expect(b.metrics().state).toBe('open');
    expect(b.acquire()).toMatchObject({ allowed: false });
  });
  it('grants exactly one half-open trial to several processes racing for it', async () => {
    const clock = fakeClock(new Date(Date.now() - 120_000).toISOString());
    const b = createBreakerFactory(log, clock, cfg)('google/m');
    for (let i = 0; i < 5; i++) b.failure(b.acquire() as never, 'e');
    expect(b.metrics().state).toBe('open');
    const permits = await Promise.all(Array.from({ length: 6 }, () => child('google/m', 'acquire')));
    expect(permits.filter((p) => p['allowed'] === true)).toEqual([{ allowed: true, trial: true }]);
    expect(permits.filter((p) => p['allowed'] === false)).toHaveLength(5);
  });
});

describe('fallback chains', () => {
  let server: FakeLlmServer;
  let repo: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    server = await startFakeLlmServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(async () => {
    repo = await tempRepo();
    server.requests.length = 0;
  });
  afterEach(async () => {
    await repo.cleanup();
  });
  const deps = testAdapterDeps({}, { OPENAI_API_KEY: 'sk-a', ANTHROPIC_API_KEY: 'a' });
  const openai = () => adapter(deps, 'openai', { kind: 'openai', model: 'gpt-test', base_url: `${server.url}/v1` });
  const anthropic = () =>
    adapter(deps, 'anthropic', { kind: 'anthropic', model: 'gpt-test', base_url: `${server.url}/v1` });
  const res = () => ({
    clock: platform.clock,
    random: platform.random,
    breaker: createBreakerFactory(log, platform.clock, cfg),
    retry: { maxRetries: 2, initialDelayMs: 5, maxDelayMs: 50, multiplier: 2, jitter: false },
    audit: log,
  });
  const req = { runId: '20261121-msoac-chain', instructions: 'hi', cwd: '/tmp' };

  it('retries a 503 storm within one budget, then falls back to the next provider', async () => {
    server.script(
      'openai',
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
    );
    const r = await runChain(res(), [openai(), anthropic()], req);
    expect(r.result).toMatchObject({ agent: 'anthropic', status: 'success' });
    expect(r.retries).toBe(2);
    expect(server.requests.map((x) => x.protocol)).toEqual(['openai', 'openai', 'openai', 'anthropic']);
    expect(r.trail.map((s) => s.outcome)).toEqual(['retry', 'retry', 'failure', 'success']);
    expect(log.db.prepare('SELECT count(*) AS n FROM agent_calls').get()).toEqual({ n: 4 });
  });
  it('never retries a 400 and does not fall back from it', async () => {
    server.script('openai', { kind: 'status', status: 400 });
    const r = await runChain(res(), [openai(), anthropic()], req);
    expect(r.result).toMatchObject({ agent: 'openai', status: 'failure', errorClass: 'bad_request' });
    expect(server.requests).toHaveLength(1);
  });
  it('never retries a 401, and moves on to the next provider', async () => {
    server.script('openai', { kind: 'status', status: 401 });
    const r = await runChain(res(), [openai(), anthropic()], req);
    expect(r.result.agent).toBe('anthropic');
    expect(server.requests.map((x) => x.protocol)).toEqual(['openai', 'anthropic']);
    expect(r.retries).toBe(0);
  });
  it('honours Retry-After on the last provider of a chain', async () => {
    server.script('anthropic', { kind: 'status', status: 429, headers: { 'retry-after': '0.04' } });
    const t = Date.now();
    const r = await runChain(res(), [anthropic()], req);
    expect(r.result.status).toBe('success');
    expect(r.trail[0]?.reason).toContain('in 40 ms');
    expect(Date.now() - t).toBeGreaterThanOrEqual(35);
  });
  it('skips a provider whose breaker is open without calling it', async () => {
    const r0 = res();
    const b = r0.breaker('openai/gpt-test');
    for (let i = 0; i < 5; i++) b.failure(b.acquire() as never, 'e');
    const r = await runChain(r0, [openai(), anthropic()], req);
    expect(r.result.agent).toBe('anthropic');
    expect(r.trail[0]).toMatchObject({ agent: 'openai', outcome: 'rejected', errorClass: 'breaker_open' });
    expect(server.requests.map((x) => x.protocol)).toEqual(['anthropic']);
  });
  it('falls back from a hung CLI to the next agent', async () => {
    const hung = adapter(testAdapterDeps(), 'fake-claude', { kind: 'claude-code', command: FAKE_AGENT });
    const r = await runChain(res(), [hung, adapter(testAdapterDeps(), 'shell', { kind: 'shell' })], {
      runId: 'r',
      instructions: '#scenario:hang',
      command: 'echo rescued',
      cwd: repo.dir,
      deadlines: { firstOutputMs: 300 },
    });
    expect(r.result).toMatchObject({ agent: 'shell', status: 'success', output: 'rescued' });
    // A hang moves on at once: no retry of the hung agent while another agent is left.
    expect(r.trail.map((s) => `${s.agent}:${s.outcome}:${s.errorClass}`)).toEqual([
      'fake-claude:failure:timeout',
      'shell:success:null',
    ]);
  });
  it('throws ALL_PROVIDERS_UNAVAILABLE listing every agent when none can take the call', async () => {
    const missing = adapter(testAdapterDeps(), 'fake-cli', { kind: 'claude-code', command: 'not-installed-anywhere' });
    const nokey = adapter(testAdapterDeps(), 'openai', { kind: 'openai', model: 'm' });
    await expect(runChain(res(), [missing, nokey], req)).rejects.toMatchObject({
      code: 'MSO_ALL_PROVIDERS_UNAVAILABLE',
      agents: [
        { agent: 'fake-cli', available: false, reason: 'not-installed-anywhere not found on PATH' },
        { agent: 'openai', available: false, reason: 'OPENAI_API_KEY not set' },
      ],
    });
  });
});
