import { interopSuite, readOnlySuite, RETRY_AFTER_S, type Expectation } from '../helpers/interop-suite.js';

// Each Gemini start costs seconds of CPU: the default run takes a bounded slice (success, a bad key, a rate limit,
// a hang); MSO_LONG_TESTS=1 adds 403, 500 and a dropped connection.
const LONG = process.env['MSO_LONG_TESTS'] === '1';

// Gemini CLI 0.61.0: its API errors arrive on stderr ("status: 401", "Attempt 1 failed: Resource has been exhausted",
// "Suggested retry after 7s"); it retries 429 and 5xx by itself. The model is read from the result's stats (its init
// frame says "auto"); before any answer there is no model to record.
const long: Record<string, Expectation> = {
  '403': { status: 'failure', errorClass: 'permission', breakerFailure: false, endedByStream: true },
  '500': { status: 'timeout', errorClass: 'server_error', breakerFailure: true, endedByNoProgress: true },
  drop: { status: 'timeout', errorClass: 'network', breakerFailure: true, endedByNoProgress: true },
};

interopSuite('gemini', {
  ok: { status: 'success', errorClass: null, breakerFailure: false },
  '401': { status: 'failure', errorClass: 'auth', breakerFailure: false, endedByStream: true },
  '429': {
    status: 'failure',
    errorClass: 'rate_limit',
    breakerFailure: true,
    endedByStream: true,
    retryAfterAtLeastMs: RETRY_AFTER_S * 1000,
  },
  hang: { status: 'timeout', errorClass: 'stalled_stream', breakerFailure: true, endedByNoProgress: true },
  ...(LONG ? long : {}),
});

// The control (edit writes the file) costs another Gemini start: long mode only. It was run here and passes.
readOnlySuite('gemini', LONG ? ['read-only', 'edit'] : ['read-only']);
