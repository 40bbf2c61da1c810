import { describe, expect, it } from 'vitest';
import { limiter } from './limiter.js';

/** A promise with its resolver, to end a limited function when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('limiter', () => {
  it('runs at most n at once, the waiting ones in the order given', async () => {
    const limit = limiter(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const done = gates.map((g, i) =>
      limit(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1]?.open();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0]?.open();
    gates[2]?.open();
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3]?.open();
    gates[4]?.open();
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4]);
  });

  it('frees the slot of a function that throws, and never runs more than n in any interleaving', async () => {
    const limit = limiter(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const job = (i: number) =>
      limit(async () => {
        most = Math.max(most, ++running);
        order.push(i);
        // Ends after a varying number of turns; every third one throws.
        for (let k = 0; k < i % 4; k++) await tick();
        running--;
        if (i % 3 === 0) throw new Error(`job ${i}`);
        return i;
      });
    // Callers arrive from timers, microtasks and inside other jobs' turns.
    const all: Array<Promise<number>> = [];
    const add = (i: number): void => {
      const p = job(i);
      p.catch(() => undefined); // counted below, once all are in
      all.push(p);
    };
    for (let i = 0; i < 30; i++) {
      if (i % 2) queueMicrotask(() => add(i));
      else add(i);
      if (i % 5 === 0) await tick();
    }
    await tick();
    const settled = await Promise.allSettled(all);
    expect(settled.filter((r) => r.status === 'rejected')).toHaveLength(10);
    expect(most).toBe(2);
    expect(order).toHaveLength(30);
  });
});
