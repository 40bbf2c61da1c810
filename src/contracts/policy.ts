import { z } from 'zod';

export const OnPeerMissingSchema = z.enum(['warn', 'warn_and_continue', 'block', 'silent']);

/**
 * `config/policy.yaml`. Every key here is enforced somewhere; unknown keys are refused so a typo never silently
 * does nothing. Sections are filled with defaults on `mso init` while the user's comments and values are kept.
 */
export const PolicySchema = z.strictObject({
  schema_version: z.string().default('1'),
  run_policy: z
    .strictObject({
      /** Runs whose status is created, active or awaiting_human count; finished runs do not. */
      max_active_runs: z.int().min(1).default(10),
      /** `mso runs archive --auto` moves finished runs older than this many days to archive/. */
      auto_archive_after_days: z.int().min(0).default(7),
    })
    .prefault({}),
  observation_policy: z
    .strictObject({
      auto_sync: z.boolean().default(true),
      /** Phase numbers whose folders are mirrored into the observation workspace. */
      sync_phases: z
        .array(
          z.union([
            z.literal(0),
            z.literal(10),
            z.literal(20),
            z.literal(30),
            z.literal(40),
            z.literal(50),
            z.literal(60),
            z.literal(70),
            z.literal(80),
            z.literal(90),
          ]),
        )
        .default([10, 20, 30, 60, 70, 80]),
    })
    .prefault({}),
  relocation_policy: z
    .strictObject({
      verify_on_startup: z.boolean().default(true),
      search_max_depth: z.int().min(0).max(12).default(5),
      fallback_walk_depth: z.int().min(0).max(12).default(3),
      peer_search_paths: z.array(z.string()).default([]),
      on_peer_missing: OnPeerMissingSchema.default('warn_and_continue'),
    })
    .prefault({}),
});
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
