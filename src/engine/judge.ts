import type { AgentResult } from '../agents/index.js';
import { extractJson, type AskModel } from '../design/index.js';

/** One candidate result to judge (a swarm member, or a parent branch at a merge). */
export interface Candidate {
  readonly id: string;
  readonly result: Pick<AgentResult, 'status' | 'output' | 'changedFiles' | 'summary'>;
  /** Required outputs that exist, of those required (from the hand-off contract). */
  readonly requiredPresent?: number;
  readonly requiredTotal?: number;
  /** Gate commands that passed, of those run. */
  readonly gatesPassed?: number;
  readonly gatesTotal?: number;
}

export interface CandidateScore {
  readonly candidate: string;
  readonly scores: Record<string, number>;
  readonly total: number;
}

export interface Verdict {
  readonly winner: string | null;
  readonly ranking: readonly CandidateScore[];
  readonly votes: ReadonlyArray<{ readonly judge: string; readonly vote: string | null; readonly reason: string }>;
  /** Judges voted for different candidates. */
  readonly split: boolean;
}

const round = (n: number): number => Math.round(n * 1e4) / 1e4;

/** Scores from evidence only: status, required outputs and gates, and whether the output is structured. */
export function evidenceScores(c: Candidate): Record<string, number> {
  const ok = c.result.status === 'success' ? 1 : c.result.status === 'partial' ? 0.5 : 0;
  const out = c.result.output.trim();
  const required = c.requiredTotal
    ? (c.requiredPresent ?? 0) / c.requiredTotal
    : out !== '' || c.result.changedFiles.length > 0
      ? 1
      : 0.5;
  const gates = c.gatesTotal ? (c.gatesPassed ?? 0) / c.gatesTotal : 1;
  const structured =
    out === ''
      ? c.result.changedFiles.length > 0
        ? 0.8
        : 0
      : /^[{[]/.test(out) || /^#{1,6} /m.test(out) || /```/.test(out) || /^\s*[-*] /m.test(out)
        ? 1
        : 0.6;
  return {
    confidence: round(ok * gates),
    completeness: round(ok * required),
    format_compliance: round(ok === 0 ? 0 : structured),
  };
}

function weighted(scores: Record<string, number>, weights: Readonly<Record<string, number>>): number {
  const sum = Object.values(weights).reduce((s, w) => s + w, 0) || 1;
  return round(Object.entries(weights).reduce((s, [k, w]) => s + (scores[k] ?? 0) * w, 0) / sum);
}

/**
 * Judges candidates by the weighted criteria: an evidence judge always votes; with `critic`, a model scores them
 * too (its scores are averaged in) and casts a second vote. The best total wins; different votes mark a split.
 */
export async function judge(
  candidates: readonly Candidate[],
  weights: Readonly<Record<string, number>>,
  critic?: AskModel,
): Promise<Verdict> {
  const evidence = new Map(candidates.map((c) => [c.id, evidenceScores(c)]));
  const votes: Array<{ judge: string; vote: string | null; reason: string }> = [];
  const best = (m: ReadonlyMap<string, Record<string, number>>): string | null => {
    let top: { id: string; t: number } | null = null;
    for (const c of candidates) {
      const t = weighted(m.get(c.id) ?? {}, weights);
      if (t > 0 && (!top || t > top.t)) top = { id: c.id, t };
    }
    return top?.id ?? null;
  };
  votes.push({
    judge: 'evidence',
    vote: best(evidence),
    reason: 'status, required outputs, gates and output structure',
  });
  let combined = evidence;
  if (critic && candidates.length > 0) {
    const prompt = [
      'You are a strict reviewer. Score each candidate from 0 to 1 on each criterion.',
      `Criteria: ${Object.keys(weights).join(', ')}.`,
      ...candidates.map(
        (c) =>
          `--- candidate ${c.id} (status ${c.result.status}) ---\n${c.result.output.slice(0, 4_000) || c.result.summary}`,
      ),
      'Answer ONLY with JSON: {"scores":{"<candidate>":{"<criterion>":0.0}},"winner":"<candidate>","reasoning":"..."}',
    ].join('\n');
    const reply = await critic(prompt);
    if (reply.ok) {
      try {
        const parsed = extractJson(reply.text) as {
          scores?: Record<string, Record<string, number>>;
          winner?: string;
          reasoning?: string;
        };
        const criticScores = new Map(
          candidates.map((c) => [
            c.id,
            Object.fromEntries(
              Object.keys(weights).map((k) => [k, Math.min(1, Math.max(0, Number(parsed.scores?.[c.id]?.[k] ?? 0)))]),
            ),
          ]),
        );
        combined = new Map(
          candidates.map((c) => [
            c.id,
            Object.fromEntries(
              Object.keys(weights).map((k) => [
                k,
                round(((evidence.get(c.id)?.[k] ?? 0) + (criticScores.get(c.id)?.[k] ?? 0)) / 2),
              ]),
            ),
          ]),
        );
        votes.push({
          judge: 'critic',
          vote: parsed.winner && candidates.some((c) => c.id === parsed.winner) ? parsed.winner : best(criticScores),
          reason: parsed.reasoning ?? 'model rubric',
        });
      } catch (e) {
        votes.push({ judge: 'critic', vote: null, reason: `unreadable verdict: ${(e as Error).message}` });
      }
    } else votes.push({ judge: 'critic', vote: null, reason: `no verdict: ${reply.reason}` });
  }
  const ranking = candidates
    .map((c) => ({
      candidate: c.id,
      scores: combined.get(c.id) ?? {},
      total: weighted(combined.get(c.id) ?? {}, weights),
    }))
    .sort((a, b) => b.total - a.total || a.candidate.localeCompare(b.candidate));
  const cast = votes.filter((v) => v.vote !== null).map((v) => v.vote);
  return {
    winner: ranking[0] && ranking[0].total > 0 ? ranking[0].candidate : null,
    ranking,
    votes,
    split: new Set(cast).size > 1,
  };
}
