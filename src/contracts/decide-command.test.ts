import { describe, expect, it } from 'vitest';
import { decideCommand } from './decide-command.js';

describe('how to decide a waiting item', () => {
  it('asks for --done on a node left to a person, and approve|reject on any other item', () => {
    expect(decideCommand('r1', 'HITL-0002', true)).toBe(
      'mso approve r1 HITL-0002 --done once you did it, or mso reject r1 HITL-0002',
    );
    expect(decideCommand('r1', 'HITL-0001', false)).toBe('mso approve|reject r1 HITL-0001');
  });
});
