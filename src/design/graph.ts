/** A directed edge; `back` marks a bounded loop back-edge, which is not a dependency. */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly back?: boolean;
}

/** Parents and children of every node over forward edges only. */
export function adjacency(
  ids: readonly string[],
  edges: readonly GraphEdge[],
): { parents: Map<string, string[]>; children: Map<string, string[]> } {
  const parents = new Map(ids.map((id) => [id, [] as string[]]));
  const children = new Map(ids.map((id) => [id, [] as string[]]));
  for (const e of edges) {
    if (e.back) continue;
    parents.get(e.to)?.push(e.from);
    children.get(e.from)?.push(e.to);
  }
  return { parents, children };
}

/** Kahn's algorithm over forward edges: the order, or the nodes left on a cycle. */
export function topoSort(ids: readonly string[], edges: readonly GraphEdge[]): { order: string[]; cycle: string[] } {
  const { parents, children } = adjacency(ids, edges);
  const indeg = new Map(ids.map((id) => [id, parents.get(id)?.length ?? 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  const order: string[] = [];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    order.push(id);
    for (const c of children.get(id) ?? []) {
      const d = (indeg.get(c) ?? 0) - 1;
      indeg.set(c, d);
      if (d === 0) queue.push(c);
    }
  }
  return { order, cycle: ids.filter((id) => !order.includes(id)) };
}

/** One cycle as a path `a -> b -> a`, for error messages. */
export function describeCycle(ids: readonly string[], edges: readonly GraphEdge[]): string | null {
  const { cycle } = topoSort(ids, edges);
  if (cycle.length === 0) return null;
  const { children } = adjacency(ids, edges);
  const inCycle = new Set(cycle);
  const start = cycle[0] as string;
  const path = [start];
  let cur = start;
  for (let i = 0; i < cycle.length + 1; i++) {
    const next = (children.get(cur) ?? []).find((c) => inCycle.has(c));
    if (!next) break;
    path.push(next);
    if (next === start || path.indexOf(next) < path.length - 1) break;
    cur = next;
  }
  return path.join(' -> ');
}
