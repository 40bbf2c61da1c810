import { z } from 'zod';
import { AgentRoleSchema, NodeTypeSchema, RunStatusSchema, SnapshotStatusSchema } from '../contracts/index.js';

const Id = z.string().trim().min(1);
const Json = z.record(z.string(), z.unknown());
const Tokens = z.int().min(0).nullable().optional();

/** One event of the append-only log. `key` makes a repeated append idempotent. */
export const EventInputSchema = z.strictObject({
  runId: Id,
  type: Id,
  nodeId: Id.nullable().optional(),
  ticketId: Id.nullable().optional(),
  attemptId: Id.nullable().optional(),
  payload: Json.default({}),
  key: Id.optional(),
  at: z.string().optional(),
});
export type EventInput = z.input<typeof EventInputSchema>;

export const RunRowSchema = z.strictObject({
  runId: Id,
  status: RunStatusSchema,
  skillKey: z.string().nullable().optional(),
  goal: z.string().nullable().optional(),
  parentRunId: z.string().nullable().optional(),
  budgetUsd: z.number().min(0).nullable().optional(),
  finishedAt: z.string().nullable().optional(),
  metadata: Json.optional(),
});
export type RunRow = z.input<typeof RunRowSchema>;

export const AttemptStatusSchema = z.enum([
  'queued',
  'running',
  'success',
  'failure',
  'partial',
  'blocked',
  'timeout',
  'cancelled',
]);

/** An attempt at a node or ticket: written when it starts and again when it ends (upsert by id). */
export const AttemptRowSchema = z.strictObject({
  attemptId: Id,
  runId: Id,
  nodeId: z.string().nullable().optional(),
  ticketId: z.string().nullable().optional(),
  attemptNo: z.int().min(1).default(1),
  isRetry: z.boolean().default(false),
  stage: z.string().nullable().optional(),
  persona: z.string().nullable().optional(),
  agent: z.string().nullable().optional(),
  provider: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  status: AttemptStatusSchema,
  queuedAt: z.string().nullable().optional(),
  startedAt: z.string().nullable().optional(),
  endedAt: z.string().nullable().optional(),
  durationMs: z.int().min(0).nullable().optional(),
  inputTokens: Tokens,
  outputTokens: Tokens,
  cacheReadTokens: Tokens,
  costUsd: z.number().min(0).nullable().optional(),
  costSource: z.enum(['reported', 'estimated', 'none']).nullable().optional(),
  exitCode: z.int().nullable().optional(),
  errorClass: z.string().nullable().optional(),
  errorMessage: z.string().nullable().optional(),
  fallbackRule: z.string().nullable().optional(),
  filesChanged: z.array(z.string()).default([]),
  evidence: Json.default({}),
});
export type AttemptRow = z.input<typeof AttemptRowSchema>;

export const AgentCallRowSchema = z.strictObject({
  callId: Id,
  attemptId: z.string().nullable().optional(),
  runId: Id,
  kind: z.enum(['cli', 'llm', 'shell', 'manual', 'judge']),
  agent: z.string().nullable().optional(),
  provider: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  requestBlob: z.string().length(64).nullable().optional(),
  responseBlob: z.string().length(64).nullable().optional(),
  transcriptBlob: z.string().length(64).nullable().optional(),
  status: Id,
  errorClass: z.string().nullable().optional(),
  startedAt: z.string(),
  endedAt: z.string().nullable().optional(),
  latencyMs: z.int().min(0).nullable().optional(),
  firstTokenMs: z.int().min(0).nullable().optional(),
  inputTokens: Tokens,
  outputTokens: Tokens,
  cacheReadTokens: Tokens,
  costUsd: z.number().min(0).nullable().optional(),
  costSource: z.enum(['reported', 'estimated', 'none']).nullable().optional(),
});
export type AgentCallRow = z.input<typeof AgentCallRowSchema>;

export const BreakerEventSchema = z.strictObject({
  breaker: Id,
  provider: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  fromState: z.enum(['closed', 'open', 'half_open']).nullable().optional(),
  toState: z.enum(['closed', 'open', 'half_open']),
  reason: z.string().nullable().optional(),
  metrics: Json.default({}),
});
export type BreakerEventInput = z.input<typeof BreakerEventSchema>;

export const SnapshotInputSchema = z.strictObject({
  runId: Id,
  nodeId: Id,
  nodeType: NodeTypeSchema,
  parentRefs: z.array(z.string()).default([]),
  treeHashRef: z.string().nullable().optional(),
  agentRole: AgentRoleSchema.default('execution'),
  phase: z.int().min(1).max(4).default(2),
  status: SnapshotStatusSchema,
  inputArtifactUri: z.string().nullable().optional(),
  outputArtifactUri: z.string().nullable().optional(),
  mergePolicy: Json.nullable().optional(),
  fallbackTarget: z.string().nullable().optional(),
  metadata: Json.default({}),
  relatedAuditId: z.string().nullable().optional(),
});
export type SnapshotInput = z.input<typeof SnapshotInputSchema>;

export const DecisionInputSchema = z.strictObject({
  id: z
    .string()
    .regex(/^DEC-.+/)
    .optional(),
  title: Id,
  context: z.string().nullable().optional(),
  content: z.string().nullable().optional(),
  requestedBy: z.string().nullable().optional(),
  approvedBy: z.string().nullable().optional(),
  relatedAuditId: z.string().nullable().optional(),
  evidence: z
    .array(z.strictObject({ type: Id, refPath: z.string(), description: z.string().nullable().optional() }))
    .default([]),
  impacts: z
    .array(
      z.strictObject({
        domain: Id,
        description: z.string().nullable().optional(),
        reversibility: z.enum(['High', 'Medium', 'Low']).nullable().optional(),
      }),
    )
    .default([]),
  tags: z.array(Id).default([]),
});
export type DecisionInput = z.input<typeof DecisionInputSchema>;
