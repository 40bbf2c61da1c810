import { createHash } from 'node:crypto';
import type { AgentConfig } from '../../contracts/index.js';
import type { Clock, Fs, Proc, Random } from '../../platform/index.js';
import type { Price } from '../cost.js';
import type { OpenOutputSpill } from '../process/output-spill.js';
import type { SupervisedExit } from '../process/supervise.js';
import type { AgentEvidence, AgentKind, AgentResult, Availability, Deadlines } from '../types.js';

/** What every adapter needs from outside. */
export interface AdapterDeps {
  readonly proc: Proc;
  readonly clock: Clock;
  readonly random: Random;
  /** The parent environment (read only through allow-lists). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly prices: Readonly<Record<string, Price>>;
  readonly defaults: { readonly deadlines: Deadlines; readonly lingerGraceMs: number; readonly killGraceMs: number };
  /** fetch for HTTP adapters (injected so tests can count sockets). */
  readonly fetch?: typeof globalThis.fetch;
  /** Reads a CLI's own config (the model Codex's config.toml selects); optional for library use. */
  readonly fs?: Pick<Fs, 'readFile' | 'stat'> | undefined;
  /** Where an agent's output goes whole once it outgrows the transcript (the audit log's blob streams). */
  readonly spill?: OpenOutputSpill | undefined;
}

/** An agent's name and configuration as resolved from policy (built-in or declared). */
export interface AgentSpec {
  readonly name: string;
  readonly config: AgentConfig;
}

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Deadlines of a request, filled from the policy defaults. */
export function effectiveDeadlines(deps: AdapterDeps, d: Deadlines | undefined): Deadlines {
  return {
    firstOutputMs: d?.firstOutputMs ?? deps.defaults.deadlines.firstOutputMs,
    inactivityMs: d?.inactivityMs ?? deps.defaults.deadlines.inactivityMs,
    totalMs: d?.totalMs ?? deps.defaults.deadlines.totalMs,
  };
}

/** Availability of a command-line agent: whether its executable is on the child's PATH. */
export async function commandAvailability(deps: AdapterDeps, command: string, what: string): Promise<Availability> {
  const found = await deps.proc.which(command, deps.env['PATH']);
  return found
    ? { available: true, reason: `${what} ${found}` }
    : { available: false, reason: `${command} not found on PATH` };
}

/** The evidence of a call that ran as a supervised process: its pid, times, transcript hash and worktree heads. */
export function processEvidence(
  exit: SupervisedExit,
  more: Pick<AgentEvidence, 'headBefore' | 'headAfter' | 'garbageLines' | 'cliVersion'>,
): AgentEvidence {
  return {
    pid: exit.pid,
    startedAt: exit.startedAt.toISOString(),
    endedAt: exit.endedAt.toISOString(),
    transcriptSha256: exit.transcriptSha256,
    stderrTail: exit.stderrTail,
    firstOutputMs: exit.firstOutputMs,
    lingerKilled: exit.stoppedBy === 'linger',
    ...(Object.keys(exit.spilled).length > 0 ? { fullOutput: exit.spilled } : {}),
    ...(exit.spillError !== null ? { fullOutputError: exit.spillError } : {}),
    ...more,
  };
}

/** A result for a call that never started (cancelled before, breaker open, unavailable...). */
export function notStartedResult(
  spec: { name: string; kind: AgentKind; provider: string; model: string | null },
  at: string,
  status: AgentResult['status'],
  errorClass: AgentResult['errorClass'],
  message: string,
): AgentResult {
  const evidence: AgentEvidence = {
    pid: null,
    startedAt: at,
    endedAt: at,
    transcriptSha256: null,
    headBefore: null,
    headAfter: null,
    garbageLines: 0,
    stderrTail: '',
    firstOutputMs: null,
    lingerKilled: false,
    cliVersion: null,
  };
  return {
    agent: spec.name,
    kind: spec.kind,
    provider: spec.provider,
    model: spec.model,
    status,
    summary: message,
    output: '',
    changedFiles: [],
    usage: { input: 0, output: 0, cacheRead: 0 },
    cost: { usd: 0, source: 'none' },
    sessionId: null,
    exitCode: null,
    errorClass,
    errorMessage: message,
    retryAfterMs: null,
    requiresManualConfirmation: false,
    evidence,
    transcript: '',
  };
}

/** First line (max 200 chars) of a text, for summaries. */
export function summarize(text: string, fallback: string): string {
  const line =
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  return (line || fallback).slice(0, 200);
}
