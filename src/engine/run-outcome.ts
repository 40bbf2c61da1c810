import type { NodeState } from './scheduler.js';

/**
 * The failed nodes a run went on without: each failed node's children (a merge takes a failed parent only when its
 * quorum was met, or a person approved going on) all ran to done, every other node is done, and no node is left
 * unsettled. Such a run is completed, as a DAG engine judges a run by its final nodes (Airflow's default for a DAG
 * run, Argo's `continueOn`): its results are on its final nodes' branches. An empty list when there are none, or
 * when any failure reached a final node (it failed, or a node after it was blocked) or any node is not settled.
 */
export function absorbedFailures(
  graph: Readonly<Record<string, { readonly parent_refs: readonly string[] }>>,
  stateOf: (id: string) => NodeState | undefined,
): Array<{ readonly node: string; readonly children: readonly string[] }> {
  const ids = Object.keys(graph);
  if (!ids.every((id) => stateOf(id) === 'done' || stateOf(id) === 'failed')) return [];
  const failed = ids.filter((id) => stateOf(id) === 'failed');
  const childrenOf = (id: string): string[] => ids.filter((c) => graph[c]?.parent_refs.includes(id));
  const absorbed = failed.map((node) => ({ node, children: childrenOf(node) }));
  // A final node that failed is the run's own failure; so is one whose children did not all finish.
  if (absorbed.some((a) => a.children.length === 0 || !a.children.every((c) => stateOf(c) === 'done'))) return [];
  return absorbed;
}
