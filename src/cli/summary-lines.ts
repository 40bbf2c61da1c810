import type { RunSummary } from '../app/index.js';

/** A run summary's items waiting for a person, each with how to decide it. */
export function waitingLines(s: Pick<RunSummary, 'waiting'>): string[] {
  return s.waiting.map((w) => `waiting   ${w.item}: ${w.title}  (${w.decide})`);
}

/** A run summary's next steps (see nextSteps), each with why. */
export function nextLines(s: Pick<RunSummary, 'next'>): string[] {
  return s.next.map((n) => `next      ${n.command}${n.note ? `   (${n.note})` : ''}`);
}
