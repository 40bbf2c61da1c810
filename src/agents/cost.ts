import type { AgentCost, TokenUsage } from './types.js';

export interface Price {
  readonly input_per_mtok: number;
  readonly output_per_mtok: number;
  readonly cache_read_per_mtok: number;
}

/**
 * The cost of a call: as reported by the agent when it reports one, else estimated from the price table (by exact
 * model id, then the longest matching prefix), else zero with source `none`. Always labelled.
 */
export function costOf(
  reportedUsd: number | null | undefined,
  model: string | null,
  usage: TokenUsage,
  prices: Readonly<Record<string, Price>>,
): AgentCost {
  if (typeof reportedUsd === 'number' && Number.isFinite(reportedUsd)) return { usd: reportedUsd, source: 'reported' };
  if (model) {
    const key = prices[model]
      ? model
      : Object.keys(prices)
          .filter((k) => model.startsWith(k))
          .sort((a, b) => b.length - a.length)[0];
    const p = key ? prices[key] : undefined;
    if (p) {
      const uncached = Math.max(0, usage.input - usage.cacheRead);
      const usd =
        (uncached * p.input_per_mtok + usage.cacheRead * p.cache_read_per_mtok + usage.output * p.output_per_mtok) /
        1_000_000;
      return { usd: Math.round(usd * 1e8) / 1e8, source: 'estimated' };
    }
  }
  return { usd: 0, source: 'none' };
}
