import type { NodeState } from './scheduler.js';

/** What a run whose final nodes are all done went on without: its failed nodes and those blocked after them. */
export interface WentOnWithout {
  /** The final nodes (no node lists them as a parent), all done. */
  readonly finals: readonly string[];
  readonly failed: readonly string[];
  readonly blocked: readonly string[];
}

/**
 * A run is judged by its final nodes, as a DAG engine judges a run (Airflow's default for a DAG run, Argo's
 * `continueOn`): when every node settled (done, failed, or blocked after a failure), at least one failed, and every
 * final node is done, the failures were merged past (a merge takes what its quorum allows, or what a person said to
 * go on with) and the run's results are on its final nodes' branches. Null when nothing failed, when a final node did
 * not finish (it failed, or was blocked), or when a node is not settled (waiting, cancelled, pending).
 */
export function wentOnWithout(
  graph: Readonly<Record<string, { readonly parent_refs: readonly string[] }>>,
  stateOf: (id: string) => NodeState | undefined,
): WentOnWithout | null {
  const ids = Object.keys(graph);
  const states = new Map(ids.map((id) => [id, stateOf(id)]));
  if (![...states.values()].every((s) => s === 'done' || s === 'failed' || s === 'blocked')) return null;
  const failed = ids.filter((id) => states.get(id) === 'failed');
  if (failed.length === 0) return null;
  const parents = new Set(ids.flatMap((id) => graph[id]?.parent_refs ?? []));
  const finals = ids.filter((id) => !parents.has(id));
  if (finals.length === 0 || !finals.every((id) => states.get(id) === 'done')) return null;
  return { finals, failed, blocked: ids.filter((id) => states.get(id) === 'blocked') };
}
