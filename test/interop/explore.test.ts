import { describe, it } from 'vitest';
import { startProviderStub, type StubCase } from '../helpers/provider-stub.js';
import { adapter, tempRepo, testAdapterDeps } from '../helpers/agents.js';
import { cliEnv, REAL_CLI } from '../helpers/real-clis.js';
import type { CliKind } from '../../src/agents/index.js';

const kind = (process.env['X_KIND'] ?? 'claude-code') as CliKind;
const cases = (process.env['X_CASES'] ?? 'ok').split(',') as StubCase[];
describe('explore', () => {
  it('runs', async () => {
    const stub = await startProviderStub(REAL_CLI[kind].protocol);
    const env = await cliEnv(kind, stub);
    const repo = await tempRepo();
    for (const c of cases) {
      stub.setCase(c, `${repo.dir}/written.txt`);
      const deps = testAdapterDeps({ defaults: { deadlines: { firstOutputMs: 30_000, inactivityMs: 5_000, totalMs: 90_000 }, lingerGraceMs: 300, killGraceMs: 1000 } }, env);
      const a = adapter(deps, kind, { kind, command: REAL_CLI[kind].bin, ...(process.env['X_MODE'] ? { } : {}) });
      const t0 = Date.now();
      const r = await a.run({ runId: 'r', instructions: 'say hello', cwd: repo.dir, ...(process.env['X_MODE'] ? { permissionMode: process.env['X_MODE'] } : {}) });
      const { transcript, ...rest } = r;
      console.log(`TOOLS ${[...new Set(stub.requests.flatMap((q) => [...q.body.matchAll(/"name"\s*:\s*"([A-Za-z_]+)"/g)].map((m) => m[1])))].slice(0, 60).join(" ")}`);
      console.log('OUT ' + (stub.requests.at(-1)?.body.match(/"(function_call_output|tool_result|functionResponse)".{0,600}/)?.[0] ?? ''));
      console.log('TOOLS ' + [...new Set(stub.requests.flatMap((q) => [...q.body.matchAll(/"name"\s*:\s*"([A-Za-z_]+)"/g)].map((m) => m[1])))].slice(0, 40).join(' '));
      console.log(`=== ${kind} ${c} ${Date.now() - t0}ms reqs=${stub.modelRequests().length} models=${stub.modelRequests().map(q=>q.model).join(',')}`);
      console.log(JSON.stringify({ ...rest, evidence: { ...rest.evidence, envNames: undefined } }).slice(0, 1500));
      console.log(transcript.split('\n').slice(0, 40).map((l) => l.slice(0, 300)).join('\n'));
    }
    await stub.close();
  }, 300_000);
});
