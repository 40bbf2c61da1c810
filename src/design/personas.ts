import type { Policy } from '../contracts/index.js';
import { keywordScore } from './text.js';

/** A persona choice with the reason, for the plan and the timeline. */
export interface PersonaChoice {
  readonly persona: string;
  readonly score: number;
  readonly matched: readonly string[];
  readonly reason: string;
}

/**
 * Picks the persona whose keywords best match `text` (whole words, never substrings); ties go to the persona listed
 * first; with no match, the policy's default persona.
 */
export function assignPersona(text: string, policy: Pick<Policy, 'personas' | 'design'>): PersonaChoice {
  let best: PersonaChoice | null = null;
  for (const [name, p] of Object.entries(policy.personas)) {
    const { score, matched } = keywordScore(text, p.keywords);
    if (score > 0 && (best === null || score > best.score))
      best = { persona: name, score, matched, reason: `keywords ${matched.join(', ')}` };
  }
  return (
    best ?? {
      persona: policy.design.default_persona,
      score: 0,
      matched: [],
      reason: 'no persona keyword matched: default persona',
    }
  );
}
