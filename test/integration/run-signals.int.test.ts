import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuditLog, type AuditLog } from '../../src/audit/index.js';
import { applyDecisionRequest } from '../../src/app/run-decide.js';
import { DECISION_REQUESTED, signalPollMs, watchRunSignals } from '../../src/app/run-signals.js';
import { nodePlatform } from '../../src/platform/index.js';
import { createHitlStore, type HitlStore } from '../../src/workspace/index.js';
import { until } from '../helpers/distributed.js';

// A decision asked for through the store by a process without the run's folder (issue 21): the coordinator's side,
// in process on a real SQLite store and item files. The e2e (distributed-store) drives the whole path on PostgreSQL.
const deps = nodePlatform();
const RUN = '20261127-msowd-signals';
let dir: string;
let log: AuditLog;
let store: HitlStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-signals-'));
  await mkdir(join(dir, 'locks'));
  log = openAuditLog(deps, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs'), env: {} });
  store = createHitlStore(deps, join(dir, RUN), (n) => join(dir, 'locks', n));
  for (const [node, kind] of [
    ['a', 'escalation'],
    ['m', 'manual_work'],
  ] as const)
    await store.create({
      run_id: RUN,
      kind,
      gate: 'H1',
      urgency: 'normal',
      title: `ask about ${node}`,
      brief: '',
      source: { node_id: node },
      evidence: [],
    });
});
afterEach(async () => {
  log.close();
  await rm(dir, { recursive: true, force: true });
});

const request = (item: string, decision: 'approved' | 'rejected', done = false): string =>
  JSON.stringify({ item, decision, by: 'elsewhere-person', note: `${decision} from elsewhere`, done });
const decided = (): Array<Record<string, unknown>> =>
  (
    log.db
      .prepare("SELECT node_id, payload FROM events WHERE run_id = ? AND type = 'hitl.decided' ORDER BY seq")
      .all(RUN) as Array<{ node_id: string; payload: string }>
  ).map((r) => ({ node: r.node_id, ...(JSON.parse(r.payload) as Record<string, unknown>) }));

describe('applyDecisionRequest (the coordinator applies a decision asked for through the store)', () => {
  it('decides the item as the asker, once; a manual item only with done; an unknown item or bad request is dropped', async () => {
    expect(await applyDecisionRequest(store, log, RUN, request('HITL-0001', 'rejected'))).toBe(true);
    expect(await store.get('HITL-0001')).toMatchObject({
      status: 'rejected',
      decided_by: 'elsewhere-person',
      note: 'rejected from elsewhere',
    });
    // The first decision stands.
    expect(await applyDecisionRequest(store, log, RUN, request('HITL-0001', 'approved'))).toBe(false);
    expect((await store.get('HITL-0001')).status).toBe('rejected');
    expect(await applyDecisionRequest(store, log, RUN, request('HITL-0002', 'approved'))).toBe(false);
    expect((await store.get('HITL-0002')).status).toBe('pending');
    expect(await applyDecisionRequest(store, log, RUN, request('HITL-0009', 'approved'))).toBe(false);
    expect(await applyDecisionRequest(store, log, RUN, '{"item":"HITL-0002","decision":"maybe"}')).toBe(false);
    expect(await applyDecisionRequest(store, log, RUN, 'not json')).toBe(false);
    expect(await applyDecisionRequest(store, log, RUN, request('HITL-0002', 'approved', true))).toBe(true);
    expect(decided()).toEqual([
      { node: 'a', item: 'HITL-0001', decision: 'rejected', by: 'elsewhere-person', note: 'rejected from elsewhere' },
      { node: 'm', item: 'HITL-0002', decision: 'approved', by: 'elsewhere-person', note: 'approved from elsewhere' },
    ]);
  });
});

describe('watchRunSignals with decision requests', () => {
  it('applies requests recorded before the watch started and after, and tells the waiting node', async () => {
    // A coordinator that stopped before it applied this one: the next watch applies it.
    log.appendEvent({
      runId: RUN,
      type: DECISION_REQUESTED,
      nodeId: 'a',
      payload: JSON.parse(request('HITL-0001', 'approved')),
    });
    const told: string[] = [];
    const signals = await watchRunSignals({
      deps: { env: { MSO_SIGNAL_POLL_MS: '50' } },
      log,
      runId: RUN,
      onCancel: () => undefined,
      onDecisionRequest: async (payload) => {
        await applyDecisionRequest(store, log, RUN, payload);
      },
    });
    signals.subscribe((node) => told.push(node));
    try {
      await until(() => decided().length === 1, 'the earlier request applied', 5_000);
      log.appendEvent({
        runId: RUN,
        type: DECISION_REQUESTED,
        nodeId: 'm',
        payload: JSON.parse(request('HITL-0002', 'approved', true)),
      });
      await until(() => told.includes('m'), 'the new request applied and its node told', 5_000);
    } finally {
      await signals.close();
    }
    // Its node is told too (the scheduler ignores a node it is not holding waiting, as in a coordinator's start).
    expect(told.at(-1)).toBe('m');
    expect((await store.list()).map((h) => h.status)).toEqual(['approved', 'approved']);
  });

  it('MSO_SIGNAL_POLL_MS takes a whole number of milliseconds, else it is refused naming the variable', () => {
    expect(signalPollMs({})).toBeUndefined();
    expect(signalPollMs({ MSO_SIGNAL_POLL_MS: '250' })).toBe(250);
    for (const bad of ['0', '-5', '1.5', 'soon', '99999999999'])
      expect(() => signalPollMs({ MSO_SIGNAL_POLL_MS: bad })).toThrow(/^invalid MSO_SIGNAL_POLL_MS: /);
  });
});
