import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../contracts/index.js';
import { scoreTopology, type GoldGoal } from '../../test/helpers/planner-score.js';
import { planHeuristic } from './heuristic-planner.js';

const policy = PolicySchema.parse({});
const { goals } = JSON.parse(
  readFileSync(new URL('../../test/fixtures/planner-goals.json', import.meta.url), 'utf8'),
) as { goals: Array<GoldGoal & { batch: number }> };

describe('offline planner on the dev set (test/fixtures/planner-goals.json)', () => {
  it('scores a mean of at least 0.9 (task coverage × pair accuracy)', () => {
    const scores = goals.map((g) =>
      scoreTopology(
        g,
        planHeuristic({
          runId: '20261121-msowd-dev',
          goal: g.goal,
          risk: 'medium',
          policy,
          at: '2026-11-21T10:00:00Z',
        }),
      ),
    );
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const ko = scores.filter((s) => s.id.startsWith('ko-'));
    const en = scores.filter((s) => !s.id.startsWith('ko-'));
    const misses = scores.filter((s) => s.score < 1);
    const batches = [...new Set(goals.map((g) => g.batch))].map((b) => {
      const of = scores.filter((_, i) => goals[i]?.batch === b);
      return `batch ${b}: ${mean(of.map((s) => s.score)).toFixed(3)} / ${of.length}`;
    });
    console.log(
      `planner dev set: mean ${mean(scores.map((s) => s.score)).toFixed(3)} over ${scores.length} goals ` +
        `(EN ${mean(en.map((s) => s.score)).toFixed(3)} / ${en.length}, KO ${mean(ko.map((s) => s.score)).toFixed(3)} / ${ko.length}); ` +
        `coverage ${mean(scores.map((s) => s.coverage)).toFixed(3)}, pairs ${mean(scores.map((s) => s.pairs)).toFixed(3)}; ` +
        batches.join(', ') +
        misses
          .map(
            (s) =>
              `\n  ${s.id} ${s.score.toFixed(2)} unmatched=${JSON.stringify(s.unmatched)} wrong=${s.wrongPairs.join(' ')}`,
          )
          .join(''),
    );
    expect(goals.length).toBeGreaterThanOrEqual(40);
    expect(ko.length).toBeGreaterThanOrEqual(15);
    expect(mean(scores.map((s) => s.score))).toBeGreaterThanOrEqual(0.9);
  });
});
