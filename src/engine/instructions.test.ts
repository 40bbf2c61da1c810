import { describe, expect, it } from 'vitest';
import { nodeInstructions } from './instructions.js';

const node = (id: string, description: string) => ({ id, label: id, description, persona: undefined });
const base = {
  nodeId: 'T1',
  node: { chart_ids: [], parent_refs: [] } as never,
  bundle: { local_charts: [] } as never,
  policy: { personas: {} } as never,
  parents: [],
};
const goal = 'Implement signup in three steps:\n1. email verification\n2. password rules\n3. welcome mail';

describe("a node's instructions", () => {
  it('tell a step of several what the run is for', () => {
    const topology = { nodes: [node('T1', 'Implement email verification'), node('T2', 'Implement password rules')] };
    const text = nodeInstructions({ ...base, goal, topology: topology as never });
    expect(text).toContain(`This step is part of the run's goal: ${goal}`);
  });
  it('say nothing more when the step is the whole goal, or no goal is given', () => {
    const one = { nodes: [node('T1', goal)] };
    expect(nodeInstructions({ ...base, goal, topology: one as never })).not.toContain('part of the run');
    const two = { nodes: [node('T1', 'a'), node('T2', 'b')] };
    expect(nodeInstructions({ ...base, topology: two as never })).not.toContain('part of the run');
  });
  it('say it on a worker too, whose topology holds only the node and its parents', () => {
    const cut = { nodes: [node('T1', 'Implement email verification')] };
    expect(nodeInstructions({ ...base, goal, topology: cut as never })).toContain("part of the run's goal");
  });
});
