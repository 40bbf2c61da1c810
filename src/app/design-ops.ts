import { join, resolve } from 'node:path';
import { runChain } from '../agents/index.js';
import { openAuditLog } from '../audit/index.js';
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
  type AskModel,
  type Risk,
} from '../design/index.js';
import {
  checkContracts,
  checkSchemas,
  checkStructure,
  statusOf,
  type Finding,
  type GovernanceStatus,
} from '../governance/index.js';
import {
  readTextIfExists,
  slugFromGoal,
  toCaseSlug,
  writeFileAtomic,
  writeJsonAtomic,
  type RunRef,
  type Workspace,
} from '../workspace/index.js';
import { choosePlanner, type PlannerChoice, type PlannerRequest } from './agent-readiness.js';
import { assertAuditWritable } from './audit-ops.js';
import { openAgentRuntime, retryPolicy } from './agents-ops.js';
import { designKeyOf } from './observe-ops.js';
import type { AppDeps } from './create-app.js';
import { readWorkflowInput } from './workflow-input.js';
import { ARTIFACT_PATHS, displayPath, loadRunArtifacts, readRunArtifact } from './run-artifacts.js';
import { auditOptions } from './settings.js';

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

export interface ValidationReport {
  readonly run_id: string;
  readonly check: 'schemas' | 'contracts' | 'structure' | 'all';
  readonly status: GovernanceStatus;
  readonly findings: readonly Finding[];
  readonly errors: number;
  readonly warnings: number;
  readonly report: string;
  readonly generated_at: string;
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
    input: TopologyRequest & { workflow?: string | undefined; workflowText?: string | undefined },
  ): Promise<{ run_id: string; topology: TopologyResult; bundle: string; plan: string; feedback_applied: string[] }>;
  show(
    runId: string,
    format: 'mermaid' | 'json' | 'text',
  ): Promise<{ run_id: string; format: string; content: string }>;
  validate(runId: string, check: ValidationReport['check']): Promise<ValidationReport>;
}

/** Design and governance use cases over the runtime workspace. */
export function createDesignOps(deps: AppDeps, cwd: string, open: (create?: boolean) => Promise<Workspace>): DesignOps {
  const now = (): string => deps.clock.now().toISOString();
  // Run ids are made from redacted text: a secret in a goal or workflow name never becomes a folder name.
  const redact = (s: string): string => deps.redactor?.text(s) ?? s;

  async function runFor(
    ws: Workspace,
    input: { runId?: string | undefined; caseSlug?: string | undefined; goal?: string | undefined },
  ): Promise<RunRef> {
    if (input.runId !== undefined) {
      try {
        return await ws.runs.get(input.runId);
      } catch (e) {
        if ((e as { code?: string }).code !== 'MSO_RUN_NOT_FOUND') throw e;
        assertAuditWritable(deps, ws);
        return ws.runs.create({ id: { runId: input.runId }, ...(input.goal ? { goal: input.goal } : {}) });
      }
    }
    const caseSlug =
      input.caseSlug !== undefined
        ? toCaseSlug(redact(input.caseSlug))
        : input.goal
          ? slugFromGoal(redact(input.goal))
          : 'design';
    assertAuditWritable(deps, ws);
    return ws.runs.create({ id: { skillKey: 'msowd', caseSlug }, ...(input.goal ? { goal: input.goal } : {}) });
  }

  function event(ws: Workspace, runId: string, type: string, payload: Record<string, unknown>): void {
    const log = openAuditLog(deps, auditOptions(ws, deps));
    try {
      log.appendEvent({ runId, type, payload });
    } finally {
      log.close();
    }
  }

  async function phase<T>(
    ws: Workspace,
    runId: string,
    dir: '10_topology' | '20_mental-model' | '30_execution' | '70_governance',
    fn: () => Promise<T>,
  ): Promise<T> {
    await ws.runs.setPhase(runId, dir, 'active');
    try {
      const out = await fn();
      await ws.runs.setPhase(runId, dir, 'completed');
      return out;
    } catch (e) {
      await ws.runs.setPhase(runId, dir, 'failed').catch(() => undefined);
      throw e;
    }
  }

  function askThroughAgents(ws: Workspace, runId: string, signal: AbortSignal | undefined): AskModel {
    return async (prompt) => {
      const rt = openAgentRuntime(deps, ws);
      try {
        const chain = ws.policy.design.planner_chain.map((n) => rt.adapter(n));
        const r = await runChain(
          { clock: deps.clock, random: deps.random, breaker: rt.breaker, retry: retryPolicy(ws.policy), audit: rt.log },
          chain,
          {
            runId,
            persona: 'arch',
            instructions: prompt,
            cwd: ws.layout.root,
            ...(signal ? { signal } : {}),
          },
        );
        return r.result.status === 'success'
          ? { ok: true, text: r.result.output }
          : {
              ok: false,
              reason: `${r.result.agent}: ${r.result.errorClass ?? r.result.status}: ${r.result.errorMessage ?? ''}`,
            };
      } catch (e) {
        return { ok: false, reason: (e as Error).message };
      } finally {
        rt.close();
      }
    };
  }

  async function readGoal(input: TopologyRequest, ws: Workspace | null): Promise<string> {
    if (input.goal !== undefined && input.goalFile !== undefined)
      throw new InvalidArgumentError('goal', 'give --goal or --goal-file, not both');
    let goal = input.goal;
    if (goal === undefined && input.goalFile === undefined && input.runId !== undefined && ws) {
      // An existing run keeps its goal: re-designing it needs no --goal.
      goal = await ws.runs.get(input.runId).then(
        (r) => r.manifest.goal,
        () => undefined,
      );
    }
    if (input.goalFile !== undefined) {
      const path = resolve(cwd, input.goalFile);
      goal = await readTextIfExists(deps.fs, path);
      if (goal === undefined) throw new NotFoundError('goal file', path);
    }
    if (goal === undefined) throw new InvalidArgumentError('goal', 'give --goal TEXT or --goal-file FILE');
    if (goal.trim() === '') throw new InvalidArgumentError('goal', 'the goal is empty');
    return goal;
  }

  async function writeTopology(
    ws: Workspace,
    ref: RunRef,
    raw: WorkflowTopologySpec,
    designKey: string,
  ): Promise<TopologyResult> {
    const path = join(ref.dir, ARTIFACT_PATHS.topology);
    // The design key ties later runs of the same goal or workflow to the proposals accepted for it.
    const topology: WorkflowTopologySpec = { ...raw, metadata: { ...raw.metadata, design_key: designKey } };
    await writeJsonAtomic(deps, path, WorkflowTopologySpecSchema.parse(topology));
    const planner = topology.metadata?.['planner'] ?? null;
    event(ws, ref.runId, 'design.topology', {
      topology_type: topology.topology_type,
      nodes: topology.nodes.length,
      edges: topology.edges.length,
      planner,
      rationale: topology.selection_rationale,
    });
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

  const ops: DesignOps = {
    async topology(input) {
      const fromRun = input.goal === undefined && input.goalFile === undefined && input.runId !== undefined;
      // Check the input before anything is created; only a goal kept by an existing run needs the workspace first.
      const goal = await readGoal(input, fromRun ? await open(false) : null);
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
      const ref = await runFor(ws, { runId: input.runId, caseSlug: input.caseSlug, goal });
      const planner = choice.used;
      const risk = input.risk ?? 'medium';
      const result = await phase(ws, ref.runId, '10_topology', async () => {
        const base = { runId: ref.runId, goal, risk, policy: ws.policy, at: now() };
        const topology =
          planner === 'llm'
            ? await planWithLlm({
                ...base,
                ask: askThroughAgents(ws, ref.runId, input.signal),
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
        );
      });
      deps.faults?.point('design.topology');
      await ws.sync(ref.runId);
      return result;
    },
    async import(input) {
      if ((input.workflow === undefined) === (input.workflowText === undefined))
        throw new InvalidArgumentError('workflow', 'give a workflow file or inline workflow text, one of the two');
      const path = input.workflow !== undefined ? resolve(cwd, input.workflow) : '(inline workflow)';
      if (input.workflow !== undefined && !(await deps.fs.stat(path).catch(() => undefined)))
        throw new NotFoundError('workflow file', path);
      const ws = await open(true);
      const { raw, text, name, caseSlug } = await readWorkflowInput(
        deps.fs,
        input.workflowText !== undefined ? { text: input.workflowText, label: path } : { path },
        ws.policy.design,
      );
      // Parse before creating the run, so a bad file leaves nothing behind.
      const probe = importWorkflow({
        raw,
        file: path,
        runId: '20000101-msowd-probe',
        policy: ws.policy,
        at: now(),
        risk: input.risk,
      });
      const ref = await runFor(ws, {
        runId: input.runId,
        caseSlug,
        goal: String(probe.metadata?.['goal_preview'] ?? name),
      });
      const result = await phase(ws, ref.runId, '10_topology', () =>
        writeTopology(ws, ref, { ...probe, run_id: ref.runId }, designKeyOf(text)),
      );
      deps.faults?.point('design.topology');
      await ws.sync(ref.runId);
      return result;
    },
    async mentalModel(runId) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const topology = await loadTopology(ref);
      const bundle = await phase(ws, runId, '20_mental-model', async () => {
        const b = buildBundle(topology, now());
        await writeJsonAtomic(deps, join(ref.dir, ARTIFACT_PATHS.bundle), MentalModelBundleSchema.parse(b));
        deps.faults?.point('design.mental_model');
        return b;
      });
      event(ws, runId, 'design.mental_model', {
        charts: bundle.local_charts.map((c) => ({ id: c.id, model: c.model_id, rationale: c.rationale })),
        feedback: bundle.topology_feedback,
      });
      await ws.sync(runId);
      return {
        run_id: runId,
        path: join(ref.dir, ARTIFACT_PATHS.bundle),
        charts: bundle.local_charts.length,
        feedback: bundle.topology_feedback,
      };
    },
    async refine(runId) {
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
      event(ws, runId, 'design.refine', { applied });
      await ws.sync(runId);
      return {
        run_id: runId,
        applied,
        topology: join(ref.dir, ARTIFACT_PATHS.topology),
        bundle: join(ref.dir, ARTIFACT_PATHS.bundle),
      };
    },
    async plan(runId) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const topology = await loadTopology(ref);
      const bundle = await loadBundle(ref);
      const plan = await phase(ws, runId, '30_execution', async () => {
        const p = buildPlan(topology, bundle, ws.policy, now());
        await writeJsonAtomic(deps, join(ref.dir, ARTIFACT_PATHS.plan), ExecutionPlanSchema.parse(p));
        deps.faults?.point('design.plan');
        return p;
      });
      const types = Object.fromEntries(Object.entries(plan.execution_graph).map(([id, n]) => [id, n.type]));
      event(ws, runId, 'design.plan', { node_types: types });
      await ws.sync(runId);
      return { run_id: runId, path: join(ref.dir, ARTIFACT_PATHS.plan), nodes: types };
    },
    async all(input) {
      const topology =
        input.workflow !== undefined || input.workflowText !== undefined
          ? await ops.import({
              workflow: input.workflow,
              workflowText: input.workflowText,
              runId: input.runId,
              risk: input.risk,
            })
          : await ops.topology(input);
      const runId = topology.run_id;
      const mm = await ops.mentalModel(runId);
      let applied: string[] = [];
      if (mm.feedback.length > 0) applied = (await ops.refine(runId)).applied;
      const plan = await ops.plan(runId);
      return { run_id: runId, topology, bundle: mm.path, plan: plan.path, feedback_applied: applied };
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
    async validate(runId, check) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const artifacts = await loadRunArtifacts(deps, ws, ref);
      const findings = [
        ...(check === 'schemas' || check === 'all' ? checkSchemas(artifacts) : []),
        ...(check === 'contracts' || check === 'all' ? checkContracts(artifacts) : []),
        ...(check === 'structure' || check === 'all' ? checkStructure(artifacts) : []),
      ].map((f) => ({ ...f, ...(f.file ? { file: displayPath(ws, f.file) } : {}) }));
      const names = {
        schemas: 'schema_validation.json',
        contracts: 'cc_contract_validation.json',
        structure: 'structure_validation.json',
        all: 'governance_report.json',
      } as const;
      const report = join(ref.dir, ARTIFACT_PATHS.governance, names[check]);
      const body: ValidationReport = {
        run_id: runId,
        check,
        status: statusOf(findings),
        findings,
        errors: findings.filter((f) => f.level === 'error').length,
        warnings: findings.filter((f) => f.level === 'warning').length,
        report,
        generated_at: now(),
      };
      await ws.runs
        .setPhase(runId, '70_governance', body.status === 'fail' ? 'failed' : 'completed')
        .catch(() => undefined);
      await writeJsonAtomic(deps, report, body);
      if (check === 'all') {
        const md = [
          `# Governance report: ${runId}`,
          '',
          `Status: **${body.status}** (${body.errors} errors, ${body.warnings} warnings), ${body.generated_at}`,
          '',
          ...(findings.length
            ? [
                '| level | check | rule | where | message |',
                '|---|---|---|---|---|',
                ...findings.map(
                  (f) =>
                    `| ${f.level} | ${f.check} | ${f.rule} | ${f.file ?? ''}${f.path ? ` \`${f.path}\`` : ''} | ${f.message.replace(/\|/g, '\\|')} |`,
                ),
              ]
            : ['No findings.']),
          '',
        ].join('\n');
        await writeFileAtomic(deps, join(ref.dir, ARTIFACT_PATHS.governance, 'governance_check_report.md'), md);
      }
      event(ws, runId, 'governance.validate', {
        check,
        status: body.status,
        errors: body.errors,
        warnings: body.warnings,
      });
      await ws.sync(runId);
      return body;
    },
  };
  return ops;
}
