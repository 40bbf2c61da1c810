import { describe, expect, it } from 'vitest';
import type { LogEntry } from './run-logs.js';
import { unseen } from './run-follow.js';

const entry = (kind: LogEntry['kind'], text: string, live: boolean, agent: string | null = null): LogEntry => ({
  node: 'p',
  attempt_id: 'a1',
  attempt: 1,
  agent,
  kind,
  text,
  live,
});

describe('mso logs --follow', () => {
  it('prints a line once when the attempt it came from live is then read from its stored transcript', () => {
    const shown = new Map();
    const live = [entry('start', 'attempt 1', false), entry('output', 'line 1', true), entry('output', 'line 2', true)];
    expect(unseen(live, shown).map((e) => e.text)).toEqual(['attempt 1', 'line 1', 'line 2']);
    const stored = [
      entry('start', 'attempt 1', false),
      entry('tool', '$ ./print.sh', false, 'shell'),
      entry('output', 'line 1', false, 'shell'),
      entry('output', 'line 2', false, 'shell'),
      entry('output', 'line 3', false, 'shell'),
      entry('end', 'success', false),
    ];
    expect(unseen(stored, shown).map((e) => e.text)).toEqual(['$ ./print.sh', 'line 3', 'success']);
    expect(unseen(stored, shown)).toEqual([]);
  });
});
