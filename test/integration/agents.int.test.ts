import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adapter, alive, FAKE_AGENT, pidsIn, tempRepo, testAdapterDeps } from '../helpers/agents.js';
import { startFakeLlmServer, type FakeLlmServer } from '../helpers/fake-llm-server.js';

let repo: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => {
  repo = await tempRepo();
});
afterEach(async () => {
  await repo.cleanup();
});

const req = (instructions: string, over: Record<string, unknown> = {}) => ({
  runId: '20261121-msoac-test',
  instructions,
  cwd: repo.dir,
  ...over,
});

describe('CLI adapters against the fake agent CLI', () => {
  it.each([
    ['claude-code', 'reported', 0.0042],
    ['codex', 'estimated', null],
    ['gemini', 'estimated', null],
  ] as const)(
    '%s: succeeds, counts usage, labels cost %s, and takes changed files from git',
    async (kind, source, usd) => {
      const a = adapter(testAdapterDeps(), `fake-${kind}`, { kind, command: FAKE_AGENT, model: 'fake-1' });
      expect(await a.availability()).toMatchObject({ available: true });
      const events: string[] = [];
      const r = await a.run(req('add a sum function'), (e) => events.push(e.type));
      expect(r.status).toBe('success');
      expect(r.errorClass).toBeNull();
      expect(r.changedFiles).toEqual(['src/sum.ts']);
      expect(r.usage.output).toBe(150);
      expect(r.cost.source).toBe(source);
      if (usd !== null) expect(r.cost.usd).toBe(usd);
      else expect(r.cost.usd).toBeGreaterThan(0);
      expect(r.sessionId).toBeTruthy();
      expect(r.evidence.transcriptSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.evidence.headBefore).toMatch(/^[0-9a-f]{40}$/);
      // Claude Code says its version in the init frame; the others are asked `--version` once per adapter.
      expect(r.evidence.cliVersion).toBe(kind === 'claude-code' ? 'fake-0.1' : 'fake-agent 0.1.0');
      expect(events).toEqual(expect.arrayContaining(['started', 'message', 'tool_use', 'usage']));
    },
  );
  it('asks a CLI for its version once, and records none when it cannot tell', async () => {
    const deps = testAdapterDeps({}, { FAKE_AGENT_PIDFILE: join(repo.dir, 'pids'), FAKE_AGENT_VERSION: 'codex 9.9' });
    const a = adapter(deps, 'x', {
      kind: 'codex',
      command: FAKE_AGENT,
      env_allow: ['FAKE_AGENT_PIDFILE', 'FAKE_AGENT_VERSION'],
    });
    expect((await a.run(req('one'))).evidence.cliVersion).toBe('codex 9.9');
    expect((await a.run(req('two'))).evidence.cliVersion).toBe('codex 9.9');
    expect(await pidsIn(join(repo.dir, 'pids'))).toHaveLength(3); // two runs and one --version
    const mute = adapter(testAdapterDeps({}, { FAKE_AGENT_VERSION: '' }), 'g', {
      kind: 'gemini',
      command: FAKE_AGENT,
      env_allow: ['FAKE_AGENT_VERSION'],
    });
    expect((await mute.run(req('three'))).evidence.cliVersion).toBeNull();
  });
  it('tolerates and counts garbage and partial lines', async () => {
    const r = await adapter(testAdapterDeps(), 'c', { kind: 'claude-code', command: FAKE_AGENT }).run(
      req('#scenario:garbage'),
    );
    expect(r.status).toBe('success');
    expect(r.output).toBe('done despite noise');
    expect(r.evidence.garbageLines).toBe(2);
  });
  it('closes stdin so an agent that reads it to EOF does not hang', async () => {
    const r = await adapter(testAdapterDeps(), 'c', { kind: 'claude-code', command: FAKE_AGENT }).run(
      req('#scenario:wait-stdin'),
    );
    expect(r.status).toBe('success');
  });
  it('passes the pre-assigned session id and never the nesting guard variable', async () => {
    const deps = testAdapterDeps({}, { CLAUDECODE: '1' });
    const r = await adapter(deps, 'c', { kind: 'claude-code', command: FAKE_AGENT, env_allow: ['CLAUDECODE'] }).run(
      req('hi', { sessionId: '11111111-2222-4333-8444-555555555555' }),
    );
    expect(r.status).toBe('success');
    expect(r.sessionId).toBe('11111111-2222-4333-8444-555555555555');
  });
  it('ends a hang at the first-output deadline as timeout, killing the whole process group', async () => {
    const pidfile = join(repo.dir, 'pids');
    const a = adapter(testAdapterDeps(), 'c', {
      kind: 'claude-code',
      command: FAKE_AGENT,
      env: { FAKE_AGENT_PIDFILE: pidfile },
    });
    // Long enough for node to start the fake and its child on a loaded machine.
    const r = await a.run(req('#scenario:hang', { deadlines: { firstOutputMs: 2_000 } }));
    expect(r).toMatchObject({ status: 'timeout', errorClass: 'timeout' });
    const pids = await pidsIn(pidfile);
    expect(pids.length).toBe(2);
    await new Promise((res) => setTimeout(res, 100));
    expect(pids.filter(alive)).toEqual([]);
  });
  it('says how long a shell step had when its deadline ended it', async () => {
    const sh = adapter(testAdapterDeps(), 'sh', { kind: 'shell' });
    const total = await sh.run(req('', { command: 'sleep 5', deadlines: { totalMs: 300 } }));
    expect(total).toMatchObject({
      status: 'timeout',
      errorMessage: "timed out after 0.3 s (its total deadline; a node's is its timeout_s)",
    });
    const quiet = await sh.run(req('', { command: 'sleep 5', deadlines: { firstOutputMs: 300 } }));
    expect(quiet).toMatchObject({
      status: 'timeout',
      errorMessage: 'no output within 0.3 s (its first-output deadline: resilience.deadlines.first_output_ms)',
    });
  });
  it('escalates to SIGKILL when the agent ignores SIGTERM', async () => {
    const pidfile = join(repo.dir, 'pids');
    const a = adapter(testAdapterDeps(), 'c', {
      kind: 'claude-code',
      command: FAKE_AGENT,
      env: { FAKE_AGENT_PIDFILE: pidfile },
    });
    const r = await a.run(req('#scenario:hang-ignore-term', { deadlines: { inactivityMs: 300 } }));
    expect(r).toMatchObject({ status: 'timeout', errorClass: 'stalled_stream' });
    await new Promise((res) => setTimeout(res, 100));
    expect((await pidsIn(pidfile)).filter(alive)).toEqual([]);
  });
  it('fails with max_turns and exit 1 when the turn limit is reached', async () => {
    const r = await adapter(testAdapterDeps(), 'c', { kind: 'claude-code', command: FAKE_AGENT, max_turns: 2 }).run(
      req('#scenario:max-turns'),
    );
    expect(r).toMatchObject({ status: 'failure', errorClass: 'max_turns', exitCode: 1 });
  });
  it('fails with class process when the agent dies without a result', async () => {
    const r = await adapter(testAdapterDeps(), 'c', { kind: 'claude-code', command: FAKE_AGENT }).run(
      req('#scenario:crash'),
    );
    expect(r).toMatchObject({ status: 'failure', errorClass: 'process', exitCode: 1 });
    expect(r.evidence.stderrTail).toContain('segmentation fault');
  });
  it('ends an agent that lingers after its result and still counts the result', async () => {
    const pidfile = join(repo.dir, 'pids');
    const r = await adapter(testAdapterDeps(), 'c', {
      kind: 'claude-code',
      command: FAKE_AGENT,
      env: { FAKE_AGENT_PIDFILE: pidfile },
    }).run(req('#scenario:linger'));
    expect(r.status).toBe('success');
    expect(r.evidence.lingerKilled).toBe(true);
    expect((await pidsIn(pidfile)).filter(alive)).toEqual([]);
  });
  it('classifies a rejected rate limit from the result frame', async () => {
    const r = await adapter(testAdapterDeps(), 'c', { kind: 'claude-code', command: FAKE_AGENT }).run(
      req('#scenario:rate-limited'),
    );
    expect(r).toMatchObject({ status: 'failure', errorClass: 'rate_limit' });
  });
  it('codex: turn.failed with exit 0 is a failure', async () => {
    const r = await adapter(testAdapterDeps(), 'x', { kind: 'codex', command: FAKE_AGENT }).run(
      req('#scenario:turn-failed-exit0'),
    );
    expect(r).toMatchObject({ status: 'failure', errorClass: 'server_error', exitCode: 0 });
  });
  it('gemini: an error event fails the run even when the result says success', async () => {
    const r = await adapter(testAdapterDeps(), 'g', { kind: 'gemini', command: FAKE_AGENT }).run(
      req('#scenario:gemini-error-then-success'),
    );
    expect(r).toMatchObject({ status: 'failure', errorClass: 'max_turns' });
  });
  it('reports a missing binary as unavailable', async () => {
    const a = adapter(testAdapterDeps(), 'c', { kind: 'claude-code', command: 'definitely-not-installed-xyz' });
    expect(await a.availability()).toMatchObject({ available: false });
    expect(await a.run(req('x'))).toMatchObject({ status: 'failure', errorClass: 'unavailable' });
  });
  it.each(['claude-code', 'codex'] as const)(
    '%s: cancels a running agent and ends its group, asking nothing more of the CLI',
    async (kind) => {
      const pidfile = join(repo.dir, 'pids');
      const ctl = new AbortController();
      // Cancelled once the agent and its child are both running (not after a fixed delay: a loaded machine starts
      // node slowly).
      const cancelWhenRunning = async (): Promise<void> => {
        while ((await pidsIn(pidfile)).length < 2) await new Promise((res) => setTimeout(res, 25));
        ctl.abort();
      };
      const r = await adapter(testAdapterDeps(), 'c', {
        kind,
        command: FAKE_AGENT,
        env: { FAKE_AGENT_PIDFILE: pidfile },
      }).run(req('#scenario:hang', { signal: ctl.signal }), (e) => {
        if (e.type === 'started') void cancelWhenRunning();
      });
      expect(r).toMatchObject({ status: 'cancelled', errorClass: 'cancelled' });
      await new Promise((res) => setTimeout(res, 100));
      const pids = await pidsIn(pidfile);
      expect(pids.filter(alive)).toEqual([]);
      expect(pids).toHaveLength(2); // the agent and the child it started; no `--version` probe after a cancel
    },
  );
});

describe('shell and manual adapters', () => {
  it('runs a command with an allow-listed environment only', async () => {
    const deps = testAdapterDeps({}, { MY_SECRET_TOKEN: 'do-not-leak', VISIBLE_NAME: 'ok' });
    const r = await adapter(deps, 'shell', { kind: 'shell', env_allow: ['VISIBLE_NAME'] }).run(
      req('', { command: 'echo "[$MY_SECRET_TOKEN][$VISIBLE_NAME]" && echo x > out.txt' }),
    );
    expect(r.status).toBe('success');
    expect(r.output).toContain('[][ok]');
    expect(r.changedFiles).toEqual(['out.txt']);
  });
  it('fails with the exit code of a failing command', async () => {
    const r = await adapter(testAdapterDeps(), 'shell', { kind: 'shell' }).run(
      req('', { command: 'echo boom >&2; exit 3' }),
    );
    expect(r).toMatchObject({ status: 'failure', errorClass: 'process', exitCode: 3 });
    expect(r.errorMessage).toContain('boom');
    // Nothing on stderr: the exit code alone, no dangling colon.
    const quiet = await adapter(testAdapterDeps(), 'shell', { kind: 'shell' }).run(req('', { command: 'exit 4' }));
    expect(quiet.errorMessage).toBe('exit 4');
  });
  it('manual: asks for a person', async () => {
    const r = await adapter(testAdapterDeps(), 'manual', { kind: 'manual' }).run(req('review the migration plan'));
    expect(r).toMatchObject({ status: 'blocked', errorClass: 'manual_required', requiresManualConfirmation: true });
  });
});

describe('LLM adapters against the loopback fake server', () => {
  let server: FakeLlmServer;
  beforeAll(async () => {
    server = await startFakeLlmServer();
  });
  afterAll(async () => {
    await server.close();
  });
  const llm = (kind: 'openai' | 'anthropic' | 'google' | 'openai-compatible', over: Record<string, unknown> = {}) =>
    adapter(
      testAdapterDeps(
        {},
        {
          OPENAI_API_KEY: 'sk-test-aaaaaaaaaaaaaaaaaaaa',
          ANTHROPIC_API_KEY: 'a-test',
          GOOGLE_GENERATIVE_AI_API_KEY: 'g-test',
        },
      ),
      kind,
      {
        kind,
        model: 'gpt-test',
        base_url: kind === 'google' ? `${server.url}/v1beta` : `${server.url}/v1`,
        ...over,
      },
    );

  it.each(['openai', 'anthropic', 'google', 'openai-compatible'] as const)(
    '%s: streams an answer with usage and an estimated cost',
    async (kind) => {
      const r = await llm(kind).run(req('say hello'));
      expect(r.status).toBe('success');
      expect(r.output).toBe('hello from the fake model');
      expect(r.usage).toMatchObject({ input: 12, output: 7 });
      expect(r.cost).toEqual({ usd: (12 * 1 + 7 * 2) / 1e6, source: 'estimated' });
      expect(r.evidence.firstOutputMs).not.toBeNull();
    },
  );
  it('reports 429 as rate_limit with the Retry-After delay', async () => {
    server.script('openai', { kind: 'status', status: 429, headers: { 'retry-after': '2' } });
    const r = await llm('openai').run(req('x'));
    expect(r).toMatchObject({ status: 'failure', errorClass: 'rate_limit', retryAfterMs: 2000 });
  });
  it.each([
    [503, 'server_error'],
    [500, 'server_error'],
    [401, 'auth'],
    [400, 'bad_request'],
  ])('reports HTTP %i as %s', async (status, cls) => {
    server.script('anthropic', { kind: 'status', status });
    expect(await llm('anthropic').run(req('x'))).toMatchObject({ status: 'failure', errorClass: cls });
  });
  it('reports an exhausted quota as quota', async () => {
    server.script('openai', {
      kind: 'status',
      status: 429,
      code: 'insufficient_quota',
      message: 'You exceeded your current quota',
    });
    expect(await llm('openai').run(req('x'))).toMatchObject({ errorClass: 'quota' });
  });
  it('times out on a slow first token and on a stalled stream', async () => {
    server.script('openai', { kind: 'slow_first', delayMs: 2_000 });
    expect(await llm('openai').run(req('x', { deadlines: { firstOutputMs: 200 } }))).toMatchObject({
      status: 'timeout',
      errorClass: 'timeout',
    });
    server.script('anthropic', { kind: 'stall' });
    const stalled = await llm('anthropic').run(req('x', { deadlines: { inactivityMs: 200 } }));
    expect(stalled).toMatchObject({ status: 'timeout', errorClass: 'stalled_stream', output: 'partial ' });
  });
  it('is unavailable without a key or a model', async () => {
    const noKey = adapter(testAdapterDeps(), 'openai', { kind: 'openai', model: 'm' });
    expect(await noKey.availability()).toMatchObject({ available: false, reason: 'OPENAI_API_KEY not set' });
    const noModel = adapter(testAdapterDeps({}, { OPENAI_API_KEY: 'x' }), 'openai', { kind: 'openai' });
    expect((await noModel.availability()).reason).toMatch(/no model/);
  });
});
