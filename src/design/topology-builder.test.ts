import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicySchema, WorkflowTopologySpecSchema } from '../contracts/index.js';
import { buildTopology, splitWeights, type TaskSpec } from './topology-builder.js';

const LONG = process.env['MSO_LONG_TESTS'] === '1';
const policy = PolicySchema.parse({});

function chain(n: number) {
  const tasks: TaskSpec[] = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    text: `step ${i}`,
    role: 'item',
    dq: `DQ${i + 1}`,
  }));
  const edges = tasks.slice(1).map((t, i) => ({ from: `n${i}`, to: t.id }));
  return buildTopology({
    runId: '20261121-msowd-weights',
    goal: 'weights',
    risk: 'medium',
    type: 'linear',
    tasks,
    edges,
    policy,
    at: '2026-11-21T10:00:00.000Z',
    rationale: 'test',
    source: 'test',
    planner: {},
  });
}

describe('splitWeights', () => {
  it('gives 1..10,000 questions positive weights that sum to 1 and differ by at most one unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => {
        const w = splitWeights(n);
        const unit = 1 / 10 ** Math.max(4, Math.ceil(Math.log10(n)));
        expect(w).toHaveLength(n);
        expect(Math.min(...w)).toBeGreaterThan(0);
        expect(Math.max(...w) - Math.min(...w)).toBeLessThanOrEqual(unit * 1.000001);
        expect(Math.abs(w.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-9);
      }),
      { numRuns: LONG ? 10_000 : 300 },
    );
  });

  it.each([155, 180, 5_121])('builds a schema-valid %i-node topology (the sizes that once crashed)', (n) => {
    const t = WorkflowTopologySpecSchema.parse(chain(n));
    expect(t.nodes.every((node) => (node.rsv_target ?? 0) > 0)).toBe(true);
    expect(t.rsv_total).toBe(1);
  });
});
