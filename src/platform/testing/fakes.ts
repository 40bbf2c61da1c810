import type { Clock, Random } from '../ports.js';

/** A clock that only moves when told to; `sleep` advances it instantly. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  set(iso: string): void;
}

/** A fake clock starting at `iso`. */
export function fakeClock(iso = '2026-01-01T00:00:00.000Z'): FakeClock {
  let t = Date.parse(iso);
  return {
    now: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
    set: (next) => {
      t = Date.parse(next);
    },
  };
}

/** A deterministic PRNG (mulberry32) for ids and uuids in unit tests. */
export function seededRandom(seed = 7): Random {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = s;
    r = Math.imul(r ^ (r >>> 15), r | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join('');
  return {
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(next() * 4)]}${hex(3)}-${hex(12)}`,
    id: (prefix) => `${prefix}-${hex(16)}`,
    int: (max) => Math.floor(next() * max),
  };
}
