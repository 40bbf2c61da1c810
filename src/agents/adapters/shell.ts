import { buildChildEnv } from '../process/environment.js';
import { gitAfter, gitHead } from '../process/git-evidence.js';
import { superviseProcess } from '../process/supervise.js';
import type { AgentAdapter } from '../types.js';
import {
  commandAvailability,
  effectiveDeadlines,
  notStartedResult,
  processEvidence,
  summarize,
  type AdapterDeps,
  type AgentSpec,
} from './common.js';

/** The most lines of a shell step that reach its live log (the stored transcript keeps its own bounds). */
export const LIVE_OUTPUT_LINES = 1_000;
/** The most characters of one line in the live log. */
const LIVE_LINE_CHARS = 4_000;

/** A deadline as a person reads it: `1 s`, `1.5 s`, `90 s`. */
const seconds = (ms: number | undefined): string =>
  ms === undefined ? 'its deadline' : `${Math.round(ms / 100) / 10} s`;

/** Runs a node's `command` with `sh -c` in the worktree: success is exit 0. */
export function createShellAdapter(deps: AdapterDeps, spec: AgentSpec): AgentAdapter {
  const cfg = spec.config;
  const shell = cfg.command ?? 'sh';
  const identity = { name: spec.name, kind: 'shell' as const, provider: 'local', model: null };
  return {
    ...identity,
    availability: () => commandAvailability(deps, shell, 'shell'),
    async run(req, onEvent) {
      const at = deps.clock.now().toISOString();
      const command = req.command;
      if (!command)
        return notStartedResult(
          identity,
          at,
          'failure',
          'bad_request',
          'the shell agent needs a command (a node `command`)',
        );
      if (req.signal?.aborted)
        return notStartedResult(identity, at, 'cancelled', 'cancelled', 'cancelled before start');
      const env = buildChildEnv(deps.env, cfg.env_allow, { ...cfg.env, ...req.env });
      const headBefore = req.headBefore ?? (await gitHead(deps, req.cwd, env));
      const d = effectiveDeadlines(deps, req.deadlines);
      // A quiet build is not a hang: shell commands get only the total deadline unless the request sets others.
      const exit = await superviseProcess(deps, {
        command: shell,
        args: ['-c', command, ...cfg.args],
        cwd: req.cwd,
        env,
        deadlines: {
          totalMs: d.totalMs,
          firstOutputMs: req.deadlines?.firstOutputMs,
          inactivityMs: req.deadlines?.inactivityMs,
        },
        killGraceMs: deps.defaults.killGraceMs,
        signal: req.signal,
        onSpawn: (pid) => onEvent?.({ type: 'started', pid, sessionId: null }),
        spill: deps.spill,
        // Each line as it comes, for `mso logs --follow` (a live view: bounded; the stored transcript is the record).
        ...(onEvent
          ? {
              onLine: (line: string, stream: 'stdout' | 'stderr') =>
                onEvent({ type: 'output', stream, text: line.slice(0, LIVE_LINE_CHARS) }),
              onLineLimit: LIVE_OUTPUT_LINES,
              onLineMaxBytes: LIVE_LINE_CHARS * 4,
            }
          : {}),
      });
      // Only the end is kept as the output (64,000 chars): read it from the transcript's end, not by splitting all of
      // it (a transcript of short lines is hundreds of thousands of strings).
      const stdout = exit.transcript
        .slice(-256_000)
        .split('\n')
        .filter((l) => l.startsWith('1|'))
        .map((l) => l.slice(2))
        .join('\n');
      const { headAfter, changedFiles } = req.committedByCaller
        ? { headAfter: null, changedFiles: [] }
        : await gitAfter(deps, req.cwd, env, headBefore);
      let status: 'success' | 'failure' | 'timeout' | 'cancelled' = exit.exitCode === 0 ? 'success' : 'failure';
      let errorClass: 'timeout' | 'stalled_stream' | 'cancelled' | 'unavailable' | 'process' | null =
        exit.exitCode === 0 ? null : 'process';
      // The command's last line on stderr says why, when it printed one ("exit 3", not "exit 3:", when it did not).
      const lastError = exit.stderrTail.split('\n').filter(Boolean).at(-1)?.trim();
      let errorMessage: string | null =
        exit.exitCode === 0 ? null : `exit ${exit.exitCode ?? exit.signal}${lastError ? `: ${lastError}` : ''}`;
      if (exit.spawnError) [status, errorClass, errorMessage] = ['failure', 'unavailable', exit.spawnError];
      else if (exit.stoppedBy === 'cancelled')
        [status, errorClass, errorMessage] = ['cancelled', 'cancelled', 'cancelled'];
      else if (exit.stoppedBy === 'inactivity')
        [status, errorClass, errorMessage] = [
          'timeout',
          'stalled_stream',
          'no output for longer than the inactivity deadline',
        ];
      else if (exit.stoppedBy === 'total')
        [status, errorClass, errorMessage] = [
          'timeout',
          'timeout',
          `timed out after ${seconds(d.totalMs)} (its total deadline; a node's is its timeout_s)`,
        ];
      else if (exit.stoppedBy === 'first_output')
        [status, errorClass, errorMessage] = [
          'timeout',
          'timeout',
          `no output within ${seconds(req.deadlines?.firstOutputMs)} (its first-output deadline: resilience.deadlines.first_output_ms)`,
        ];
      return {
        agent: spec.name,
        kind: identity.kind,
        provider: identity.provider,
        model: null,
        status,
        summary: summarize(
          status === 'success' ? (stdout.split('\n').filter(Boolean).at(-1) ?? '') : (errorMessage ?? ''),
          `command ${status}`,
        ),
        output: stdout.slice(-64_000),
        changedFiles,
        usage: { input: 0, output: 0, cacheRead: 0 },
        cost: { usd: 0, source: 'none' },
        sessionId: null,
        exitCode: exit.exitCode,
        errorClass,
        errorMessage,
        retryAfterMs: null,
        requiresManualConfirmation: false,
        evidence: processEvidence(exit, { headBefore, headAfter, garbageLines: 0, cliVersion: null }),
        transcript: exit.transcript,
      };
    },
  };
}
