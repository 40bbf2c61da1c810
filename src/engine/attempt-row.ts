import type { AgentResult } from '../agents/index.js';
import type { AttemptRow } from '../audit/index.js';

/** The attempt columns an agent result fills in: who answered, usage, cost, outcome and evidence. */
export function attemptResultFields(result: AgentResult): Omit<AttemptRow, 'attemptId' | 'runId'> {
  return {
    agent: result.agent,
    provider: result.provider,
    model: result.model,
    status: result.status,
    endedAt: result.evidence.endedAt,
    durationMs: Math.max(0, Date.parse(result.evidence.endedAt) - Date.parse(result.evidence.startedAt)),
    inputTokens: result.usage.input,
    outputTokens: result.usage.output,
    cacheReadTokens: result.usage.cacheRead,
    costUsd: result.cost.usd,
    costSource: result.cost.source,
    exitCode: result.exitCode,
    errorClass: result.errorClass,
    errorMessage: result.errorMessage,
    filesChanged: [...result.changedFiles],
    evidence: { ...result.evidence, session_id: result.sessionId },
  };
}
