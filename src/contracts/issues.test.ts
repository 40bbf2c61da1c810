import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { toFieldIssues } from './issues.js';

const Node = z.strictObject({
  id: z.string(),
  when: z.strictObject({ after_s: z.number() }),
  kind: z.enum(['shell', 'agent']),
  note: z.string().optional(),
});
const issues = (v: unknown) => toFieldIssues((Node.safeParse(v) as { error: z.ZodError }).error, v);

describe('toFieldIssues', () => {
  it('says a field left out is required, with what it takes', () => {
    expect(issues({ when: {} })).toEqual([
      { path: 'id', message: 'required (string)' },
      { path: 'when.after_s', message: 'required (number)' },
      { path: 'kind', message: 'required (one of "shell", "agent")' },
    ]);
  });
  it("keeps zod's words for a wrong value, and names each unknown key", () => {
    expect(issues({ id: 1, when: { after_s: 'soon' }, kind: 'robot', note: 2, colour: 'red' })).toEqual([
      { path: 'id', message: 'Invalid input: expected string, received number' },
      { path: 'when.after_s', message: 'Invalid input: expected number, received string' },
      { path: 'kind', message: 'Invalid option: expected one of "shell"|"agent"' },
      { path: 'note', message: 'Invalid input: expected string, received number' },
      { path: 'colour', message: 'unknown key' },
    ]);
  });
});
