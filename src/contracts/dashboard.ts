import { z } from 'zod';
import { RunStatusSchema } from './common.js';
import { HitlItemSchema } from './hitl.js';

/*
 * The JSON the dashboard (`mso ui`) serves to its browser app: the one set of types `web/` shares with the server.
 * Every field is plain JSON; nothing here is stored on disk.
 */

/** The state of a plan node, as the engine records it. */
export const NodeRunStateSchema = z.enum(['pending', 'running', 'done', 'failed', 'blocked', 'waiting', 'cancelled']);
export type NodeRunState = z.infer<typeof NodeRunStateSchema>;

/** A run's status as shown: `interrupted` is an `active` run whose coordinator is gone (`mso resume` goes on). */
export const ShownRunStatusSchema = z.union([RunStatusSchema, z.literal('interrupted')]);

/** One row of the runs list. */
export const RunCardSchema = z.object({
  run_id: z.string(),
  status: ShownRunStatusSchema,
  goal: z.string().nullable(),
  created_at: z.string(),
  duration_ms: z.number(),
  nodes_total: z.number(),
  nodes_done: z.number(),
  nodes_failed: z.number(),
  cost_usd: z.number(),
  pending_human: z.number(),
  tags: z.array(z.string()),
  /** A coordinator took the run at least once; false for a run only designed (`mso design all`, the page's New run). */
  started: z.boolean(),
});
export type RunCard = z.infer<typeof RunCardSchema>;

/** A node of a run's DAG with its live state. */
export const GraphNodeSchema = z.object({
  id: z.string(),
  label: z.string(),
  type: z.enum(['commit', 'branch', 'merge']),
  state: NodeRunStateSchema,
  detail: z.string().nullable(),
  agent: z.string().nullable(),
  merge: z.object({ strategy: z.string(), quorum: z.number().nullable() }).nullable(),
  gates: z.number(),
  cost_usd: z.number(),
  attempts: z.number(),
  ticket: z.object({ id: z.string(), status: z.string() }).nullable(),
  /** A pending human item points at this node. */
  waiting_on_human: z.boolean(),
});
export type GraphNode = z.infer<typeof GraphNodeSchema>;

/**
 * Where the page draws each node of a DAG (top-left corner, in layout units), laid out once per topology: `key` is
 * the topology's hash, so a page that holds the layout of `key` never asks for it again.
 */
export const RunLayoutSchema = z.object({
  key: z.string(),
  width: z.number(),
  height: z.number(),
  /** `[node id, x, y]` per node. */
  positions: z.array(z.tuple([z.string(), z.number(), z.number()])),
});
export type RunLayout = z.infer<typeof RunLayoutSchema>;

/** A run with its DAG: nodes, parent → child edges, totals, and its pending human items. */
export const RunGraphSchema = z.object({
  /** The audit log's last sequence number before this was read: live events after it are newer than this graph. */
  seq: z.number(),
  run: RunCardSchema,
  reason: z.string().nullable(),
  budget_usd: z.number().nullable(),
  coordinator_alive: z.boolean(),
  nodes: z.array(GraphNodeSchema),
  edges: z.array(z.object({ from: z.string(), to: z.string() })),
  pending: z.array(HitlItemSchema),
  /**
   * For a run not started yet: what it should cost, from its agents' average successful attempt in this workspace
   * (shell commands and people cost nothing), and how many nodes have no such history. Null once started.
   */
  estimate: z.object({ usd: z.number(), nodes_without_history: z.number() }).nullable(),
  /** The topology's hash (the key of its layout). */
  topology: z.string(),
  /** The laid-out DAG, when asked for (`?layout=1`) and the page does not hold it yet. */
  layout: RunLayoutSchema.optional(),
});
export type RunGraph = z.infer<typeof RunGraphSchema>;

/** One attempt of a node: agent, outcome, time and cost. */
export const NodeAttemptSchema = z.object({
  attempt_id: z.string(),
  attempt_no: z.number(),
  agent: z.string().nullable(),
  model: z.string().nullable(),
  status: z.string(),
  started_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  cost_usd: z.number().nullable(),
  cost_source: z.string().nullable(),
  error_class: z.string().nullable(),
  error_message: z.string().nullable(),
  fallback_rule: z.string().nullable(),
});
export type NodeAttempt = z.infer<typeof NodeAttemptSchema>;

/** Everything the node side panel shows. */
export const NodeDetailSchema = z.object({
  run_id: z.string(),
  node: GraphNodeSchema,
  commit: z.string().nullable(),
  tree_hash: z.string().nullable(),
  summary: z.string(),
  files: z.array(z.string()),
  attempts: z.array(NodeAttemptSchema),
  /** Agents tried in order per attempt (fallbacks), from the `agent.chain` events. */
  agent_trail: z.array(
    z.object({
      attempt_id: z.string().nullable(),
      steps: z.array(z.object({ agent: z.string(), outcome: z.string(), reason: z.string() })),
      chosen: z.string().nullable(),
    }),
  ),
  gates: z.array(
    z.object({
      command: z.string(),
      status: z.string(),
      exit_code: z.number().nullable(),
      message: z.string().nullable(),
    }),
  ),
  failures: z.array(
    z.object({
      error_class: z.string(),
      message: z.string(),
      rule: z.string().nullable(),
      action: z.string().nullable(),
    }),
  ),
  /** The unified git diff of the node's commit against its first parent (null before it committed). */
  diff: z.string().nullable(),
  diff_truncated: z.boolean(),
  hitl: z.array(HitlItemSchema),
});
export type NodeDetail = z.infer<typeof NodeDetailSchema>;

/** A pending human item in the inbox, across runs. */
export const InboxItemSchema = HitlItemSchema.and(z.object({ run_status: ShownRunStatusSchema }));
export type InboxItem = z.infer<typeof InboxItemSchema>;

/**
 * One audit event as the live stream sends it. No payload, except a node's new state (`node.state` events): the page
 * applies it at once, and re-reads the rest of what changed.
 */
export const FeedEventSchema = z.object({
  seq: z.number(),
  at: z.string(),
  run_id: z.string(),
  type: z.string(),
  node_id: z.string().nullable(),
  state: NodeRunStateSchema.optional(),
  detail: z.string().nullable().optional(),
});
export type FeedEvent = z.infer<typeof FeedEventSchema>;

/** The file a proposal's JSON Patch changes, before and after (after is null when the patch no longer applies). */
export const ProposalPreviewSchema = z.object({
  file: z.string(),
  before: z.string(),
  after: z.string().nullable(),
  reason: z.string().nullable(),
});
export type ProposalPreview = z.infer<typeof ProposalPreviewSchema>;
