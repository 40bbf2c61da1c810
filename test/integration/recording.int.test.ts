import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedactor, openAuditLog, type AuditLog } from '../../src/audit/index.js';
import { applyRecording, createRecordingLog } from '../../src/engine/recording-log.js';
import { nodePlatform } from '../../src/platform/index.js';

// A worker's audit records travel to the coordinator, which applies them once (issue 21): what a worker recorded is
// what lands in the real audit log, a repeated result writes nothing, and a blob the coordinator redacts further is
// renamed in the records that cite it.
const deps = nodePlatform();
const RUN = '20261127-msowd-rec';
let dir: string;
let log: AuditLog;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-rec-'));
  log = openAuditLog(deps, {
    file: join(dir, 'audit.db'),
    blobsDir: join(dir, 'blobs'),
    env: { API_KEY: 'sk-coordinator-secret' },
  });
});
afterEach(async () => {
  log.close();
  await rm(dir, { recursive: true, force: true });
});

async function workerRecording(text: string) {
  const rec = createRecordingLog(createRedactor({ env: {} }), () => new Date('2026-11-27T10:00:00Z'));
  const blob = await rec.log.putBlob(text, 'text/plain');
  rec.log.recordAttempt({ attemptId: 'att-1', runId: RUN, nodeId: 'n', status: 'running' });
  rec.log.appendEvent({ runId: RUN, type: 'node.attempt', nodeId: 'n', payload: { attempt_id: 'att-1' } });
  rec.log.recordAttempt({ attemptId: 'att-1', runId: RUN, status: 'success', costUsd: 0.5 });
  rec.log.appendEvent({ runId: RUN, type: 'agent.response', nodeId: 'n', payload: { blob } });
  rec.log.recordSnapshot({
    runId: RUN,
    nodeId: 'n',
    nodeType: 'commit',
    status: 'committed',
    agentRole: 'execution',
    phase: 2,
    treeHashRef: null,
  });
  return { blob, recording: rec.take() };
}

const rows = (sql: string): Array<Record<string, unknown>> =>
  log.db.prepare(sql).all() as Array<Record<string, unknown>>;

describe('applyRecording', () => {
  it('writes what the worker recorded, in order, with the worker clock, and the applied marker', async () => {
    const { blob, recording } = await workerRecording('plain output');
    expect(await applyRecording(log, RUN, 'n', `${RUN}.n.1`, recording, { job_id: `${RUN}.n.1` })).toBe(true);
    expect(rows(`SELECT type, at FROM events WHERE run_id = '${RUN}' ORDER BY seq`)).toEqual([
      { type: 'node.attempt', at: '2026-11-27T10:00:00.000Z' },
      { type: 'agent.response', at: '2026-11-27T10:00:00.000Z' },
      { type: 'node.job_applied', at: expect.any(String) },
    ]);
    expect(rows(`SELECT status, cost_usd FROM attempts WHERE attempt_id = 'att-1'`)).toEqual([
      { status: 'success', cost_usd: 0.5 },
    ]);
    expect(rows(`SELECT count(*) AS n FROM node_snapshots WHERE run_id = '${RUN}'`)).toEqual([{ n: 1 }]);
    expect((await log.getBlob(blob)).toString()).toBe('plain output');
  });

  it('applies a job once: the same result again writes nothing', async () => {
    const { recording } = await workerRecording('plain output');
    await applyRecording(log, RUN, 'n', `${RUN}.n.1`, recording, {});
    const before = rows(`SELECT count(*) AS n FROM events`).concat(rows(`SELECT count(*) AS n FROM node_snapshots`));
    expect(await applyRecording(log, RUN, 'n', `${RUN}.n.1`, recording, {})).toBe(false);
    expect(rows(`SELECT count(*) AS n FROM events`).concat(rows(`SELECT count(*) AS n FROM node_snapshots`))).toEqual(
      before,
    );
  });

  it('renames a blob the coordinator redacts further in the records that cite it', async () => {
    const { blob, recording } = await workerRecording('the key is sk-coordinator-secret');
    await applyRecording(log, RUN, 'n', `${RUN}.n.1`, recording, {});
    const cited = rows(
      `SELECT json_extract(payload, '$.blob') AS b FROM events WHERE type = 'agent.response' AND run_id = '${RUN}'`,
    )[0]?.['b'] as string;
    expect(cited).not.toBe(blob);
    const stored = (await log.getBlob(cited)).toString();
    expect(stored).not.toContain('sk-coordinator-secret');
    expect(stored).toContain('the key is');
  });
});
