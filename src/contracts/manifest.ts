import { z } from 'zod';
import {
  PHASE_DIRS,
  PhaseStatusSchema,
  RunIdSchema,
  RunStatusSchema,
  SkillKeySchema,
  TimestampSchema,
  type PhaseDir,
} from './common.js';

const PhaseEntrySchema = z.looseObject({ status: PhaseStatusSchema, updated_at: TimestampSchema.optional() });

const phasesShape = Object.fromEntries(PHASE_DIRS.map((dir) => [dir, PhaseEntrySchema])) as Record<
  PhaseDir,
  typeof PhaseEntrySchema
>;

export const RunErrorSchema = z.looseObject({
  message: z.string().min(1),
  phase: z.string().min(1),
  timestamp: TimestampSchema,
  reason: z.string().optional(),
});

/** `active/<run-id>/manifest.json`: the run's status, phases and links. */
export const RunManifestSchema = z.looseObject({
  schema_version: z.string().default('1.0.0'),
  run_id: RunIdSchema,
  skill_key: SkillKeySchema,
  status: RunStatusSchema,
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  completed_at: TimestampSchema.nullable().default(null),
  phases: z.looseObject(phasesShape),
  observer_links: z.array(z.string()),
  parent_run_id: RunIdSchema.nullable().default(null),
  tags: z.array(z.string()).default([]),
  error: RunErrorSchema.nullable().default(null),
  /** What a completed run went on without: the failed branches its merges went past (its final nodes are done). */
  note: z.string().optional(),
  archive_path: z.string().nullable().default(null),
  goal: z.string().optional(),
});
export type RunManifest = z.infer<typeof RunManifestSchema>;

/** One line of `registry/manifest-index.jsonl`; the last line for a run id is its current state. */
export const ManifestIndexRecordSchema = z.looseObject({
  run_id: RunIdSchema,
  skill_key: SkillKeySchema,
  status: RunStatusSchema,
  created_at: TimestampSchema,
  completed_at: TimestampSchema.nullable(),
  tags: z.array(z.string()),
  archive_path: z.string().nullable(),
  recorded_at: TimestampSchema,
});
export type ManifestIndexRecord = z.infer<typeof ManifestIndexRecordSchema>;
