import { join, relative } from 'node:path';
import { openAuditLog, type AuditLog } from '../audit/index.js';
import type { LoadedArtifact, RunArtifacts } from '../governance/index.js';
import type { z } from 'zod';
import {
  ExecutionPlanSchema,
  MentalModelBundleSchema,
  WorkflowTopologySpecSchema,
  type ExecutionPlan,
  type MentalModelBundle,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import {
  parseFrontmatter,
  readJsonArtifact,
  readTextIfExists,
  smallFsOf,
  type RunRef,
  type Workspace,
} from '../workspace/index.js';
import { createTicketStore, type TicketDoc, type TicketStore } from '../tickets/index.js';
import type { AppDeps } from './create-app.js';
import { auditExists, auditOptions } from './settings.js';

/** Paths of a run's design artifacts, relative to its folder. */
export const ARTIFACT_PATHS = {
  topology: '10_topology/workflow_topology_spec.json',
  bundle: '20_mental-model/mental_model_bundle.json',
  plan: '30_execution/execution_plan.json',
  taskContext: '40_collaboration/task-context',
  tickets: '40_collaboration/task-context/tickets',
  observability: '60_observability',
  governance: '70_governance',
} as const;

/** A run's three design artifacts by kind. */
export interface DesignArtifacts {
  readonly topology: WorkflowTopologySpec;
  readonly bundle: MentalModelBundle;
  readonly plan: ExecutionPlan;
}

const DESIGN_SCHEMAS: { readonly [K in keyof DesignArtifacts]: z.ZodType<DesignArtifacts[K]> } = {
  topology: WorkflowTopologySpecSchema,
  bundle: MentalModelBundleSchema,
  plan: ExecutionPlanSchema,
};

/**
 * One design artifact of a run folder, schema-checked; a missing file is NotFound as `what` (default: the kind), an
 * invalid one names the file and field.
 */
export function readRunArtifact<K extends keyof DesignArtifacts>(
  deps: AppDeps,
  dir: string,
  kind: K,
  what: string = kind,
): Promise<DesignArtifacts[K]> {
  return readJsonArtifact(smallFsOf(deps), join(dir, ARTIFACT_PATHS[kind]), DESIGN_SCHEMAS[kind], what);
}

/**
 * The node ids of a run's plan, read without its schema check, or null when it is missing, unreadable or not a plan's
 * JSON (never an error: one bad run must not hide the others): for a list of runs, which only counts nodes (checking
 * each whole plan was most of `mso status`'s time with many open).
 */
export async function planNodeIds(deps: AppDeps, dir: string): Promise<string[] | null> {
  const text = await readTextIfExists(smallFsOf(deps), join(dir, ARTIFACT_PATHS.plan)).catch(() => undefined);
  if (text === undefined) return null;
  try {
    const graph = (JSON.parse(text) as { execution_graph?: unknown } | null)?.execution_graph;
    return graph !== null && typeof graph === 'object' && !Array.isArray(graph) ? Object.keys(graph) : null;
  } catch {
    return null;
  }
}

/** A run's design artifacts, each schema-checked, or null when missing or invalid (for read-only views). */
export async function readDesign(
  deps: AppDeps,
  dir: string,
): Promise<{ readonly [K in keyof DesignArtifacts]: DesignArtifacts[K] | null }> {
  const read = <K extends keyof DesignArtifacts>(kind: K): Promise<DesignArtifacts[K] | null> =>
    readRunArtifact(deps, dir, kind).catch(() => null);
  return { topology: await read('topology'), bundle: await read('bundle'), plan: await read('plan') };
}

/** Where a run started with --init keeps the new, empty repository it branches from (its own, in its folder). */
export const ownRepoDir = (runDir: string): string => join(runDir, 'repo');

/** The ticket store of a run's task context. */
export function runTicketStore(deps: AppDeps, runDir: string): TicketStore {
  return createTicketStore(deps, join(runDir, ARTIFACT_PATHS.taskContext));
}

/** The run's tickets that execute a plan node, by node id (none when the run has no task context yet). */
export async function ticketsByNode(
  deps: AppDeps,
  runDir: string,
): Promise<Map<string, { id: string; status: string }>> {
  const list = await runTicketStore(deps, runDir)
    .list()
    .catch(() => []);
  return byNode(list);
}

/** Tickets that execute a plan node, by node id: their id and status. */
export function byNode(list: ReadonlyArray<{ readonly doc: TicketDoc }>): Map<string, { id: string; status: string }> {
  return new Map(
    list
      .filter((t) => t.doc.frontmatter.node_id)
      .map((t) => [
        t.doc.frontmatter.node_id as string,
        { id: t.doc.frontmatter.id, status: t.doc.frontmatter.status },
      ]),
  );
}

async function loadJson(deps: AppDeps, file: string): Promise<LoadedArtifact | undefined> {
  const text = await readTextIfExists(smallFsOf(deps), file);
  if (text === undefined) return undefined;
  try {
    return { file, raw: JSON.parse(text) as unknown };
  } catch (e) {
    return { file, raw: undefined, parseError: `not valid JSON: ${(e as Error).message}` };
  }
}

/**
 * Reads every artifact of a run for governance (missing ones stay undefined). `log`: an audit log the caller holds
 * open, read instead of opening one (an audit log that does not exist yet is not made by this read).
 */
export async function loadRunArtifacts(
  deps: AppDeps,
  ws: Workspace,
  ref: RunRef,
  log?: Pick<AuditLog, 'db'>,
): Promise<RunArtifacts> {
  const dir = ref.dir;
  const ticketsDir = join(dir, ARTIFACT_PATHS.tickets);
  const names = (await deps.fs.readdir(ticketsDir).catch(() => [] as string[])).sort();
  const tickets: LoadedArtifact[] = [];
  const collaborations: LoadedArtifact[] = [];
  for (const n of names) {
    const file = join(ticketsDir, n);
    if (/^TKT-\d+.*\.md$/.test(n)) {
      const text = (await readTextIfExists(deps.fs, file)) ?? '';
      try {
        tickets.push({ file, raw: parseFrontmatter(text, file).data });
      } catch (e) {
        tickets.push({ file, raw: undefined, parseError: (e as Error).message });
      }
    } else if (n.endsWith('.agent-collaboration.json')) {
      const a = await loadJson(deps, file);
      if (a) collaborations.push(a);
    }
  }
  const obsDir = join(dir, ARTIFACT_PATHS.observability);
  const callbacks: LoadedArtifact[] = [];
  for (const n of (await deps.fs.readdir(obsDir).catch(() => [] as string[])).sort()) {
    if (/^callback-.*\.json$/.test(n)) {
      const a = await loadJson(deps, join(obsDir, n));
      if (a) callbacks.push(a);
    }
  }
  const auditPayloads: LoadedArtifact[] = [];
  const readPayloads = (from: Pick<AuditLog, 'db'>): void => {
    for (const row of from.db
      .prepare('SELECT id, payload FROM audit_logs WHERE run_id = ? AND payload IS NOT NULL')
      .all(ref.runId) as Array<{ id: string; payload: string }>) {
      auditPayloads.push({ file: `audit.db#audit_logs/${row.id}`, raw: JSON.parse(row.payload) as unknown });
    }
  };
  if (log) readPayloads(log);
  else if (await auditExists(ws, deps)) {
    const opened = openAuditLog(deps, auditOptions(ws, deps));
    try {
      readPayloads(opened);
    } finally {
      opened.close();
    }
  }
  return {
    runId: ref.runId,
    manifest: await loadJson(deps, join(dir, 'manifest.json')),
    topology: await loadJson(deps, join(dir, ARTIFACT_PATHS.topology)),
    bundle: await loadJson(deps, join(dir, ARTIFACT_PATHS.bundle)),
    plan: await loadJson(deps, join(dir, ARTIFACT_PATHS.plan)),
    tickets,
    collaborations,
    callbacks,
    auditPayloads,
  };
}

/** A path for reports: relative to the workspace root when inside it. */
export function displayPath(ws: Workspace, file: string): string {
  const rel = relative(ws.layout.root, file);
  return rel.startsWith('..') ? file : rel;
}
