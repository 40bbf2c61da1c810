import { interopSuite, RETRY_AFTER_S } from '../helpers/interop-suite.js';

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
