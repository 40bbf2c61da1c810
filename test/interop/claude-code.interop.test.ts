import { describe, expect, it } from 'vitest';
import { adapter, tempRepo, testAdapterDeps } from '../helpers/agents.js';
import { startProviderStub } from '../helpers/provider-stub.js';
import { cliEnv, REAL_CLI } from '../helpers/real-clis.js';
import { interopSuite, readOnlySuite, RETRY_AFTER_S } from '../helpers/interop-suite.js';

// Claude Code 2.1.330: it retries even a bad key by itself (api_retry frames, 10 tries over minutes); mso ends the
// call at the first frame that names a failure no retry cures. 403 is not retried by Claude: its result frame says so.
interopSuite('claude-code', {
  ok: { status: 'success', errorClass: null, breakerFailure: false },
  '401': { status: 'failure', errorClass: 'auth', breakerFailure: false, endedByStream: true },
  '403': { status: 'failure', errorClass: 'permission', breakerFailure: false, endedByStream: true },
  '429': {
    status: 'failure',
    errorClass: 'rate_limit',
    breakerFailure: true,
    endedByStream: true,
    retryAfterAtLeastMs: RETRY_AFTER_S * 1000,
  },
  // 5xx and a dropped connection are retried by Claude (api_retry chatter, not progress) until our deadline.
  '500': { status: 'timeout', errorClass: 'server_error', breakerFailure: true, endedByNoProgress: true },
  hang: { status: 'timeout', errorClass: 'stalled_stream', breakerFailure: true, endedByNoProgress: true },
  drop: { status: 'timeout', errorClass: 'network', breakerFailure: true, endedByNoProgress: true },
});

// Claude refuses bypassPermissions as root unless IS_SANDBOX=1 (a variable its table passes on): CI runs as root.
const root = process.getuid?.() === 0;
readOnlySuite('claude-code', ['read-only', 'edit', 'full'], root ? { IS_SANDBOX: '1' } : {});

describe.runIf(root)('claude-code full mode as root without IS_SANDBOX', () => {
  it('fails at once as a configuration problem, naming the reason', async () => {
    const repo = await tempRepo();
    const stub = await startProviderStub('anthropic', 'ok');
    try {
      const deps = testAdapterDeps({}, await cliEnv('claude-code', stub));
      const r = await adapter(deps, 'real', { kind: 'claude-code', command: REAL_CLI['claude-code'].bin }).run({
        runId: 'r',
        instructions: 'hi',
        cwd: repo.dir,
        permissionMode: 'full',
      });
      expect({ status: r.status, errorClass: r.errorClass }, `${r.errorMessage} ${r.evidence.stderrTail}`).toEqual({
        status: 'failure',
        errorClass: 'permission',
      });
      expect(r.errorMessage).toMatch(/configuration problem .*root\/sudo/);
    } finally {
      await stub.close();
      await repo.cleanup();
    }
  });
});
