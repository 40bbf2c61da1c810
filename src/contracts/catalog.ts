import { z } from 'zod';
import { AnchorSchema } from './anchor.js';
import { AuditPayloadSchema } from './audit-payload.js';
import { ObservabilityCallbackSchema } from './callback.js';
import { CollaborationResultSchema, HandoffPayloadSchema } from './collaboration.js';
import { ExecutionPlanSchema } from './execution-plan.js';
import { ManifestIndexRecordSchema, RunManifestSchema } from './manifest.js';
import { MentalModelBundleSchema } from './mental-model.js';
import { PolicySchema } from './policy.js';
import { TicketFrontmatterSchema } from './ticket.js';
import { WorkflowTopologySpecSchema } from './topology.js';

interface CatalogEntry {
  readonly schema: z.ZodType;
  readonly title: string;
  /** Where the artifact lives, relative to the run folder or workspace. */
  readonly location: string;
  /** How the file is stored: plain JSON/YAML, or YAML frontmatter in a markdown file. */
  readonly format: 'json' | 'yaml' | 'frontmatter' | 'jsonl';
}

/** Every artifact kind mso reads or writes, with its schema: the source of `mso schema list|export|validate`. */
export const SCHEMA_CATALOG = {
  topology: {
    schema: WorkflowTopologySpecSchema,
    title: 'Workflow topology spec',
    location: '<run>/10_topology/workflow_topology_spec.json',
    format: 'json',
  },
  'mental-model': {
    schema: MentalModelBundleSchema,
    title: 'Mental model bundle',
    location: '<run>/20_mental-model/mental_model_bundle.json',
    format: 'json',
  },
  'execution-plan': {
    schema: ExecutionPlanSchema,
    title: 'Execution plan (execution_graph)',
    location: '<run>/30_execution/execution_plan.json',
    format: 'json',
  },
  ticket: {
    schema: TicketFrontmatterSchema,
    title: 'Ticket frontmatter',
    location: '<run>/40_collaboration/task-context/tickets/TKT-NNNN-<slug>.md',
    format: 'frontmatter',
  },
  handoff: {
    schema: HandoffPayloadSchema,
    title: 'Handoff payload',
    location: 'inside <ticket-stem>.agent-collaboration.json',
    format: 'json',
  },
  collaboration: {
    schema: CollaborationResultSchema,
    title: 'Collaboration result (CC-04)',
    location: '<run>/40_collaboration/task-context/tickets/<ticket-stem>.agent-collaboration.json',
    format: 'json',
  },
  'audit-payload': {
    schema: AuditPayloadSchema,
    title: 'Audit payload (CC-05)',
    location: 'input of mso audit append',
    format: 'json',
  },
  callback: {
    schema: ObservabilityCallbackSchema,
    title: 'Observability callback event',
    location: '<run>/60_observability/callback-*.json',
    format: 'json',
  },
  manifest: { schema: RunManifestSchema, title: 'Run manifest', location: '<run>/manifest.json', format: 'json' },
  'manifest-index-record': {
    schema: ManifestIndexRecordSchema,
    title: 'Manifest index record',
    location: '.mso-context/registry/manifest-index.jsonl (one per line)',
    format: 'jsonl',
  },
  policy: {
    schema: PolicySchema,
    title: 'Workspace policy',
    location: '.mso-context/config/policy.yaml',
    format: 'yaml',
  },
  anchor: {
    schema: AnchorSchema,
    title: 'Workspace or observation anchor',
    location: '.mso-context/.anchor.json, <observation>/.anchor.json',
    format: 'json',
  },
} as const satisfies Record<string, CatalogEntry>;

export type SchemaKind = keyof typeof SCHEMA_CATALOG;
export const SCHEMA_KINDS = Object.keys(SCHEMA_CATALOG) as SchemaKind[];

/** True when `kind` names an entry of the catalog. */
export function isSchemaKind(kind: string): kind is SchemaKind {
  return Object.hasOwn(SCHEMA_CATALOG, kind);
}

/** The JSON Schema (draft 2020-12) of an artifact kind, describing what a valid file may contain. */
export function toJsonSchema(kind: SchemaKind): Record<string, unknown> {
  const entry = SCHEMA_CATALOG[kind];
  const json = z.toJSONSchema(entry.schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return { ...json, $id: `https://mso.dev/schemas/${kind}.schema.json`, title: entry.title };
}
