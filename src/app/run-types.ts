import type { HitlItem, RunStatus } from '../contracts/index.js';
import type { Risk } from '../design/index.js';
import type { Divergence, RunnerResult } from '../engine/index.js';
import type { PlannerChoice } from './agent-readiness.js';
import type { ValidationReport } from './design-ops.js';
import type { ProgressListener } from './run-progress.js';
import type { FullOutput, LogEntry, LogsResult } from './run-logs.js';
import type { NextStep } from './run-next.js';
import type { PrunedRun, PruneOptions } from './run-prune.js';

/** Where a run's nodes execute (`mso run|resume --backend/--redis/--remote/--queue-prefix`; policy `execution`). */
export interface ExecutionChoice {
  /** `local` (this process) or `distributed` (jobs for `mso worker` processes); default policy `execution.backend`. */
  readonly backend?: 'local' | 'distributed' | undefined;
  /** Redis of the distributed backend (else MSO_REDIS_URL, else `execution.redis_url`). */
  readonly redis?: string | undefined;
  /** The git remote workers use (else `execution.remote`, else the run's repository). */
  readonly remote?: string | undefined;
  /** Key prefix in Redis (else MSO_QUEUE_PREFIX, else `execution.queue_prefix`). */
  readonly queuePrefix?: string | undefined;
}

export interface RunRequest extends ExecutionChoice {
  readonly goal?: string | undefined;
  readonly goalFile?: string | undefined;
  readonly workflow?: string | undefined;
  /** A workflow given as YAML or JSON text instead of a file (MCP `workflow_inline`). */
  readonly workflowText?: string | undefined;
  readonly runId?: string | undefined;
  readonly risk?: Risk | undefined;
  /** `auto`: the LLM planner if a model of design.planner_chain can be called, else the heuristic one. */
  readonly planner?: 'heuristic' | 'llm' | 'auto' | undefined;
  readonly pattern?: 'parallel' | 'hierarchical' | undefined;
  readonly maxDepth?: number | undefined;
  readonly autoAssign?: boolean | undefined;
  readonly agent?: string | undefined;
  readonly maxConcurrency?: number | undefined;
  readonly budgetUsd?: number | undefined;
  readonly repo?: string | undefined;
  /** Start from a new, empty repository (kept in the run folder) instead of the one around the current directory. */
  readonly init?: boolean | undefined;
  readonly dryRun?: boolean | undefined;
  /** Let nodes no agent can do go to a person (otherwise the run is refused before it starts). */
  readonly allowManual?: boolean | undefined;
  /** Apply accepted proposals for this goal or workflow before the gate (default true). */
  readonly applyProposals?: boolean | undefined;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal | undefined;
  /** Receives the run's progress (node states, agent calls and their cost, human items) as it happens. */
  readonly onProgress?: ProgressListener | undefined;
}

/** The summary `mso run`, `resume` and `status` print. */
export interface RunSummary {
  readonly run_id: string;
  readonly status: ShownRunStatus;
  readonly reason: string | null;
  readonly nodes: Record<string, number>;
  readonly tickets: Record<string, number>;
  readonly cost_usd: number;
  readonly duration_ms: number;
  readonly observation_readme: string;
  /** The items waiting for a person, as `HITL-0001: title` (see `waiting` for them one field at a time). */
  readonly pending_human: readonly string[];
  /** Those of `pending_human` that ask a person to do a node by hand: approved only with `--done` (their ids). */
  readonly pending_by_hand?: readonly string[];
  /**
   * The items waiting for a person, each with the CLI command that decides it (an MCP host passes its `item` to the
   * decide tool, with `done: true` for a `manual_work` one).
   */
  readonly waiting: readonly WaitingItem[];
  /**
   * Unfinished nodes whose ticket a person cancelled: `mso resume` never runs them (nor what depends on them), a rerun
   * of them does (`mso rerun RUN --node ...`).
   */
  readonly cancelled_tickets?: ReadonlyArray<{ readonly node: string; readonly ticket: string }>;
  /**
   * False when `mso resume` has nothing left to run: the run completed, or every unfinished node has a cancelled
   * ticket or depends on one.
   */
  readonly resumable?: boolean;
  /** Runs made again from a failed or cancelled run (`mso rerun`), oldest first, with their status. */
  readonly reruns?: readonly RerunRef[];
  readonly plan?: string;
  readonly governance?: ValidationReport;
  readonly proposals_applied?: readonly string[];
  readonly findings?: number;
  readonly node_details?: RunnerResult['nodes'];
  /**
   * Where the run's work is: each final node's (no children) branch `mso/<run>/<node>` and commit, in the repository
   * the run branched from; empty until a final node committed.
   */
  readonly result?: readonly RunResultRef[];
  readonly repo?: string | null;
  /** Per node (`mso status RUN`): state, agent, attempts, duration, cost and the branch holding its commit. */
  readonly node_table?: readonly NodeStatusRow[];
  /** What to type next (see nextSteps): apply, resume or rerun, with why. */
  readonly next: readonly NextStep[];
}

/** An item of a run waiting for a person. */
export interface WaitingItem {
  readonly item: string;
  readonly title: string;
  /** human_gate, escalation, manual_work (a node left to a person: approved with `--done`), quorum_missed, ... */
  readonly kind: string;
  readonly node: string | null;
  /** The command that decides it (`mso approve|reject RUN ITEM`, or `--done` for work by hand). */
  readonly decide: string;
}

export interface RunResultRef {
  readonly node: string;
  readonly branch: string;
  readonly commit: string;
}

export interface ApplyOptions {
  /** Merge into this branch (checked out first); default the repository's current branch. */
  readonly onto?: string | undefined;
  /** Write the result as a patch (git diff from the run's base) to this file instead of merging. */
  readonly patch?: string | undefined;
  /** The final node whose result to apply, when the run has several. */
  readonly node?: string | undefined;
}

export interface ApplyResult {
  readonly run_id: string;
  readonly node: string;
  readonly commit: string;
  readonly repo: string;
  readonly mode: 'merge' | 'patch';
  /**
   * False when there was nothing to bring in: the result changes nothing since the run's base (no patch file is
   * written), or the branch holds the result already (no merge is made).
   */
  readonly changed: boolean;
  /** The merge commit (merge, when one was made). */
  readonly merged: string | null;
  readonly onto: string | null;
  /** The patch file written (patch, when the result changes anything). */
  readonly patch: string | null;
}

export interface NodeStatusRow {
  readonly node: string;
  readonly state: string;
  readonly agent: string | null;
  readonly attempts: number;
  readonly duration_ms: number | null;
  readonly cost_usd: number;
  /** `mso/<run>/<node>` once the node committed, else null. */
  readonly branch: string | null;
  readonly commit: string | null;
}

export interface RunOps {
  run(input: RunRequest): Promise<RunSummary>;
  /**
   * The checks `run` makes before writing anything (input, planner, first-run agent gate), alone: an interface that
   * must create the run first (MCP returns its id at once) calls this before. Returns the planner that will run and,
   * for a workflow, the name and goal its run is made with.
   */
  preflight(input: RunRequest): Promise<{
    readonly planner: PlannerChoice;
    /** For a workflow: the case slug and goal its run is named by. */
    readonly named?: { readonly caseSlug: string; readonly goal: string };
  }>;
  resume(runId: string, options?: ResumeOptions): Promise<RunSummary>;
  /** Cancels a run that has not finished; `reason` is recorded (default: cancelled by the observer). */
  cancel(runId: string, reason?: string): Promise<CancelResult>;
  /**
   * Replays a recorded run as a new run linked to it: `offline` answers every agent call from the record and checks
   * each node's outcome, ticket and tree hash against it; `from` reuses what NODE does not depend on and runs NODE
   * and its descendants again (live, or from the record when also offline).
   */
  replay(runId: string, options: ReplayOptions): Promise<ReplayReport>;
  status(runId?: string): Promise<RunStatusResult>;
  /** What the run's agents said and did (text, tool calls, commands, output, errors), per attempt; live while running. */
  logs(runId: string, node?: string): Promise<LogsResult>;
  /** `mso logs --follow`: the entries as they come, each once, until the run is no longer active or `signal` aborts. */
  followLogs(runId: string, node?: string, signal?: AbortSignal): AsyncIterable<LogEntry>;
  /** `mso logs RUN NODE --full`: the whole output an attempt kept in a blob once it outgrew the transcript. */
  fullOutput(
    runId: string,
    node: string,
    o?: { readonly stream?: 'stdout' | 'stderr'; readonly attempt?: number | undefined },
  ): Promise<FullOutput>;
  /**
   * Runs a recorded run's failed nodes (or the given ones) and their descendants again as a new linked run, reusing
   * every other node's commit (inputs changed since, e.g. a fixed policy, are allowed and reported).
   */
  rerun(runId: string, options: RerunOptions): Promise<ReplayReport>;
  /** Removes the worktrees and `mso/<run>/*` branches of finished runs; their audit stays. */
  prune(options?: PruneOptions): Promise<PrunedRun[]>;
  /** Brings a finished run's result into the user's branch (a merge), or writes it as a patch file. */
  apply(runId: string, options?: ApplyOptions): Promise<ApplyResult>;
  /** The run's observation readme (Markdown), or null before the run was first mirrored. */
  readme(runId: string): Promise<string | null>;
  /** A person's decision; approving a `manual_work` item (a node done by hand) needs `done: true`. */
  decide(
    runId: string,
    item: string,
    decision: 'approved' | 'rejected',
    note?: string,
    options?: { readonly done?: boolean | undefined },
  ): Promise<DecideResult>;
}

export interface ReplayOptions {
  readonly offline?: boolean | undefined;
  readonly from?: string | undefined;
  readonly as?: string | undefined;
  readonly allowChanged?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Run these nodes and their descendants again (`mso rerun`), reusing the rest; instead of `from`. */
  readonly fromNodes?: readonly string[] | undefined;
  readonly onProgress?: ProgressListener | undefined;
}

export interface RerunOptions {
  /** Every node that failed (its blocked descendants follow). */
  readonly failed?: boolean | undefined;
  /** These nodes. */
  readonly nodes?: readonly string[] | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ProgressListener | undefined;
}

export interface ReplayReport {
  readonly run_id: string;
  readonly replay_of: string;
  readonly mode: 'offline' | 'live';
  readonly from: string | null;
  /** Nodes taken from the record without running (with --from). */
  readonly reused: readonly string[];
  /** Agent and gate calls answered from the record (offline). */
  readonly answered: number;
  /** Offline only: true when every node's outcome, ticket and tree hash equal the record. */
  readonly identical: boolean | null;
  readonly divergence: Divergence | null;
  readonly divergences: readonly Divergence[];
  readonly changed_inputs: readonly string[];
  readonly summary: RunSummary;
}

export interface ResumeOptions extends ExecutionChoice {
  /** For a run that never executed (designed only): the repository to branch from, as `mso run --repo`. */
  readonly repo?: string | undefined;
  /** For a run that never executed: start from a new, empty repository, as `mso run --init`. */
  readonly init?: boolean | undefined;
  /** For a run that never executed: let nodes no agent can do go to a person, as `mso run --allow-manual`. */
  readonly allowManual?: boolean | undefined;
  readonly budgetUsd?: number | undefined;
  readonly maxConcurrency?: number | undefined;
  readonly agent?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ProgressListener | undefined;
}

export interface CancelResult {
  readonly run_id: string;
  readonly requested: boolean;
  readonly coordinator: number | null;
}

/** A run's status as shown: the manifest's, or `interrupted` for an active run whose coordinator is gone. */
export type ShownRunStatus = RunStatus | 'interrupted';

export type RunStatusResult = RunSummary | { runs: UnfinishedRun[] };

/** A run not finished, as `mso status` lists them. */
export interface UnfinishedRun {
  readonly run_id: string;
  readonly status: ShownRunStatus;
  /** Nodes done and in the plan (0 of 0 before a plan exists). */
  readonly nodes_done: number;
  readonly nodes_total: number;
  /** When its status last changed (the registry's record). */
  readonly updated_at: string;
  readonly goal: string | null;
  /** The newest run made again from it (`mso rerun`), with its status. */
  readonly rerun?: RerunRef;
}

/** A run made again from another by mso rerun, with its status. */
export interface RerunRef {
  readonly run_id: string;
  readonly status: string;
}

export interface DecideResult {
  readonly run_id: string;
  readonly item: HitlItem;
  readonly changed: boolean;
  /** The item had been decided the other way: the first decision stands, and this one changed nothing. */
  readonly conflict: boolean;
  /** The pid of the live coordinator that holds the run and takes the decision up itself, or null (then resume). */
  readonly coordinator: number | null;
  /**
   * The run's folder is on another machine: the decision went to its coordinator as a request through the shared
   * store, and `item` is what the store knows of it (no brief or evidence; the coordinator's item file is the record).
   */
  readonly through_store?: boolean;
}
