import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of the suite's time is spent waiting on the processes its tests start (mso, git, agents, Chromium):
    // vitest's default (a worker per core but one) runs one file at a time on a 2-core machine, 12 minutes there
    // against 8 with two.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
