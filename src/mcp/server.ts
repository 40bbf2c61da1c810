import { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { underWay, type MsoApp } from '../app/index.js';
import { HITL_ID_PATTERN, InvalidArgumentError, ServerStoppingError } from '../contracts/index.js';
import type { BackgroundRuns } from './background.js';
import { registerRunResources } from './resources.js';
import { Loose, guard } from './tool-result.js';
import { registerWorkTools } from './work-tools.js';

/**
 * The MCP surface of mso: a small, deliberate tool set over the same app API as the CLI (orchestrate, run_status,
 * run_cancel, run_resume, decide, design, tickets, run_explain, run_replay, audit_query, observe) and read-only
 * resources for runs.
 */
export function createMcpServer(app: MsoApp, version: string, background: BackgroundRuns): McpServer {
  const server = new McpServer({ name: 'mso', version }, { capabilities: { tools: {}, resources: {}, logging: {} } });
  const assertServing = (): void => {
    if (background.stopping.aborted) throw new ServerStoppingError(String(background.stopping.reason));
  };
  const startInBackground = (runId: string, work: (signal: AbortSignal) => Promise<unknown>): void => {
    assertServing();
    if (!background.start(runId, work))
      throw new InvalidArgumentError('run_id', `run ${runId} is already running in this server`);
  };
  /** A request's own signal, also aborted when the server stops: long requests then answer with what they have. */
  const untilStop = (signal: AbortSignal): AbortSignal => AbortSignal.any([signal, background.stopping]);

  server.registerTool(
    'orchestrate',
    {
      title: 'Orchestrate a goal or a workflow',
      description:
        'Design a goal into a workflow (hierarchical decomposition by default), or import a workflow (a file path, or YAML/JSON inline), pass the governance gate and execute it in git worktrees of repo, in the background. Refused at once (nothing written) when no agent can do its nodes, unless config.allowManual. Returns {run_id, status: "running"}; poll run_status.',
      inputSchema: z.object({
        goal: z.string().min(1).optional().describe('what to achieve (or give workflow / workflow_inline)'),
        workflow: z.string().min(1).optional().describe('path of a workflow file (YAML or JSON)'),
        workflow_inline: z.string().min(1).optional().describe('a workflow as YAML or JSON text'),
        repo: z
          .string()
          .min(1)
          .optional()
          .describe('git repository to branch from (default: the one around the server; refused if there is none)'),
        init: z
          .boolean()
          .default(false)
          .describe('start from a new, empty repository (kept in the run folder) instead of repo'),
        pattern: z.enum(['parallel', 'hierarchical']).default('hierarchical'),
        context: z.record(z.string(), z.unknown()).optional().describe('extra context appended to the goal'),
        config: z
          .object({
            maxDepth: z.int().min(1).max(6).default(3),
            autoAssign: z.boolean().default(true),
            maxConcurrency: z.int().min(1).optional(),
            budgetUsd: z.number().min(0).optional(),
            agent: z.string().optional(),
            risk: z.enum(['low', 'medium', 'high']).optional(),
            planner: z.enum(['heuristic', 'llm', 'auto']).optional(),
            allowManual: z
              .boolean()
              .default(false)
              .describe('let nodes no agent can do go to a person (each needs a decide with done: true)'),
          })
          .default({ maxDepth: 3, autoAssign: true, allowManual: false }),
      }),
      outputSchema: z.looseObject({ run_id: z.string(), status: z.string() }),
    },
    async (args, ctx) =>
      guard(async () => {
        assertServing();
        const goal =
          args.goal !== undefined && args.context
            ? `${args.goal}\n\nContext:\n${JSON.stringify(args.context, null, 2)}`
            : args.goal;
        const request = {
          goal,
          workflow: args.workflow,
          workflowText: args.workflow_inline,
          repo: args.repo,
          init: args.init,
          pattern: args.pattern,
          maxDepth: args.config.maxDepth,
          autoAssign: args.config.autoAssign,
          maxConcurrency: args.config.maxConcurrency,
          budgetUsd: args.config.budgetUsd,
          agent: args.config.agent,
          risk: args.config.risk,
          planner: args.config.planner,
          allowManual: args.config.allowManual,
        };
        // The same refusals as `mso run`, before the run exists.
        const checked = await app.engine.preflight(request);
        // Made to run at once: refused at max_active_runs before it is made, as mso run is.
        const run = await app.runs.create(
          goal !== undefined
            ? { skillKey: 'msoorch', goal, live: true }
            : {
                skillKey: 'msoorch',
                caseSlug: checked.named?.caseSlug ?? 'workflow',
                goal: checked.named?.goal,
                live: true,
              },
        );
        const token = ctx.mcpReq._meta?.progressToken;
        const progress = async (n: number, message: string): Promise<void> => {
          if (token !== undefined)
            await ctx.mcpReq.notify({
              method: 'notifications/progress',
              params: { progressToken: token, progress: n, total: 2, message },
            });
        };
        await progress(1, `run ${run.run_id} created; designing and executing in the background`);
        startInBackground(run.run_id, (signal) =>
          app.engine.run({ ...request, planner: checked.planner.requested, runId: run.run_id, signal }),
        );
        await progress(2, 'started: poll run_status');
        return { run_id: run.run_id, status: 'running', planner: checked.planner };
      }),
  );

  server.registerTool(
    'run_status',
    {
      title: 'Status of a run',
      description:
        'Status, node and ticket counts, pending human items and cost of a run. With wait_seconds, waits (at most 60 s) until something changes.',
      inputSchema: z.object({ run_id: z.string().min(1), wait_seconds: z.number().min(0).max(60).optional() }),
      outputSchema: Loose,
      annotations: { readOnlyHint: true },
    },
    async (args, ctx) =>
      guard(async () => {
        const read = async (): Promise<Record<string, unknown>> => {
          const s = (await app.engine.status(args.run_id)) as unknown as Record<string, unknown>;
          const bg = background.get(args.run_id);
          return { ...s, running_here: bg !== undefined && !bg.finished, background_error: bg?.error ?? null };
        };
        let s = await read();
        const key = (x: Record<string, unknown>): string =>
          JSON.stringify([x['status'], x['nodes'], x['tickets'], x['pending_human']]);
        const deadline = Date.now() + (args.wait_seconds ?? 0) * 1000;
        const first = key(s);
        const stop = untilStop(ctx.mcpReq.signal);
        while (Date.now() < deadline && key(s) === first && !stop.aborted) {
          await new Promise((r) => setTimeout(r, 250));
          s = await read();
        }
        return s;
      }),
  );

  server.registerTool(
    'run_cancel',
    {
      title: 'Cancel a run',
      description: 'Stop dispatching and end running agents; the run stays resumable and records the reason.',
      inputSchema: z.object({
        run_id: z.string().min(1),
        reason: z.string().min(1).optional().describe('recorded with the cancellation'),
      }),
      outputSchema: Loose,
      annotations: { destructiveHint: true },
    },
    async (args) =>
      guard(async () => {
        const reason = args.reason ?? 'cancelled by the MCP host (run_cancel)';
        background.get(args.run_id)?.controller.abort(reason);
        const r = await app.engine.cancel(args.run_id, reason);
        await background.get(args.run_id)?.done;
        return { ...r, status: 'cancelled' };
      }),
  );

  server.registerTool(
    'run_resume',
    {
      title: 'Resume a run',
      description:
        'Resume a cancelled, failed or interrupted run (also one started by an earlier server), or start a designed one, in the background: done nodes are kept, the rest run again. Returns once it is under way (a refusal, such as no repository around the server, is the answer); poll run_status.',
      inputSchema: z.object({
        run_id: z.string().min(1),
        init: z
          .boolean()
          .default(false)
          .describe(
            'a designed run: start from a new, empty repository (kept in the run folder) when the server has none',
          ),
        allow_manual: z
          .boolean()
          .default(false)
          .describe(
            'a designed run: let nodes no agent can do go to a person (by default such a run is refused, nothing written)',
          ),
      }),
      outputSchema: z.looseObject({ run_id: z.string(), status: z.string() }),
    },
    async (args) =>
      guard(async () => {
        const s = (await app.engine.status(args.run_id)) as { status: string };
        if (s.status === 'completed' || s.status === 'archived')
          return { run_id: args.run_id, status: s.status, resumed: false };
        let under: Promise<string> | undefined;
        startInBackground(args.run_id, (signal) => {
          const { work, firstRunId } = underWay(null, (onProgress) =>
            app.engine.resume(args.run_id, { init: args.init, allowManual: args.allow_manual, signal, onProgress }),
          );
          under = firstRunId;
          return work;
        });
        await under;
        return { run_id: args.run_id, status: 'running', resumed: true };
      }),
  );

  server.registerTool(
    'decide',
    {
      title: 'Decide a human item',
      description:
        'Approve or reject a HITL-NNNN item of a run, with a note; by default the run then resumes in the background (a run a live coordinator still runs takes the decision up itself: resumed false). An item asking a person to do a node by hand is approved only with done: true, which says that person did the work.',
      inputSchema: z.object({
        run_id: z.string().min(1),
        item: z.string().regex(HITL_ID_PATTERN),
        decision: z.enum(['approve', 'reject']),
        note: z.string().optional(),
        done: z.boolean().optional().describe('manual work items: the person did the work'),
        resume: z.boolean().default(true),
      }),
      outputSchema: Loose,
    },
    async (args) =>
      guard(async () => {
        const r = await app.engine.decide(
          args.run_id,
          args.item,
          args.decision === 'approve' ? 'approved' : 'rejected',
          args.note,
          { done: args.done },
        );
        // A live coordinator (this server's or another process's) takes the decision up itself: nothing to resume.
        // A decision the other way on an item decided already changed nothing: nothing to resume either.
        const running = r.coordinator !== null || background.get(args.run_id)?.finished === false;
        const resume = args.resume && !running && !r.conflict;
        if (resume) startInBackground(args.run_id, (signal) => app.engine.resume(args.run_id, { signal }));
        return {
          run_id: args.run_id,
          item: r.item.id,
          status: r.item.status,
          changed: r.changed,
          conflict: r.conflict,
          resumed: resume,
          coordinator: r.coordinator,
        };
      }),
  );

  registerWorkTools(server, app, untilStop);
  registerRunResources(server, app);
  return server;
}
