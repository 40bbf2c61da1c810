/**
 * Ordering for the offline planner: turns the extracted units into tasks and dependency edges. A unit runs after
 * the step before it, beside it (same verb, a parallel marker, or a bullet list of one stage), or after every open
 * end ("both", "the results", "두 작업", a decision). A unit spread over several targets runs them side by side.
 */
import type { GraphEdge } from './graph.js';
import type { Link, Unit } from './task-extraction.js';
import type { OutputType } from '../contracts/index.js';
import type { TaskRole } from './topology-builder.js';

/** A task before it gets its id. */
export interface OrderedTask {
  readonly text: string;
  readonly label?: string | undefined;
  readonly role: TaskRole;
  /** Set when the goal's words decide it beyond the task's own (a part of what a title builds is code). */
  readonly outputType?: OutputType | undefined;
  /** Set when the task's text is more than its own words (one task read out of a longer goal). */
  readonly persona?: string | undefined;
}

/**
 * Work other than building that an item under a building title keeps: led by a verb of reviewing, measuring or
 * writing about ("review the query plan", "write the release notes"), or naming writing ("the docs"); in Korean, whose
 * items are noun phrases, the noun ("문서 작성", "성능 비교"). A domain noun alone ("list open reports") is still code.
 */
const NOT_BUILDING =
  /^(?:review|audit|evaluate|assess|compare|measure|benchmark|analy[sz]e|document|report on|plan|announce|write (?:the |a |an )?(?:docs?|documentation|readme|notes?|release notes|report|changelog|announcement|summary))\b|^(?:the\s+)?(?:docs?|documentation|readme|release notes|changelog)\b|검토|평가|비교|측정|분석|문서|보고서|발표|계획/i;

/** Tasks and forward edges between them (indices into `tasks`), with the reasons the edges were drawn. */
export interface Ordering {
  readonly tasks: OrderedTask[];
  readonly edges: Array<{ from: number; to: number }>;
  readonly reasons: string[];
}

interface Group {
  members: number[];
  parents: number[];
  stage: number;
  verb: string;
}

/** How a unit links to the one before it once 'auto' is resolved. */
function resolve(u: Unit, prev: Unit | undefined, group: Group | undefined): Exclude<Link, 'auto'> | 'first' {
  if (!prev || !group) return 'first';
  if (u.link !== 'auto') return u.link;
  if (u.kind === 'item' && prev.kind === 'item') return 'par';
  if (u.set) return u.stage > group.stage ? 'seq' : 'par';
  return u.verb !== '' && u.verb === prev.verb && !prev.frame ? 'par' : 'seq';
}

/** Orders units into tasks and edges (see the module comment). */
export function orderUnits(units: readonly Unit[]): Ordering {
  const tasks: OrderedTask[] = [];
  const edges: Array<{ from: number; to: number }> = [];
  const reasons = new Set<string>();
  let group: Group | undefined;
  let prev: Unit | undefined;
  const hasChild = new Set<number>();
  const connect = (parents: number[], ids: number[]): void => {
    for (const p of parents)
      for (const id of ids) {
        edges.push({ from: p, to: id });
        hasChild.add(p);
      }
  };
  const add = (texts: readonly string[], role: TaskRole, label?: string, builds = false): number[] =>
    texts.map(
      (text) =>
        tasks.push({
          text,
          role,
          ...(label ? { label } : {}),
          ...(builds && !NOT_BUILDING.test(text) ? { outputType: 'code' as const } : {}),
        }) - 1,
    );
  for (const u of units) {
    const link = resolve(u, prev, group);
    if (u.frame) {
      // The criteria step comes where the comparison would; the alternatives fan out from it.
      const [f] = add(
        [u.frame],
        'root',
        /[\uac00-\ud7a3]/.test(u.frame) ? '비교 기준 정의' : 'Define the comparison criteria',
      );
      const parents = link === 'first' ? [] : link === 'join' ? sinks() : (group?.members ?? []);
      connect(parents, [f as number]);
      const ids = add(u.tasks, 'item');
      connect([f as number], ids);
      group = { members: ids, parents: [f as number], stage: u.stage, verb: u.verb };
      reasons.add('a comparison fans out from its criteria');
      prev = u;
      continue;
    }
    const all = add(u.tasks, 'item', undefined, u.builds === true);
    // Targets "in order" chain one after another; the unit then links through its first and last.
    for (let i = 1; u.chain && i < all.length; i++) connect([all[i - 1] as number], [all[i] as number]);
    const ids = u.chain ? all.slice(0, 1) : all;
    if (u.chain) reasons.add('targets listed in order run one after another');
    else if (u.tasks.length > 1) reasons.add(`${u.tasks.length} targets of one verb run in parallel`);
    if (link === 'first' || !group) {
      group = { members: ids, parents: [], stage: u.stage, verb: u.verb };
    } else if (link === 'par') {
      connect(group.parents, ids);
      group.members.push(...ids);
      group.stage = Math.max(group.stage, u.stage);
      reasons.add('parallel markers, repeated verbs and list items of one stage run side by side');
    } else {
      const parents = link === 'join' ? sinks().filter((s) => !ids.includes(s)) : group.members;
      connect(parents, ids);
      group = { members: ids, parents, stage: u.stage, verb: u.verb };
      reasons.add(
        link === 'join'
          ? 'a step naming both/all/the results joins what came before'
          : 'sequence markers and clause order',
      );
    }
    if (u.chain) group = { ...(group as Group), members: all.slice(-1) };
    prev = u;
  }
  return { tasks, edges, reasons: [...reasons] };

  function sinks(): number[] {
    return tasks.map((_, i) => i).filter((i) => !hasChild.has(i));
  }
}

/** Indices of tasks with no forward edge out of them. */
export function sinksOf(count: number, edges: ReadonlyArray<{ from: number }>): number[] {
  const out = new Set(edges.map((e) => e.from));
  return Array.from({ length: count }, (_, i) => i).filter((i) => !out.has(i));
}

/** Edges in the graph's id form. */
export function toGraphEdges(ids: readonly string[], edges: ReadonlyArray<{ from: number; to: number }>): GraphEdge[] {
  return edges.map((e) => ({ from: ids[e.from] as string, to: ids[e.to] as string }));
}
