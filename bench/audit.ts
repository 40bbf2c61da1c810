// Sustained audit-log write throughput: single-event transactions vs batches, and the DB size per 100,000 events;
// then the same writes on the PostgreSQL store (MSO_TEST_PG_URL, default the local one; skipped when unreachable),
// as ratios against the SQLite figures of the same run.
// Run: npm run bench:audit   (a benchmark, not a test: it prints figures)
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditLog } from '../src/audit/index.js';
import { nodePlatform } from '../src/platform/index.js';

const deps = nodePlatform();
const N_SINGLE = Number(process.env['BENCH_SINGLE'] ?? 20_000);
const N_BATCH = Number(process.env['BENCH_BATCH'] ?? 100_000);
const BATCH = 1_000;
const env = { OPENAI_API_KEY: 'sk-bench-not-a-real-key-000000' };

function event(i: number) {
  return {
    runId: '20261121-msoal-bench',
    type: i % 5 === 0 ? 'attempt.finished' : 'node.progress',
    nodeId: `T${i % 50}`,
    payload: { i, status: 'ok', note: 'progress update from agent', tokens: i % 997 },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mso-bench-audit-'));
  try {
    const single = openAuditLog(deps, { file: join(dir, 'single.db'), blobsDir: join(dir, 'blobs'), env });
    let t = performance.now();
    for (let i = 0; i < N_SINGLE; i++) single.appendEvent(event(i));
    const singleMs = performance.now() - t;
    single.close();

    const batched = openAuditLog(deps, { file: join(dir, 'batched.db'), blobsDir: join(dir, 'blobs'), env });
    t = performance.now();
    for (let i = 0; i < N_BATCH; i += BATCH)
      batched.appendEvents(Array.from({ length: BATCH }, (_, j) => event(i + j)));
    const batchMs = performance.now() - t;
    batched.db.pragma('wal_checkpoint(TRUNCATE)');
    batched.close();
    const size = (await stat(join(dir, 'batched.db'))).size;

    const perSec = (n: number, ms: number): string => Math.round((n / ms) * 1000).toLocaleString('en-US');
    console.log(`audit bench (node ${process.versions.node}, ${new Date().toISOString()})`);
    console.log(
      `single inserts : ${N_SINGLE} events in ${singleMs.toFixed(0)} ms = ${perSec(N_SINGLE, singleMs)} events/s (one transaction each)`,
    );
    console.log(
      `batched inserts: ${N_BATCH} events in ${batchMs.toFixed(0)} ms = ${perSec(N_BATCH, batchMs)} events/s (batches of ${BATCH}; target >= 50,000)`,
    );
    console.log(
      `db size        : ${(size / 1024 / 1024).toFixed(1)} MiB per ${N_BATCH.toLocaleString('en-US')} events (${Math.round(size / N_BATCH)} bytes/event, with indexes)`,
    );
    await postgres(dir, N_SINGLE / singleMs, N_BATCH / batchMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The same writes on the shared store, in a schema of their own (dropped afterwards). */
async function postgres(dir: string, sqliteSingle: number, sqliteBatch: number): Promise<void> {
  const base = process.env['MSO_TEST_PG_URL'] ?? 'postgres://root@127.0.0.1:5432/test';
  const schema = `mso_bench_${process.pid}`;
  const u = new URL(base);
  u.searchParams.set('schema', schema);
  await deps.preparePostgres?.();
  let log;
  try {
    log = openAuditLog(deps, { file: join(dir, 'pg'), blobsDir: join(dir, 'blobs'), env, url: u.toString() });
  } catch (e) {
    console.log(`postgres       : skipped (${(e as Error).message})`);
    return;
  }
  try {
    const nSingle = Math.min(N_SINGLE, 5_000);
    const nBatch = Math.min(N_BATCH, 20_000);
    let t = performance.now();
    for (let i = 0; i < nSingle; i++) log.appendEvent(event(i));
    const singleMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < nBatch; i += BATCH)
      log.appendEvents(Array.from({ length: BATCH }, (_, j) => event(N_SINGLE + i + j)));
    const batchMs = performance.now() - t;
    const rate = (n: number, ms: number): number => (n / ms) * 1000;
    console.log(
      `postgres single : ${nSingle} events = ${Math.round(rate(nSingle, singleMs)).toLocaleString('en-US')} events/s (${(rate(nSingle, singleMs) / (sqliteSingle * 1000)).toFixed(2)} x SQLite)`,
    );
    console.log(
      `postgres batched: ${nBatch} events = ${Math.round(rate(nBatch, batchMs)).toLocaleString('en-US')} events/s (${(rate(nBatch, batchMs) / (sqliteBatch * 1000)).toFixed(2)} x SQLite)`,
    );
  } finally {
    log.db.exec(`DROP SCHEMA "${schema}" CASCADE`);
    log.close();
  }
}

await main();
