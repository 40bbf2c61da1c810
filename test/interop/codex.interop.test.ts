import { interopSuite, readOnlySuite } from '../helpers/interop-suite.js';

// Codex 0.169.0: it reconnects by itself ("Reconnecting... n/5 (unexpected status 401 ...)"), which used to reset
// the inactivity deadline; mso reads the status in that line. Codex does not relay a 429's Retry-After (it retried
// the 429 itself: "exceeded retry limit, last status: 429"), so no wait is asserted. After its 5 reconnects Codex
// may give up (turn.failed) just before our no-progress deadline: both endings are right for 500 and a drop.
interopSuite('codex', {
  ok: { status: 'success', errorClass: null, breakerFailure: false },
  '401': { status: 'failure', errorClass: 'auth', breakerFailure: false, endedByStream: true },
  '403': { status: 'failure', errorClass: 'permission', breakerFailure: false, endedByStream: true },
  '429': { status: 'failure', errorClass: 'rate_limit', breakerFailure: true, endedByStream: true },
  '500': { status: ['timeout', 'failure'], errorClass: 'server_error', breakerFailure: true },
  hang: { status: 'timeout', errorClass: 'stalled_stream', breakerFailure: true, endedByNoProgress: true },
  drop: { status: ['timeout', 'failure'], errorClass: 'network', breakerFailure: true },
});

readOnlySuite('codex', ['read-only', 'edit']);
