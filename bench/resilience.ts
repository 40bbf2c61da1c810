// Overhead of the resilience stack (availability check, persisted circuit breaker, retry budget) per call on the
// success path, against calling the same no-op adapter directly. Run: npm run bench:resilience
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notStartedResult, runChain, type AgentAdapter, type AgentResult } from '../src/agents/index.js';
import { openAuditLog } from '../src/audit/index.js';
import { nodePlatform } from '../src/platform/index.js';
import { createBreakerFactory, createRetryBudget } from '../src/resilience/index.js';

const N = Number(process.env['BENCH_CALLS'] ?? 200_000);
const platform = nodePlatform();
const at = new Date(0).toISOString();
const ok: AgentResult = {
  ...notStartedResult({ name: 'noop', kind: 'openai', provider: 'bench', model: 'm' }, at, 'success', null, 'ok'),
  output: 'ok',
  errorMessage: null,
};
const noop: AgentAdapter = {
  name: 'noop',
  kind: 'openai',
  provider: 'bench',
  model: 'm',
  availability: async () => ({ available: true, reason: 'bench' }),
  run: async () => ok,
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mso-bench-res-'));
  const log = openAuditLog(platform, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs') });
  try {
    const deps = {
      clock: platform.clock,
      random: platform.random,
      breaker: createBreakerFactory(log, platform.clock, {
        failureThreshold: 5,
        resetTimeoutMs: 60_000,
        halfOpenMaxAttempts: 1,
      }),
      retry: { maxRetries: 2, initialDelayMs: 1000, maxDelayMs: 30_000, multiplier: 2, jitter: true },
    };
    const req = { runId: 'bench', instructions: 'x', cwd: dir };
    for (let i = 0; i < 20_000; i++) {
      await noop.run(req);
      await runChain(deps, [noop], req, undefined, createRetryBudget(2));
    }
    let t = performance.now();
    for (let i = 0; i < N; i++) await noop.run(req);
    const direct = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < N; i++) await runChain(deps, [noop], req, undefined, createRetryBudget(2));
    const wrapped = performance.now() - t;
    const perCallUs = ((wrapped - direct) / N) * 1000;
    console.log(`resilience bench (node ${process.versions.node}, ${N.toLocaleString('en-US')} calls)`);
    console.log(`direct adapter call : ${((direct / N) * 1000).toFixed(2)} µs/call`);
    console.log(
      `through runChain    : ${((wrapped / N) * 1000).toFixed(2)} µs/call (availability + breaker + retry budget)`,
    );
    console.log(
      `overhead            : ${perCallUs.toFixed(2)} µs/call = ${(perCallUs / 1000).toFixed(4)} ms (target < 0.05 ms; the seed asked < 1 ms)`,
    );
    console.log(`breaker after bench : ${JSON.stringify(deps.breaker('bench/m').metrics())}`);
  } finally {
    log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
