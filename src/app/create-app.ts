import { dirname } from 'node:path';
import type { ExplainOps } from './explain-ops.js';
import type { McpInstallRequest, McpInstallResult, McpUninstallRequest, McpUninstallResult } from './mcp-install.js';
import type { Policy, RunStatus } from '../contracts/index.js';
import { InvalidArgumentError } from '../contracts/index.js';
import type { PlatformDeps, Redactor } from '../platform/index.js';
import {
  normalizeSkillKey,
  openWorkspace,
  slugFromGoal,
  smallFsOf,
  toCaseSlug,
  type AnchorCheck,
  type RunRef,
  type SyncResult,
  type Workspace,
  type WorkspaceStatus,
} from '../workspace/index.js';
import type { AgentsOps } from './agents-ops.js';
import type { WorkerOps } from './distributed/worker-ops.js';
import type { AuditOps } from './audit-ops.js';
import type { DesignOps } from './design-ops.js';
import { lazyOps } from './lazy-ops.js';
import type { TicketOps } from './ticket-ops.js';
import type { PipelineResult } from './pipeline-ops.js';
import { createRunOps, type RunOps } from './run-ops.js';
import type { ObserveOps } from './observe-ops.js';
import { createSchemaOps, type SchemaOps } from './schema-ops.js';
import type { DashboardOps } from './dashboard-ops.js';
import { createAppRedactor, withPolicySecrets } from './redaction.js';
import { auditUrl, type ResolvedSettings } from './settings.js';

/** Where the app reports warnings and progress (stderr in the CLI, logging in MCP). */
export interface AppLogger {
  warn(message: string): void;
  info(message: string): void;
}

export interface AppDeps extends PlatformDeps {
  readonly logger: AppLogger;
  /** The process environment: the source of secret values to redact, and of agent credentials. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The mso version, recorded in exports and provenance. */
  readonly version: string;
}

/** A run as the interfaces show it. */
export interface RunView {
  readonly run_id: string;
  readonly status: RunStatus;
  readonly dir: string;
  readonly observation: string;
  readonly manifest: RunRef['manifest'];
  readonly sync?: SyncResult;
}

export interface InitResult {
  readonly workspace: string;
  readonly observation: string;
  readonly policy_file: string;
  readonly workspace_id: string | null;
  readonly observation_id: string | null;
  readonly policy: Policy;
}

export interface CreateRunRequest {
  readonly runId?: string | undefined;
  readonly skillKey?: string | undefined;
  readonly caseSlug?: string | undefined;
  readonly goal?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  /** The run executes right after it is made (MCP `run_start`): refused at max_active_runs before it is made. */
  readonly live?: boolean | undefined;
}

/** The application API: one method per user-level operation. The CLI and MCP server call only this. */
export interface MsoApp {
  readonly settings: ResolvedSettings;
  /**
   * The redactor every sink of this app goes through; interfaces pass their output through it too (stdout,
   * MCP results). It learns the workspace policy's secrets when the workspace is opened.
   * @example io.stdout(app.redactor.text(line))
   */
  readonly redactor: Redactor;
  /**
   * Schema catalogue.
   * @example await app.schema.validate('topology', 'workflow_topology_spec.json')
   */
  readonly schema: SchemaOps;
  /**
   * The audit log: append CC-05 payloads, read-only SQL, tail, stats, export (JSONL or OTLP traces).
   * @example const { rows } = await app.audit.query('SELECT count(*) AS n FROM events')
   */
  readonly audit: AuditOps;
  /**
   * Agents: availability and breaker state, one resilient call, breaker health.
   * @example const { result } = await app.agents.try({ name: 'shell', prompt: 'echo hi' })
   */
  readonly agents: AgentsOps;
  /**
   * Scale-out: serve node jobs of distributed runs (`mso worker`), list the live workers (`mso workers`).
   * @example const { workers } = await app.workers.list({ redis: 'redis://127.0.0.1:6379' })
   */
  readonly workers: WorkerOps;
  /**
   * Design (topology, mental models, plan) and the governance checks.
   * @example const { run_id } = await app.design.all({ goal: 'Compare three caching strategies' })
   */
  readonly design: DesignOps;
  /**
   * Tickets of a task context (a run's, or a folder) and dispatching one to agents.
   * @example await app.tickets.move({ runId }, 'TKT-0001', 'in_progress')
   */
  readonly tickets: TicketOps;
  /**
   * The swarm engine: run a goal or workflow as a DAG in git worktrees; resume, cancel, status, human decisions.
   * @example const summary = await app.engine.run({ workflow: 'examples/review-and-merge.yaml' })
   */
  readonly engine: RunOps;
  /**
   * Observability: detectors, callback events, improvement proposals, the portfolio.
   * @example const [result] = await app.observe.observe({ runId })
   */
  readonly observe: ObserveOps;
  /**
   * Reproducibility: provenance, the timeline of a run with its decision context, and run-to-run diffs.
   * @example const { entries } = await app.explain.timeline(runId)
   */
  readonly explain: ExplainOps;
  /**
   * The dashboard's reads (runs, a run's DAG, a node, the human inbox, the live event feed) and its decisions.
   * @example const { nodes, edges } = await app.dashboard.graph(runId)
   */
  readonly dashboard: DashboardOps;
  /**
   * Writes (or returns, with print) the MCP configuration entry of `mso mcp` for Claude Code or Codex.
   * @example await app.installMcp({ host: 'claude', scope: 'project', print: true, launcher })
   */
  installMcp(req: McpInstallRequest): Promise<McpInstallResult>;
  /**
   * Removes the entry `installMcp` wrote (and nothing else) from Claude Code's or Codex's configuration.
   * @example await app.uninstallMcp({ host: 'codex', scope: 'user' })
   */
  uninstallMcp(req: McpUninstallRequest): Promise<McpUninstallResult>;
  /** The seed's sample pipeline: design → ticket → dispatch → audit → validate. */
  readonly pipeline: {
    sample(input: {
      goal: string;
      taskTitle: string;
      risk?: 'low' | 'medium' | 'high' | undefined;
    }): Promise<PipelineResult>;
  };
  readonly workspace: {
    /**
     * Creates both spaces, anchors and `policy.yaml` (idempotent).
     * @example const { policy_file } = await app.workspace.init()
     */
    init(): Promise<InitResult>;
    /** Anchor state, sync suspension and recent relocation events. */
    status(): Promise<WorkspaceStatus>;
    /** Accepts the observation root in use as the peer, ending a PEER_REPLACED suspension. */
    relink(): Promise<AnchorCheck>;
    /** Mirrors one run (or every non-archived run) into the observation workspace. */
    sync(runId?: string): Promise<Array<{ run_id: string } & SyncResult>>;
  };
  readonly runs: {
    /**
     * Scaffolds a run and returns it.
     * @example const run = await app.runs.create({ skillKey: 'msowd', caseSlug: 'onboarding' })
     */
    create(input: CreateRunRequest): Promise<RunView>;
    list(status?: RunStatus): ReturnType<Workspace['runs']['list']>;
    show(runId: string): Promise<RunView>;
    /** Sets a run's final status (completed or failed) and records it in the index. */
    finalize(runId: string, status: 'completed' | 'failed', message?: string): Promise<RunView>;
    /** Moves a finished run to `archive/<YYYY-MM>/`. */
    archive(runId: string): Promise<RunView>;
    /** Archives every finished run older than `auto_archive_after_days`. */
    archiveDue(): Promise<RunView[]>;
  };
  /** Opens the workspace (creating it unless `create` is false); later stages build on this. */
  open(create?: boolean): Promise<Workspace>;
}

/** Builds the application over injected ports and resolved settings. */
export function createApp(input: AppDeps, settings: ResolvedSettings): MsoApp {
  // One redactor for every writer below: each domain receives it in its deps.
  const redactor = input.redactor ?? createAppRedactor(input.env);
  const deps: AppDeps = { ...input, redactor };
  /** A case slug from user text, made after redaction so a run id never carries a secret. */
  const slugOf = (text: string): string => slugFromGoal(redactor.text(text));

  /**
   * The workspace as last opened, with the identity of the files that decide what opening it does (its policy, its
   * anchor and the observation root's). One command opens it many times (design, gate, execute, observe, summary):
   * each opening re-reads the policy and re-checks the anchors under their locks, about 7 ms here. While none of the
   * files changed, the opened workspace is handed back; a long-lived app (MCP, dashboard) sees a policy edit, a
   * relink, a moved observation root or a removed workspace at its next call.
   */
  let opened: { readonly ws: Workspace; readonly create: boolean; readonly stamp: string } | undefined;
  const stampOf = async (layout: Workspace['layout']): Promise<string> => {
    // On the calling thread when the platform can (three stats at every opening: a round trip each otherwise).
    const one = (path: string): Promise<string> =>
      smallFsOf(deps)
        .stat(path)
        .then(
          (st) => `${st.ino}:${st.size}:${st.mtimeMs}`,
          () => '-',
        );
    return (await Promise.all([one(layout.policyFile), one(layout.anchor), one(layout.observationAnchor)])).join(' ');
  };

  async function open(create = true): Promise<Workspace> {
    if (opened && (opened.create || !create) && (await stampOf(opened.ws.layout)) === opened.stamp) return opened.ws;
    if (!opened) await assertRootsAreFolders();
    const ws = await openWorkspace(deps, {
      root: settings.workspaceRoot,
      observationRoot: settings.observationRoot,
      observerId: settings.observerId,
      peerHints: settings.peerHints,
      create,
    });
    withPolicySecrets(redactor, ws.policy, deps.env);
    for (const w of ws.warnings) deps.logger.warn(w);
    // The audit log's opening is synchronous: load the PostgreSQL driver now when the store is shared.
    if (auditUrl(ws, deps)) await deps.preparePostgres?.();
    // Only a root inside a working tree needs it: loaded then, so start-up stays light.
    if (create && settings.gitExcludes.length > 0)
      await (await import('./git-exclude.js')).keepOutOfGitStatus(deps.fs, settings.gitExcludes);
    opened = { ws, create, stamp: await stampOf(ws.layout) };
    return ws;
  }

  /**
   * A workspace or observation root that is a file, or under one, is refused (exit 2, naming the flag or variable it
   * came from) before anything is read or made there: opening it would fail deep inside with ENOTDIR.
   */
  async function assertRootsAreFolders(): Promise<void> {
    const roots = [
      ['workspace', settings.workspaceRoot, settings.rootSources?.workspace],
      ['observation', settings.observationRoot, settings.rootSources?.observation],
    ] as const;
    for (const [name, root, source] of roots) {
      // The nearest part of the path that exists must be a folder (the rest is made when the space is).
      for (let p = root; ; p = dirname(p)) {
        const st = await deps.fs.stat(p).catch(() => undefined);
        if (st?.isDirectory()) break;
        if (st)
          throw new InvalidArgumentError(
            source ?? `${name} root`,
            `${root} cannot be the ${name} folder: ${p} is a file, not a folder`,
          );
        if (dirname(p) === p) break;
      }
    }
  }

  async function view(ws: Workspace, ref: RunRef, sync = true): Promise<RunView> {
    if (sync) {
      const { recordRunStatus } = await import('./audit-ops.js');
      await recordRunStatus(deps, ws, {
        runId: ref.runId,
        status: ref.manifest.status,
        updatedAt: ref.manifest.updated_at,
        skillKey: ref.manifest.skill_key,
        goal: ref.manifest.goal,
        finishedAt: ref.manifest.completed_at,
      });
    }
    const result = sync ? await ws.sync(ref.runId) : undefined;
    if (result?.skipped) deps.logger.warn(`observation not synced: ${result.skipped}`);
    return {
      run_id: ref.runId,
      status: ref.manifest.status,
      dir: ref.dir,
      observation: ws.layout.observationRunDir(ref.runId),
      manifest: ref.manifest,
      ...(result ? { sync: result } : {}),
    };
  }

  // Every domain's ops are imported on first use (lazy-ops.ts): a command loads only the modules it calls.
  const { cwd } = settings;
  const design = lazyOps<DesignOps>(async () => (await import('./design-ops.js')).createDesignOps(deps, cwd, open));
  const tickets = lazyOps<TicketOps>(async () => (await import('./ticket-ops.js')).createTicketOps(deps, cwd, open));
  const observe = lazyOps<ObserveOps>(
    async () => (await import('./observe-ops.js')).createObserveOps(deps, open),
    ['proposals'],
  );
  const engine = createRunOps(deps, cwd, open, design, observe);
  return {
    settings,
    redactor,
    schema: createSchemaOps(deps, cwd),
    pipeline: {
      sample: async (input) =>
        (await import('./pipeline-ops.js')).runSamplePipeline(
          { design, tickets, open, log: (l) => deps.logger.info(l) },
          input,
        ),
    },
    engine,
    dashboard: lazyOps<DashboardOps>(async () =>
      (await import('./dashboard-ops.js')).createDashboardOps(deps, open, engine, observe),
    ),
    explain: lazyOps<ExplainOps>(async () => (await import('./explain-ops.js')).createExplainOps(deps, open)),
    installMcp: async (req) => (await import('./mcp-install.js')).installMcpEntry(deps, settings, req),
    uninstallMcp: async (req) => (await import('./mcp-install.js')).uninstallMcpEntry(deps, settings, req),
    observe,
    audit: lazyOps<AuditOps>(async () =>
      (await import('./audit-ops.js')).createAuditOps(deps, cwd, open, deps.version),
    ),
    agents: lazyOps<AgentsOps>(async () => (await import('./agents-ops.js')).createAgentsOps(deps, cwd, open)),
    workers: lazyOps<WorkerOps>(async () => (await import('./distributed/worker-ops.js')).createWorkerOps(deps, open)),
    design,
    tickets,
    open,
    workspace: {
      async init() {
        const ws = await open(true);
        return {
          workspace: ws.layout.root,
          observation: ws.layout.observationRoot,
          policy_file: ws.layout.policyFile,
          workspace_id: ws.anchors?.workspaceId ?? null,
          observation_id: ws.anchors?.observationId ?? null,
          policy: ws.policy,
        };
      },
      async status() {
        return (await open(false)).status();
      },
      async relink() {
        return (await open(true)).relink();
      },
      async sync(runId) {
        const ws = await open(true);
        const ids = runId
          ? [runId]
          : (await ws.runs.list()).filter((r) => r.status !== 'archived').map((r) => r.run_id);
        const out: Array<{ run_id: string } & SyncResult> = [];
        for (const id of ids) out.push({ run_id: id, ...(await ws.sync(id)) });
        return out;
      },
    },
    runs: {
      async create(input) {
        if (input.runId !== undefined && (input.skillKey !== undefined || input.caseSlug !== undefined)) {
          throw new InvalidArgumentError('run id', 'give either --run-id or --skill-key/--case-slug, not both');
        }
        const id =
          input.runId !== undefined
            ? { runId: input.runId }
            : {
                skillKey: normalizeSkillKey(input.skillKey ?? 'msoorch'),
                caseSlug:
                  input.caseSlug !== undefined
                    ? toCaseSlug(redactor.text(input.caseSlug))
                    : input.goal
                      ? slugOf(input.goal)
                      : 'run',
              };
        const ws = await open(true);
        // Imported here: audit-ops is a write-side module that `mso status` never needs.
        (await import('./audit-ops.js')).assertAuditWritable(deps, ws);
        const ref = await ws.runs.create({
          id,
          live: input.live === true,
          ...(input.goal ? { goal: input.goal } : {}),
          ...(input.tags ? { tags: input.tags } : {}),
        });
        return view(ws, ref);
      },
      async list(status) {
        return (await open(false)).runs.list(status);
      },
      async show(runId) {
        const ws = await open(false);
        return view(ws, await ws.runs.get(runId), false);
      },
      async finalize(runId, status, message) {
        const ws = await open(true);
        const ref = await ws.runs.setStatus(
          runId,
          status,
          status === 'failed' ? { error: { message: message ?? 'finalized as failed', phase: 'finalize' } } : {},
        );
        return view(ws, ref);
      },
      async archive(runId) {
        const ws = await open(true);
        return view(ws, await ws.runs.archive(runId));
      },
      async archiveDue() {
        const ws = await open(true);
        const out: RunView[] = [];
        for (const ref of await ws.runs.archiveDue()) out.push(await view(ws, ref));
        return out;
      },
    },
  };
}
