import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuditLog, openAuditReader, type AuditLog } from '../../src/audit/index.js';
import { MentalModelBundleSchema, PolicySchema, type ExecutionPlan, type HitlItem } from '../../src/contracts/index.js';
import { detect, nodeKindOf, type Finding } from '../../src/observe/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { fakeClock } from '../../src/platform/testing/index.js';
import { auditStores, pgSchema } from '../helpers/pg.js';

const policy = PolicySchema.parse({ observability: { bottleneck_min_ms: 1_000 } });
let dir: string;
let log: AuditLog;
const clock = fakeClock('2026-11-21T08:00:00.000Z');
const platform = nodePlatform();
/** Set while the suite runs against PostgreSQL (a fresh schema per test). */
let pgUrl: string | undefined;

const plan: ExecutionPlan = {
  run_id: '20261121-msowd-x',
  bundle_ref: 'b',
  fallback_rules: [],
  execution_graph: {
    a: {
      type: 'commit',
      bundle_ref: 'b',
      parent_refs: [],
      tree_hash_type: 'sha256',
      tree_hash_ref: null,
      chart_ids: [],
      persona: 'arch',
    },
    b: {
      type: 'commit',
      bundle_ref: 'b',
      parent_refs: ['a'],
      tree_hash_type: 'sha256',
      tree_hash_ref: null,
      chart_ids: [],
      persona: 'quill',
      timeout_s: 30,
    },
    c: {
      type: 'commit',
      bundle_ref: 'b',
      parent_refs: ['b'],
      tree_hash_type: 'sha256',
      tree_hash_ref: null,
      chart_ids: [],
      persona: 'critic',
    },
  },
};

/** One healthy run: three nodes, a few seconds each, cost around $0.01 per node. */
function healthyRun(n: number, extra: { slowNode?: string; expensive?: boolean; failB?: boolean } = {}): string {
  const runId = `2026112${n % 10}-msowd-run${n}`;
  let t = Date.parse('2026-11-21T00:00:00Z') + n * 3_600_000;
  for (const node of ['a', 'b', 'c']) {
    const dur = node === extra.slowNode ? 60_000 : 2_000;
    clock.set(new Date(t).toISOString());
    log.appendEvent({ runId, type: 'node.state', nodeId: node, payload: { state: 'running' } });
    clock.set(new Date(t + dur).toISOString());
    log.appendEvent({ runId, type: 'node.state', nodeId: node, payload: { state: 'done' } });
    const failing = extra.failB && node === 'b';
    log.recordAttempt({
      attemptId: `att-${n}-${node}`,
      runId,
      nodeId: node,
      persona: plan.execution_graph[node]?.persona ?? null,
      agent: 'fake-claude',
      provider: 'anthropic',
      model: 'm',
      status: failing ? 'timeout' : 'success',
      startedAt: new Date(t).toISOString(),
      endedAt: new Date(t + dur).toISOString(),
      durationMs: dur,
      costUsd: extra.expensive && node === 'b' ? 0.5 : 0.01 + (n % 3) * 0.001,
      costSource: 'reported',
      ...(failing
        ? {
            errorClass: 'timeout',
            errorMessage: `no output after ${30_000 + n} ms in /tmp/wt-${n}`,
            filesChanged: ['src/flaky.ts'],
          }
        : {}),
    });
    t += dur;
  }
  return runId;
}

const run = (runId: string, hitl: HitlItem[] = []): Finding[] => {
  const reader = openAuditReader(platform, join(dir, 'audit.db'), { url: pgUrl });
  try {
    return detect({
      db: reader.raw,
      runId,
      plan,
      bundle: null,
      policy,
      now: new Date('2026-11-25T00:00:00Z'),
      hitl,
      runError: null,
      designKey: 'key-1',
    });
  } finally {
    void reader.close();
  }
};
const kinds = (f: Finding[]) => f.map((x) => x.kind).sort();

describe.each(auditStores())('detectors on seeded histories (%s)', (store) => {
  let schema: ReturnType<typeof pgSchema> | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mso-obs-'));
    if (store === 'postgres') {
      await platform.preparePostgres?.();
      schema = pgSchema();
      pgUrl = schema.url;
    }
    log = openAuditLog(
      { ...platform, clock },
      { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs'), url: pgUrl },
    );
  });
  afterEach(async () => {
    log.close();
    schema?.drop();
    schema = null;
    pgUrl = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  it('find nothing in a healthy history', () => {
    const ids = Array.from({ length: 6 }, (_, i) => healthyRun(i));
    for (const id of ids) expect(run(id)).toEqual([]);
  });
  it('repeated failure: the same fingerprint in 4 runs fires, with a plan proposal raising the timeout and the rows behind it', () => {
    for (let i = 0; i < 3; i++) healthyRun(i, { failB: true });
    const early = run(healthyRun(10));
    expect(kinds(early)).toEqual([]);
    const last = run(healthyRun(11, { failB: true }));
    const f = last.find((x) => x.kind === 'repeated_failure');
    expect(f?.message).toMatch(/happened 4 times in 4 run\(s\), at node b \(quill\)/);
    expect(f?.evidence).toEqual(['attempts:att-0-b', 'attempts:att-1-b', 'attempts:att-2-b', 'attempts:att-11-b']);
    expect(f?.proposal).toMatchObject({
      target: 'plan',
      patch: [{ op: 'replace', path: '/execution_graph/b/timeout_s', value: 60 }],
      scope: { design_key: 'key-1', node_id: 'b' },
    });
  });
  it('does not fire below the threshold (2 runs)', () => {
    healthyRun(0, { failB: true });
    expect(run(healthyRun(1, { failB: true })).filter((x) => x.kind === 'repeated_failure')).toEqual([]);
  });
  it('cost anomaly: an outlier against its own history (robust z-score)', () => {
    for (let i = 0; i < 6; i++) healthyRun(i);
    const f = run(healthyRun(7, { expensive: true }));
    expect(f.map((x) => x.kind)).toContain('cost_anomaly');
    expect(f.find((x) => x.kind === 'cost_anomaly' && x.node_id === 'b')?.proposal).toMatchObject({
      target: 'plan',
      patch: [{ path: '/execution_graph/b/budget_usd' }],
    });
  });
  it('bottleneck by time: a straggler node over 60% of the critical path, named with its persona', () => {
    const f = run(healthyRun(3, { slowNode: 'b' }));
    expect(f).toEqual([
      expect.objectContaining({
        kind: 'bottleneck',
        node_id: 'b',
        message: expect.stringMatching(/node b \(quill\) took 60 s, 94% of the critical path/),
      }),
    ]);
  });
  it('queue starvation: nodes held back by a limit yield one proposal raising that limit in policy.yaml', () => {
    // root, then x1..x3 at once; only two fit, so x3 waits 10 s for a slot and runs 10 s.
    const node = (parents: string[], extra: Record<string, unknown>) => ({
      type: 'commit' as const,
      bundle_ref: 'b',
      parent_refs: parents,
      tree_hash_type: 'sha256' as const,
      tree_hash_ref: null,
      chart_ids: [],
      ...extra,
    });
    // `lag`: how long after root finished x1 and x2 took their slots (the same millisecond, or a little later).
    const seed = (runId: string, extra: Record<string, unknown>, lag = 0) => {
      const at = (s: number) => clock.set(new Date(Date.parse('2026-11-22T00:00:00Z') + s * 1000).toISOString());
      const state = (id: string, state: string, s: number) => {
        at(s);
        log.appendEvent({ runId, type: 'node.state', nodeId: id, payload: { state } });
      };
      state('root', 'running', 0);
      state('root', 'done', 2);
      state('x1', 'running', 2 + lag);
      state('x2', 'running', 2 + lag);
      state('x1', 'done', 12);
      state('x2', 'done', 12);
      state('x3', 'running', 12);
      state('x3', 'done', 22);
      return {
        ...plan,
        execution_graph: {
          root: node([], {}),
          x1: node(['root'], extra),
          x2: node(['root'], extra),
          x3: node(['root'], extra),
        },
      } as ExecutionPlan;
    };
    const detectWith = (runId: string, p: ExecutionPlan, pol: typeof policy) => {
      const reader = openAuditReader(platform, join(dir, 'audit.db'), { url: pgUrl });
      try {
        return detect({
          db: reader.raw,
          runId,
          plan: p,
          bundle: null,
          policy: pol,
          now: new Date('2026-11-25T00:00:00Z'),
          hitl: [],
          runError: null,
          designKey: 'k',
        });
      } finally {
        void reader.close();
      }
    };
    const byLane = PolicySchema.parse({
      observability: { bottleneck_min_ms: 1_000 },
      agents: { 'fake-claude': { kind: 'claude-code', concurrency: 2 } },
    });
    const starved = (f: Finding[]) => f.filter((x) => x.kind === 'queue_starvation');
    const lane = detectWith('20261122-msowd-lane', seed('20261122-msowd-lane', { agent: 'fake-claude' }), byLane);
    expect(starved(lane)).toEqual([
      expect.objectContaining({
        kind: 'queue_starvation',
        node_id: 'x3',
        message:
          "node x3 waited up to 10 s for a slot after their parents finished, held by agent fake-claude's concurrency (2): concurrency starvation",
        pattern: 'starvation:agent:fake-claude',
        proposal: expect.objectContaining({
          target: 'policy',
          patch: [{ op: 'replace', path: '/agents/fake-claude/concurrency', value: 4 }],
        }),
      }),
    ]);
    const late = detectWith('20261122-msowd-late', seed('20261122-msowd-late', { agent: 'fake-claude' }, 0.05), byLane);
    expect(starved(late).map((f) => f.pattern)).toEqual(['starvation:agent:fake-claude']);
    const byRun = PolicySchema.parse({
      observability: { bottleneck_min_ms: 1_000 },
      run_policy: { max_concurrency: 2 },
    });
    const run2 = detectWith('20261122-msowd-run', seed('20261122-msowd-run', {}), byRun);
    expect(starved(run2).map((f) => [f.kind, f.pattern, f.proposal?.patch])).toEqual([
      ['queue_starvation', 'starvation:run', [{ op: 'replace', path: '/run_policy/max_concurrency', value: 4 }]],
    ]);
  });
  it('unstable provider: a breaker opening 3 times within a day', () => {
    const id = healthyRun(0);
    clock.set('2026-11-24T12:00:00Z');
    for (let i = 0; i < 3; i++) {
      log.recordBreakerEvent({ breaker: 'openai/m', toState: 'open', fromState: 'closed' });
      log.recordBreakerEvent({ breaker: 'openai/m', toState: 'closed', fromState: 'half_open' });
    }
    log.recordBreakerEvent({ breaker: 'anthropic/m', toState: 'open', fromState: 'closed' });
    expect(run(id).map((x) => `${x.kind}:${x.message}`)).toEqual([
      'unstable_provider:breaker openai/m opened 3 times in 24 h (flapping)',
    ]);
  });
  it('human deferral: an undecided item older than the policy age, and a node escalated twice — never from digits in notes', () => {
    const id = healthyRun(1);
    const item = (n: number, created: string, status: HitlItem['status']): HitlItem => ({
      id: `HITL-000${n}`,
      run_id: id,
      kind: 'escalation',
      gate: 'H1',
      urgency: 'normal',
      title: `note 1 true yes manual ${n}`,
      brief: '1 1 1',
      source: { node_id: 'c' },
      evidence: [],
      options: [],
      status,
      created_at: created,
      decided_at: null,
      decided_by: null,
      note: '1',
    });
    expect(run(id, [item(1, '2026-11-24T20:00:00Z', 'pending')])).toEqual([]);
    const f = run(id, [item(1, '2026-11-20T00:00:00Z', 'approved'), item(2, '2026-11-22T00:00:00Z', 'pending')]);
    expect(kinds(f)).toEqual(['deferral_loop', 'stale_hitl']);
  });
  it('error hotspot: a file touched by 2 failed attempts', () => {
    healthyRun(0, { failB: true });
    const f = run(healthyRun(1, { failB: true }));
    expect(f.find((x) => x.kind === 'error_hotspot')?.message).toBe('src/flaky.ts was touched by 2 failed attempts');
  });
  it('retry spike: judged from 5 finished attempts, cancellations not counted; 20% warning, 50% critical', () => {
    const id = healthyRun(2);
    const attempt = (attemptId: string, extra: Partial<Parameters<typeof log.recordAttempt>[0]> = {}): void =>
      void log.recordAttempt({ attemptId, runId: id, nodeId: 'b', status: 'success', ...extra });
    const spike = () => run(id).find((x) => x.kind === 'retry_spike');
    attempt('att-retry-1', { isRetry: true, attemptNo: 2 });
    // 1 of 4: too few attempts to call it a spike, and a cancelled attempt is no evidence either way.
    expect(spike()).toBeUndefined();
    attempt('att-cancelled', { status: 'cancelled', errorClass: 'interrupted' });
    expect(spike()).toBeUndefined();
    attempt('att-extra', { nodeId: 'c' });
    const warning = spike();
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toMatch(/1 of 5 finished attempts .*from 5 attempts up/);
    // The retries followed no failure a longer backoff would wait out: no backoff proposal.
    expect(warning?.proposal).toBeNull();
    for (const n of [2, 3, 4]) attempt(`att-retry-${n}`, { isRetry: true, attemptNo: n + 1 });
    expect(spike()?.severity).toBe('critical');
    attempt('att-limited', { status: 'failure', errorClass: 'rate_limit', agent: 'fake-claude', isRetry: true });
    expect(spike()?.proposal?.summary).toMatch(/back off longer/);
  });
  it("proposes only settings that apply to the node kind: none of an agent's for a shell command or a person", () => {
    const node = (extra: Record<string, unknown>) => ({
      type: 'commit' as const,
      bundle_ref: 'b',
      parent_refs: [],
      tree_hash_type: 'sha256' as const,
      tree_hash_ref: null,
      chart_ids: [],
      persona: 'arch',
      ...extra,
    });
    const mixed: ExecutionPlan = {
      ...plan,
      execution_graph: {
        sh: node({ command: 'make' }),
        person: node({ agent: 'manual' }),
        llm: node({ agent: 'fake-claude' }),
      },
    };
    const bundle = MentalModelBundleSchema.parse({
      run_id: plan.run_id,
      domain: 'd',
      bundle_ref: 'b',
      local_charts: ['sh', 'person', 'llm'].map((id) => ({ id: `chart_${id}`, name: id, model_id: 'divergent' })),
      node_chart_map: { sh: ['chart_sh'], person: ['chart_person'], llm: ['chart_llm'] },
      output_contract: {},
      execution_checkpoints: { stage: 'preflight' },
    });
    const fail = (runId: string, nodeId: string, agent: string, errorClass: string): void =>
      void log.recordAttempt({
        attemptId: `att-${runId}-${nodeId}`,
        runId,
        nodeId,
        persona: 'arch',
        agent,
        status: 'failure',
        errorClass,
        errorMessage: `${nodeId} broke`,
      });
    const runs = Array.from({ length: 4 }, (_, n) => `2026112${n}-msowd-mixed${n}`);
    for (const r of runs) {
      fail(r, 'sh', 'shell', 'network');
      fail(r, 'person', 'manual', 'timeout');
      fail(r, 'llm', 'fake-claude', 'process');
    }
    const reader = openAuditReader(platform, join(dir, 'audit.db'), { url: pgUrl });
    const found = detect({
      db: reader.raw,
      runId: runs[3] as string,
      plan: mixed,
      bundle,
      policy: PolicySchema.parse({ fallback_chains: { default: ['shell', 'fake-claude', 'manual'] } }),
      now: new Date('2026-11-25T00:00:00Z'),
      hitl: [],
      runError: null,
      designKey: 'key-1',
    });
    void reader.close();
    const byNode = new Map(found.filter((f) => f.kind === 'repeated_failure').map((f) => [f.node_id, f.proposal]));
    expect([...byNode.keys()].sort()).toEqual(['llm', 'person', 'sh']);
    // A network failure of a shell command: no fallback chain reroute, no mental model.
    expect(byNode.get('sh')).toBeNull();
    // A person who did not answer in time: no timeout, model or prompt change makes them answer.
    expect(byNode.get('person')).toBeNull();
    expect(byNode.get('llm')).toMatchObject({ target: 'mental_model', scope: { node_id: 'llm' } });
    expect(nodeKindOf({ plan: mixed, policy }, 'sh', null)).toBe('shell');
    expect(nodeKindOf({ plan: mixed, policy }, 'person', null)).toBe('human');
    expect(nodeKindOf({ plan: mixed, policy }, null, 'fake-claude')).toBe('agent');
  });
});
