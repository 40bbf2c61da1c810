import type { RunSummary } from '../app/index.js';
import { decideCommand } from '../app/light.js';

/** A run summary's items waiting for a person, each with how to decide it. */
export function waitingLines(s: Pick<RunSummary, 'run_id' | 'pending_human' | 'pending_by_hand'>): string[] {
  return s.pending_human.map((h) => {
    const id = h.split(':')[0] ?? h;
    return `waiting   ${h}  (${decideCommand(s.run_id, id, s.pending_by_hand?.includes(id) ?? false)})`;
  });
}

/** A run summary's next steps (see nextSteps), each with why. */
export function nextLines(s: Pick<RunSummary, 'next'>): string[] {
  return s.next.map((n) => `next      ${n.command}${n.note ? `   (${n.note})` : ''}`);
}
