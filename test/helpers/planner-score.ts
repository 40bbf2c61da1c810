// Scores a topology against a gold decomposition (issue 19): task coverage × pair accuracy.
// - Task coverage: the share of gold tasks that each match a node of their own. A gold task matches a node when at
//   least half of its content keys occur in the node's description (keys: lowercased Latin words and numbers without
//   stop words; Hangul words as character bigrams with particles left in, so "검색 API를" matches "검색 API").
//   Gold tasks take nodes greedily by best overlap, each node at most once.
// - Pair accuracy: the share of gold pairs the graph gets right. An ordered pair [a, b] is right when b is reachable
//   from a over forward edges; a parallel pair when neither reaches the other. A pair with an unmatched task is wrong.
//   No pairs: accuracy 1.
import type { WorkflowTopologySpec } from '../../src/contracts/index.js';

export interface GoldGoal {
  readonly id: string;
  readonly goal: string;
  readonly tasks: readonly string[];
  readonly order: ReadonlyArray<readonly [number, number]>;
  readonly parallel: ReadonlyArray<readonly [number, number]>;
}

export interface GoalScore {
  readonly id: string;
  readonly coverage: number;
  readonly pairs: number;
  readonly score: number;
  readonly unmatched: string[];
  readonly wrongPairs: string[];
}

const STOP = new Set(
  'a an the to of for in on into with and or from by at as it its them their this that these those be is are was each one'.split(
    ' ',
  ),
);

/** Content keys of a text: Latin words/numbers (no stop words) and Hangul bigrams. */
export function keysOf(text: string): Set<string> {
  const keys = new Set<string>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'/-]*/gu) ?? []) {
    for (const part of word.split(/(?<=[a-z0-9])(?=[\uac00-\ud7a3])|(?<=[\uac00-\ud7a3])(?=[a-z0-9])/)) {
      if (/[\uac00-\ud7a3]/.test(part)) {
        if (part.length === 1) keys.add(part);
        for (let i = 0; i + 1 < part.length; i++) keys.add(part.slice(i, i + 2));
      } else if (!STOP.has(part)) keys.add(part);
    }
  }
  return keys;
}

function overlap(gold: Set<string>, node: Set<string>): number {
  if (gold.size === 0) return 0;
  let n = 0;
  for (const k of gold) if (node.has(k)) n++;
  return n / gold.size;
}

/** Scores one topology against its gold decomposition. */
export function scoreTopology(gold: GoldGoal, topology: WorkflowTopologySpec): GoalScore {
  const nodes = topology.nodes.map((n) => ({ id: n.id, keys: keysOf(n.description ?? n.label) }));
  const candidates: Array<{ task: number; node: string; sim: number }> = [];
  gold.tasks.forEach((t, task) => {
    const keys = keysOf(t);
    for (const n of nodes) {
      const sim = overlap(keys, n.keys);
      if (sim >= 0.5) candidates.push({ task, node: n.id, sim });
    }
  });
  candidates.sort((a, b) => b.sim - a.sim || a.task - b.task);
  const nodeOf = new Map<number, string>();
  const used = new Set<string>();
  for (const c of candidates) {
    if (nodeOf.has(c.task) || used.has(c.node)) continue;
    nodeOf.set(c.task, c.node);
    used.add(c.node);
  }
  const children = new Map<string, string[]>();
  for (const e of topology.edges) {
    if (e.max_iterations !== undefined) continue;
    children.set(e.from, [...(children.get(e.from) ?? []), e.to]);
  }
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const cur = stack.pop() as string;
      for (const c of children.get(cur) ?? []) {
        if (c === to) return true;
        if (!seen.has(c)) {
          seen.add(c);
          stack.push(c);
        }
      }
    }
    return false;
  };
  const wrongPairs: string[] = [];
  let right = 0;
  for (const [a, b] of gold.order) {
    const na = nodeOf.get(a);
    const nb = nodeOf.get(b);
    if (na && nb && reaches(na, nb)) right++;
    else wrongPairs.push(`${a}→${b}`);
  }
  for (const [a, b] of gold.parallel) {
    const na = nodeOf.get(a);
    const nb = nodeOf.get(b);
    if (na && nb && !reaches(na, nb) && !reaches(nb, na)) right++;
    else wrongPairs.push(`${a}∥${b}`);
  }
  const total = gold.order.length + gold.parallel.length;
  const coverage = gold.tasks.length === 0 ? 1 : nodeOf.size / gold.tasks.length;
  const pairs = total === 0 ? 1 : right / total;
  return {
    id: gold.id,
    coverage,
    pairs,
    score: coverage * pairs,
    unmatched: gold.tasks.filter((_, i) => !nodeOf.has(i)),
    wrongPairs,
  };
}
