import { join, resolve } from 'node:path';
import { openAuditLog, type AuditLog } from '../audit/index.js';
import {
  ExecutionPlanSchema,
  InvalidArgumentError,
  MentalModelBundleSchema,
  NotFoundError,
  WorkflowTopologySpecSchema,
  type ExecutionPlan,
  type MentalModelBundle,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import {
  applyFeedback,
  buildBundle,
  buildPlan,
  importWorkflow,
  planHeuristic,
  planWithLlm,
  toMermaid,
  toText,
  type Risk,
} from '../design/index.js';
import { slugFromGoal, toCaseSlug, writeJsonAtomic, type RunRef, type Workspace } from '../workspace/index.js';
import { choosePlanner, type PlannerChoice, type PlannerRequest } from './agent-readiness.js';
import { assertAuditWritable, heldOrOpened } from './audit-ops.js';
import { designKeyOf } from './observe-ops.js';
import type { AppDeps } from './create-app.js';
import { readWorkflowInput } from './workflow-input.js';
import { askThroughAgents, readGoal } from './design-input.js';
import { ARTIFACT_PATHS, readRunArtifact } from './run-artifacts.js';
import { validateRun, type ValidationReport } from './governance-validate.js';
import { auditOptions } from './settings.js';

export type { ValidationReport } from './governance-validate.js';

export interface TopologyRequest {
  readonly goal?: string | undefined;
  readonly goalFile?: string | undefined;
  readonly risk?: Risk | undefined;
  readonly runId?: string | undefined;
  readonly caseSlug?: string | undefined;
  /** `auto`: LLM if a model of design.planner_chain can be called, else heuristic; or a choice already made. */
  readonly planner?: PlannerRequest | PlannerChoice | undefined;
  readonly pattern?: 'parallel' | 'hierarchical' | undefined;
  readonly maxDepth?: number | undefined;
  readonly autoAssign?: boolean | undefined;
  /** Ends the planner's model calls (a run cancelled while it is being designed). */
  readonly signal?: AbortSignal | undefined;
}

/** A workflow to import: a file, or YAML/JSON text given inline (MCP). */
export interface ImportRequest {
  readonly workflow?: string | undefined;
  readonly workflowText?: string | undefined;
  readonly runId?: string | undefined;
  readonly risk?: Risk | undefined;
}

export interface TopologyResult {
  readonly run_id: string;
  readonly path: string;
  readonly topology_type: string;
  readonly nodes: number;
  readonly edges: number;
  readonly planner: unknown;
}

export interface DesignOps {
  topology(input: TopologyRequest): Promise<TopologyResult>;
  import(input: ImportRequest): Promise<TopologyResult>;
  mentalModel(
    runId: string,
  ): Promise<{ run_id: string; path: string; charts: number; feedback: MentalModelBundle['topology_feedback'] }>;
  refine(runId: string): Promise<{ run_id: string; applied: string[]; topology: string; bundle: string }>;
  plan(runId: string): Promise<{ run_id: string; path: string; nodes: Record<string, string> }>;
  all(
    input: TopologyRequest & {
      workflow?: string | undefined;
      workflowText?: string | undefined;
      /** False when the caller mirrors the run to the observation space itself right after (`mso run`'s gate does). */
      mirror?: boolean | undefined;
      /**
       * The caller executes the run right after (`mso run`): a new run is refused at max_active_runs before anything is
       * written. A run only designed takes no slot, and is not refused.
       */
      live?: boolean | undefined;
      /**
       * What the command shares (`mso run`: one audit log from the design to the observation after the run): the design
       * writes through the share's log, or opens one and leaves it there, open, also when it fails (the caller closes
       * it), and leaves there the run it made, once made. Without a share the design closes its own log.
       */
      share?: CommandShare | undefined;
    },
  ): Promise<{ run_id: string; topology: TopologyResult; bundle: string; plan: string; feedback_applied: string[] }>;
  show(
    runId: string,
    format: 'mermaid' | 'json' | 'text',
  ): Promise<{ run_id: string; format: string; content: string }>;
  /** `log`: the caller's open audit log, which it closes (else one is opened and closed here). */
  validate(runId: string, check: ValidationReport['check'], log?: AuditLog): Promise<ValidationReport>;
}

/**
 * What the use cases of one command share (see DesignOps.all): its audit log, which the first that needs it opens and
 * leaves here for the next ones, and the share's maker closes; and the run the design made, once made (also when the
 * design then fails: the caller records the failure).
 */
export interface CommandShare {
  log?: AuditLog | undefined;
  runId?: string | undefined;
}

/** Design and governance use cases over the runtime workspace. */
export function createDesignOps(deps: AppDeps, cwd: string, open: (create?: boolean) => Promise<Workspace>): DesignOps {
  const now = (): string => deps.clock.now().toISOString();
  // Run ids are made from redacted text: a secret in a goal or workflow name never becomes a folder name.
  const redact = (s: string): string => deps.redactor?.text(s) ?? s;

  async function runFor(
    ws: Workspace,
    input: { runId?: string | undefined; caseSlug?: string | undefined; goal?: string | undefined },
    s?: Session,
  ): Promise<RunRef> {
    // The log a design session writes to is the one checked (and, in a new workspace, made) here.
    const writable = (): void => assertAuditWritable(deps, ws, sessionLog(ws, s));
    // The session knows its run from here on (an error before the step returns still names it).
    const known = (ref: RunRef): RunRef => {
      if (s) s.share.runId = ref.runId;
      return ref;
    };
    if (input.runId !== undefined) {
      try {
        return known(await ws.runs.get(input.runId));
      } catch (e) {
        if ((e as { code?: string }).code !== 'MSO_RUN_NOT_FOUND') throw e;
        writable();
        return known(
          await ws.runs.create({
            id: { runId: input.runId },
            live: s?.live === true,
            ...(input.goal ? { goal: input.goal } : {}),
          }),
        );
      }
    }
    const caseSlug =
      input.caseSlug !== undefined
        ? toCaseSlug(redact(input.caseSlug))
        : input.goal
          ? slugFromGoal(redact(input.goal))
          : 'design';
    writable();
    return known(
      await ws.runs.create({
        id: { skillKey: 'msowd', caseSlug },
        live: s?.live === true,
        ...(input.goal ? { goal: input.goal } : {}),
      }),
    );
  }

  /**
   * The design steps of one `all` (mso run): they share one audit log, opened at its first event, and the run is
   * mirrored to the observation space once at the end instead of after each step. Alone, each step opens and closes
   * its own and mirrors the run itself. It also carries what the caller said of the run it makes (`live`).
   */
  interface Session {
    /** Its audit log and its run, once made (or found): the caller's share (see `all`), or one of its own. */
    readonly share: CommandShare;
    /** The run executes right after its design (see `all`'s `live`). */
    readonly live?: boolean | undefined;
  }

  /** A session's log, opened on first use and kept for its next steps; none outside a session. */
  const sessionLog = (ws: Workspace, s?: Session): AuditLog | undefined =>
    s ? (s.share.log ??= openAuditLog(deps, auditOptions(ws, deps))) : undefined;
  function event(ws: Workspace, runId: string, type: string, payload: Record<string, unknown>, s?: Session): void {
    const { log, release } = heldOrOpened(deps, ws, sessionLog(ws, s));
    try {
      log.appendEvent({ runId, type, payload });
    } finally {
      release();
    }
  }
  const mirror = async (ws: Workspace, runId: string, s?: Session): Promise<void> => {
    if (!s) await ws.sync(runId);
  };

  /**
   * Runs one design step as its phase: marked active, then completed or failed. In a session (mso run's design, whose
   * steps follow each other within milliseconds) only its end is written: each write of the manifest is a locked,
   * synced rewrite, and an 'active' mark would live a few milliseconds. A step's end is written as it happens, so a
   * design killed half-way leaves its finished phases recorded (its resume designs the rest).
   */
  async function phase<T>(
    ws: Workspace,
    runId: string,
    dir: '10_topology' | '20_mental-model' | '30_execution' | '70_governance',
    s: Session | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (!s) await ws.runs.setPhase(runId, dir, 'active');
    try {
      const out = await fn();
      await ws.runs.setPhase(runId, dir, 'completed');
      return out;
    } catch (e) {
      await ws.runs.setPhase(runId, dir, 'failed').catch(() => undefined);
      throw e;
    }
  }

  async function writeTopology(
    ws: Workspace,
    ref: RunRef,
    raw: WorkflowTopologySpec,
    designKey: string,
    s?: Session,
  ): Promise<TopologyResult> {
    const path = join(ref.dir, ARTIFACT_PATHS.topology);
    // The design key ties later runs of the same goal or workflow to the proposals accepted for it.
    const topology: WorkflowTopologySpec = { ...raw, metadata: { ...raw.metadata, design_key: designKey } };
    await writeJsonAtomic(deps, path, WorkflowTopologySpecSchema.parse(topology));
    const planner = topology.metadata?.['planner'] ?? null;
    event(
      ws,
      ref.runId,
      'design.topology',
      {
        topology_type: topology.topology_type,
        nodes: topology.nodes.length,
        edges: topology.edges.length,
        planner,
        rationale: topology.selection_rationale,
      },
      s,
    );
    return {
      run_id: ref.runId,
      path,
      topology_type: topology.topology_type,
      nodes: topology.nodes.length,
      edges: topology.edges.length,
      planner,
    };
  }

  const loadTopology = (ref: RunRef): Promise<WorkflowTopologySpec> =>
    readRunArtifact(deps, ref.dir, 'topology', 'topology (run mso design topology first)');
  const loadBundle = (ref: RunRef): Promise<MentalModelBundle> =>
    readRunArtifact(deps, ref.dir, 'bundle', 'mental model bundle (run mso design mental-model first)');
  const loadPlan = (ref: RunRef): Promise<ExecutionPlan> => readRunArtifact(deps, ref.dir, 'plan', 'execution plan');

  /** The design steps `all` runs, each with the session it shares (see {@link Session}). */
  type Steps = {
    [K in 'topology' | 'import' | 'mentalModel' | 'refine' | 'plan']: (
      input: Parameters<DesignOps[K]>[0],
      s?: Session,
    ) => ReturnType<DesignOps[K]>;
  };
  const ops: DesignOps & Steps = {
    async topology(input, s?: Session) {
      const fromRun = input.goal === undefined && input.goalFile === undefined && input.runId !== undefined;
      // Check the input before anything is created; only a goal kept by an existing run needs the workspace first.
      const goal = await readGoal(deps, cwd, input, fromRun ? await open(false) : null);
      if (
        input.maxDepth !== undefined &&
        !(Number.isInteger(input.maxDepth) && input.maxDepth >= 1 && input.maxDepth <= 6)
      ) {
        throw new InvalidArgumentError('--max-depth', 'must be an integer from 1 to 6');
      }
      const ws = await open(true);
      // Refused (llm with no usable model) or chosen (auto) before the run is created.
      const choice =
        typeof input.planner === 'object' ? input.planner : await choosePlanner(deps, ws.policy, input.planner);
      const ref = await runFor(ws, { runId: input.runId, caseSlug: input.caseSlug, goal }, s);
      const planner = choice.used;
      const risk = input.risk ?? 'medium';
      const result = await phase(ws, ref.runId, '10_topology', s, async () => {
        const base = { runId: ref.runId, goal, risk, policy: ws.policy, at: now() };
        const topology =
          planner === 'llm'
            ? await planWithLlm({
                ...base,
                ask: askThroughAgents(deps, ws, ref.runId, input.signal),
                pattern: input.pattern ?? ws.policy.design.pattern,
                maxDepth: input.maxDepth ?? ws.policy.design.max_depth,
                ...(input.autoAssign !== undefined ? { autoAssign: input.autoAssign } : {}),
              })
            : planHeuristic(base);
        // Which planner was asked for and which ran (auto says why it chose), beside the planner's own record.
        const record = (topology.metadata?.['planner'] ?? {}) as Record<string, unknown>;
        const said = {
          ...record,
          requested: choice.requested,
          used: record['used'] ?? choice.used,
          ...(choice.reason ? { choice_reason: choice.reason } : {}),
        };
        return writeTopology(
          ws,
          ref,
          { ...topology, metadata: { ...topology.metadata, planner: said } },
          designKeyOf(goal),
          s,
        );
      });
      deps.faults?.point('design.topology');
      await mirror(ws, ref.runId, s);
      return result;
    },
    async import(input, s?: Session) {
      if ((input.workflow === undefined) === (input.workflowText === undefined))
        throw new InvalidArgumentError('workflow', 'give a workflow file or inline workflow text, one of the two');
      const path = input.workflow !== undefined ? resolve(cwd, input.workflow) : '(inline workflow)';
      if (input.workflow !== undefined && !(await deps.fs.stat(path).catch(() => undefined)))
        throw new NotFoundError('workflow file', path);
      // Read and checked before the workspace is made (when this is its first run) and before the run is: a bad file
      // leaves nothing behind. The policy is the workspace's, or the default one when there is none yet.
      const read = await open(false);
      const { raw, text, name, caseSlug } = await readWorkflowInput(
        deps.fs,
        input.workflowText !== undefined ? { text: input.workflowText, label: path } : { path },
        read.policy.design,
      );
      const probe = importWorkflow({
        raw,
        file: path,
        runId: '20000101-msowd-probe',
        policy: read.policy,
        at: now(),
        risk: input.risk,
      });
      const ws = await open(true);
      const ref = await runFor(
        ws,
        { runId: input.runId, caseSlug, goal: String(probe.metadata?.['goal_preview'] ?? name) },
        s,
      );
      const result = await phase(ws, ref.runId, '10_topology', s, () =>
        writeTopology(ws, ref, { ...probe, run_id: ref.runId }, designKeyOf(text), s),
      );
      deps.faults?.point('design.topology');
      await mirror(ws, ref.runId, s);
      return result;
    },
    async mentalModel(runId, s?: Session) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const topology = await loadTopology(ref);
      const bundle = await phase(ws, runId, '20_mental-model', s, async () => {
        const b = buildBundle(topology, now());
        await writeJsonAtomic(deps, join(ref.dir, ARTIFACT_PATHS.bundle), MentalModelBundleSchema.parse(b));
        deps.faults?.point('design.mental_model');
        return b;
      });
      event(
        ws,
        runId,
        'design.mental_model',
        {
          charts: bundle.local_charts.map((c) => ({ id: c.id, model: c.model_id, rationale: c.rationale })),
          feedback: bundle.topology_feedback,
        },
        s,
      );
      await mirror(ws, runId, s);
      return {
        run_id: runId,
        path: join(ref.dir, ARTIFACT_PATHS.bundle),
        charts: bundle.local_charts.length,
        feedback: bundle.topology_feedback,
      };
    },
    async refine(runId, s?: Session) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const topology = await loadTopology(ref);
      const bundle = await loadBundle(ref).catch(() => buildBundle(topology, now()));
      const { topology: next, applied } = applyFeedback(topology, bundle);
      await writeJsonAtomic(
        deps,
        join(ref.dir, ARTIFACT_PATHS.topology),
        WorkflowTopologySpecSchema.parse({ ...next, metadata: { ...next.metadata, updated_at: now() } }),
      );
      await writeJsonAtomic(
        deps,
        join(ref.dir, ARTIFACT_PATHS.bundle),
        MentalModelBundleSchema.parse(buildBundle(next, now())),
      );
      event(ws, runId, 'design.refine', { applied }, s);
      await mirror(ws, runId, s);
      return {
        run_id: runId,
        applied,
        topology: join(ref.dir, ARTIFACT_PATHS.topology),
        bundle: join(ref.dir, ARTIFACT_PATHS.bundle),
      };
    },
    async plan(runId, s?: Session) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const topology = await loadTopology(ref);
      const bundle = await loadBundle(ref);
      const plan = await phase(ws, runId, '30_execution', s, async () => {
        const p = buildPlan(topology, bundle, ws.policy, now());
        await writeJsonAtomic(deps, join(ref.dir, ARTIFACT_PATHS.plan), ExecutionPlanSchema.parse(p));
        deps.faults?.point('design.plan');
        return p;
      });
      const types = Object.fromEntries(Object.entries(plan.execution_graph).map(([id, n]) => [id, n.type]));
      event(ws, runId, 'design.plan', { node_types: types }, s);
      await mirror(ws, runId, s);
      return { run_id: runId, path: join(ref.dir, ARTIFACT_PATHS.plan), nodes: types };
    },
    async all(input) {
      // The design writes into the caller's share (its log, once opened, stays there, whatever happens), or its own.
      const s: Session = { share: input.share ?? {}, live: input.live };
      try {
        const topology =
          input.workflow !== undefined || input.workflowText !== undefined
            ? await ops.import(
                { workflow: input.workflow, workflowText: input.workflowText, runId: input.runId, risk: input.risk },
                s,
              )
            : await ops.topology(input, s);
        const runId = topology.run_id;
        const mm = await ops.mentalModel(runId, s);
        let applied: string[] = [];
        if (mm.feedback.length > 0) applied = (await ops.refine(runId, s)).applied;
        const plan = await ops.plan(runId, s);
        if (input.mirror !== false) await (await open(true)).sync(runId);
        return { run_id: runId, topology, bundle: mm.path, plan: plan.path, feedback_applied: applied };
      } catch (e) {
        // The steps that were done show in the observation space, as they would have one by one.
        const made = s.share.runId;
        if (made !== undefined) await (await open(true)).sync(made).catch(() => undefined);
        throw e;
      } finally {
        if (!input.share) s.share.log?.close();
      }
    },
    async show(runId, format) {
      const ws = await open(false);
      const ref = await ws.runs.get(runId);
      const topology = await loadTopology(ref);
      const plan = await loadPlan(ref).catch(() => undefined);
      const content =
        format === 'mermaid'
          ? toMermaid(topology, plan)
          : format === 'text'
            ? toText(topology, plan)
            : JSON.stringify({ topology, plan: plan ?? null }, null, 2);
      return { run_id: runId, format, content };
    },
    async validate(runId, check, held) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      // One audit log for the checks' reading and the event after them.
      const { log, release } = heldOrOpened(deps, ws, held);
      let report: ValidationReport;
      try {
        report = await validateRun(deps, ws, ref, check, log);
        const { status, errors, warnings } = report;
        log.appendEvent({ runId, type: 'governance.validate', payload: { check, status, errors, warnings } });
      } finally {
        release();
      }
      await ws.sync(runId);
      return report;
    },
  };
  return ops;
}
