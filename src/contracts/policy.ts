import { z } from 'zod';

export const OnPeerMissingSchema = z.enum(['warn', 'warn_and_continue', 'block', 'silent']);

export const AgentKindSchema = z.enum([
  'manual',
  'shell',
  'claude-code',
  'codex',
  'gemini',
  'openai',
  'anthropic',
  'google',
  'openai-compatible',
]);

/** One agent under `agents:`. Built-in agents named after each kind exist without being declared. */
export const AgentConfigSchema = z.strictObject({
  kind: AgentKindSchema,
  /** Executable for CLI kinds (a name on PATH or a path); the shell for `shell`. */
  command: z.string().min(1).optional(),
  /** Extra arguments appended to what the adapter passes. */
  args: z.array(z.string()).default([]),
  model: z.string().min(1).optional(),
  /** API base URL (openai-compatible servers, proxies, test servers). */
  base_url: z.url().optional(),
  /** Name of the environment variable holding the API key. */
  api_key_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** Fixed extra environment for the process. */
  env: z.record(z.string(), z.string()).default({}),
  /** Names of parent environment variables the process may see, beyond PATH, HOME, LANG and the like. */
  env_allow: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
  permission_mode: z.string().min(1).optional(),
  max_turns: z.int().min(1).optional(),
  /** Most calls of this agent at once. */
  concurrency: z.int().min(1).default(4),
  /** The provider name for breakers and cost (defaults by kind). */
  provider: z.string().min(1).optional(),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const PriceSchema = z.strictObject({
  input_per_mtok: z.number().min(0),
  output_per_mtok: z.number().min(0),
  cache_read_per_mtok: z.number().min(0).default(0),
});

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
  /** Agents by name, added to the built-ins (one per kind, named after it). */
  agents: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'agent names are lowercase letters, digits, - and _'),
      AgentConfigSchema,
    )
    .default({}),
  /** Agent names to try in order, per persona; `default` serves personas without a chain. */
  fallback_chains: z
    .record(z.string(), z.array(z.string().min(1)).min(1))
    .default({ default: ['claude-code', 'codex', 'gemini', 'anthropic', 'openai', 'google', 'manual'] }),
  resilience: z
    .strictObject({
      circuit_breaker: z
        .strictObject({
          failure_threshold: z.int().min(1).default(5),
          reset_timeout_ms: z.int().min(0).default(60_000),
          half_open_max_attempts: z.int().min(1).default(1),
        })
        .prefault({}),
      retry: z
        .strictObject({
          /** Retries after the first attempt, per agent call, shared by every layer. */
          max_retries: z.int().min(0).default(2),
          initial_delay_ms: z.int().min(0).default(1_000),
          max_delay_ms: z.int().min(0).default(30_000),
          multiplier: z.number().min(1).default(2),
          jitter: z.boolean().default(true),
        })
        .prefault({}),
      deadlines: z
        .strictObject({
          first_output_ms: z.int().min(1).default(120_000),
          inactivity_ms: z.int().min(1).default(300_000),
          total_ms: z.int().min(1).default(1_800_000),
        })
        .prefault({}),
      /** How long a CLI may keep running after its final event before its process group is ended. */
      linger_grace_ms: z.int().min(0).default(5_000),
      /** Between SIGTERM and SIGKILL. */
      kill_grace_ms: z.int().min(0).default(3_000),
    })
    .prefault({}),
  /** Dollars per million tokens by model id, for providers that report tokens but no cost. */
  prices: z.record(z.string(), PriceSchema).default({}),
});
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
