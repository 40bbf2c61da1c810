import { describe, expect, it } from 'vitest';
import { seededRandom } from '../platform/testing/index.js';
import { backoffDelay, createRetryBudget } from './retry.js';

const policy = { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2, jitter: false };

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, seededRandom()))).toEqual([100, 200, 400, 800, 1000]);
  });
  it('keeps jitter within ±25%', () => {
    const r = seededRandom(3);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay({ ...policy, jitter: true }, 2, r);
      expect(d).toBeGreaterThanOrEqual(150);
      expect(d).toBeLessThanOrEqual(250);
    }
  });
  it('honours Retry-After, capped by the maximum', () => {
    expect(backoffDelay(policy, 1, seededRandom(), 700)).toBe(700);
    expect(backoffDelay(policy, 1, seededRandom(), 9_000)).toBe(1_000);
  });
});

describe('createRetryBudget', () => {
  it('gives out exactly max retries, shared by every caller', () => {
    const b = createRetryBudget(2);
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
    expect(b.used).toBe(2);
  });
});
