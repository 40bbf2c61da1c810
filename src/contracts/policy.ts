import { z } from 'zod';
import { PermissionModeSchema } from './common.js';

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
  /** The most this agent may do (read-only, edit or full): a ceiling no node's mode can raise. */
  permission_mode: PermissionModeSchema.optional(),
  max_turns: z.int().min(1).optional(),
  /** Most calls of this agent at once. */
  concurrency: z.int().min(1).default(4),
  /** The provider name for breakers and cost (defaults by kind). */
  provider: z.string().min(1).optional(),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const PersonaSchema = z.strictObject({
  description: z.string().default(''),
  keywords: z.array(z.string().min(1)).min(1),
});

/** The CC Orchestrator roles plus a critic, with English and Korean keywords. */
export const DEFAULT_PERSONAS: Record<string, { description: string; keywords: string[] }> = {
  arch: {
    description: 'architecture, backend, data and services',
    keywords: [
      'architecture',
      'architect',
      'backend',
      'database',
      'schema',
      'api',
      'service',
      'services',
      'refactor',
      'migration',
      'implement',
      'build',
      'system',
      'data model',
      'server',
      '설계',
      '아키텍처',
      '백엔드',
      '데이터베이스',
      '구현',
      '리팩터링',
      '서버',
    ],
  },
  canvas: {
    description: 'user interface, UX and visual design',
    keywords: [
      'ui',
      'ux',
      'frontend',
      'front-end',
      'component',
      'components',
      'layout',
      'css',
      'screen',
      'page',
      'wireframe',
      'visual',
      'accessibility',
      'onboarding flow',
      '화면',
      '디자인',
      '프론트엔드',
      '컴포넌트',
      '레이아웃',
      '사용자 경험',
    ],
  },
  quill: {
    description: 'documentation and writing',
    keywords: [
      'document',
      'documentation',
      'docs',
      'readme',
      'guide',
      'write',
      'writing',
      'explain',
      'tutorial',
      'changelog',
      'report',
      '문서',
      '작성',
      '가이드',
      '설명서',
      '보고서',
    ],
  },
  lens: {
    description: 'analysis of data, metrics and media',
    keywords: [
      'analyze',
      'analyse',
      'analysis',
      'metrics',
      'measure',
      'benchmark',
      'statistics',
      'image',
      'screenshot',
      'performance',
      'compare',
      'comparison',
      '분석',
      '측정',
      '비교',
      '성능',
      '지표',
    ],
  },
  scout: {
    description: 'finding things in the codebase',
    keywords: [
      'find',
      'search',
      'locate',
      'explore',
      'codebase',
      'repository',
      'grep',
      'inventory',
      'existing code',
      '탐색',
      '조사',
      '찾기',
      '코드베이스',
    ],
  },
  index: {
    description: 'external research and references',
    keywords: [
      'research',
      'web',
      'external',
      'article',
      'articles',
      'reference',
      'references',
      'literature',
      'market',
      'survey',
      '리서치',
      '자료',
      '시장',
      '사례',
    ],
  },
  critic: {
    description: 'review, verification and judging',
    keywords: [
      'review',
      'critique',
      'verify',
      'validate',
      'validation',
      'audit',
      'test',
      'tests',
      'check',
      'judge',
      'evaluate',
      'qa',
      '검토',
      '검증',
      '리뷰',
      '평가',
      '테스트',
      '점검',
    ],
  },
};

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
      /** Nodes of one run executing at once, unless `mso run --max-concurrency` says otherwise. */
      max_concurrency: z.int().min(1).default(4),
      /** `mso runs archive --auto` moves finished runs older than this many days to archive/. */
      auto_archive_after_days: z.int().min(0).default(7),
    })
    .prefault({}),
  /**
   * Where a run's nodes execute: `local` (in the coordinator's process, the default) or `distributed` (BullMQ jobs
   * taken by `mso worker` processes on any machine; the coordinator keeps the DAG and the audit log).
   */
  execution: z
    .strictObject({
      backend: z.enum(['local', 'distributed']).default('local'),
      /** The Redis of the distributed backend (`mso run --redis` overrides; MSO_REDIS_URL too). */
      redis_url: z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .optional(),
      /**
       * The git remote workers fetch parents from and push node branches to (a URL or a bare repository path);
       * default the run's repository itself (workers on this machine or on a shared file system).
       */
      remote: z.string().min(1).optional(),
      /** Key prefix of the queues and worker heartbeats in Redis: runs and workers meet only under one prefix. */
      queue_prefix: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
        .default('mso'),
      /** How long a node waits for a live worker that has its agent before it fails saying so. */
      no_worker_timeout_s: z.int().min(1).default(60),
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
  dispatch: z
    .strictObject({
      /** How many ready tickets a batch dispatch runs at once. */
      batch_limit: z.int().min(1).default(4),
      /** How many agents (distinct providers where possible) get the same ticket in swarm mode. */
      swarm_size: z.int().min(2).default(3),
      /** `heuristic` scores candidates from evidence; `llm` adds a critic (agents of `judge_chain`) voting too. */
      judge: z.enum(['heuristic', 'llm']).default('heuristic'),
      judge_chain: z.array(z.string().min(1)).default(['openai-compatible', 'openai', 'anthropic', 'google']),
      scoring_weights: z
        .record(z.string(), z.number().min(0))
        .default({ confidence: 0.4, completeness: 0.3, format_compliance: 0.3 }),
    })
    .prefault({}),
  /** Thresholds of the observability detectors (mso observe). */
  observability: z
    .strictObject({
      /** The same error fingerprint this many times (across runs) is a repeated failure. */
      repeated_failure_min: z.int().min(2).default(3),
      retry_spike_warning: z.number().min(0).max(1).default(0.2),
      retry_spike_critical: z.number().min(0).max(1).default(0.5),
      /** A node taking this share of the critical path is a bottleneck... */
      bottleneck_share: z.number().min(0).max(1).default(0.6),
      /** ...when it runs at least this long (short runs are not worth a finding). */
      bottleneck_min_ms: z.int().min(0).default(60_000),
      /** Queue wait longer than this share of a node's run time is concurrency starvation. */
      queue_wait_share: z.number().min(0).default(1),
      /** Robust z-score (median and MAD) above which a cost is an anomaly. */
      cost_z: z.number().min(0).default(3.5),
      cost_min_history: z.int().min(2).default(5),
      /** The same node escalated to people this many times is a deferral loop. */
      deferral_min: z.int().min(2).default(2),
      /** Human items left undecided longer than this are reported. */
      hitl_max_age_hours: z.number().min(0).default(48),
      hotspot_min_failures: z.int().min(2).default(2),
      /** Breaker openings within 24 h that make a provider unstable. */
      flapping_min_opens: z.int().min(2).default(3),
      /** A proposal pattern rejected this many times is not proposed again. */
      rejected_weight_limit: z.number().min(1).default(3),
    })
    .prefault({}),
  /** Personas assigned to nodes by whole-word keyword scoring (English) or word-prefix matching (Korean). */
  personas: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), PersonaSchema).default(DEFAULT_PERSONAS),
  design: z
    .strictObject({
      /** `heuristic` works offline; `llm` decomposes through `planner_chain` and falls back to heuristic. */
      planner: z.enum(['heuristic', 'llm']).default('heuristic'),
      pattern: z.enum(['parallel', 'hierarchical']).default('hierarchical'),
      max_depth: z.int().min(1).max(6).default(3),
      /** Agents asked for the LLM decomposition, in order. */
      planner_chain: z.array(z.string().min(1)).default(['openai-compatible', 'openai', 'anthropic', 'google']),
      /** Persona for nodes no keyword matches. */
      default_persona: z.string().default('arch'),
      /** Permission mode per θ band (read-only, edit or full; each coding agent maps it to its own flags). */
      permission_modes: z
        .strictObject({
          wide: PermissionModeSchema.default('edit'),
          moderate: PermissionModeSchema.default('edit'),
          narrow: PermissionModeSchema.default('edit'),
        })
        .prefault({}),
      /** Model per θ band; unset means the agent's own default. No model names are built in. */
      models: z
        .strictObject({ wide: z.string().optional(), moderate: z.string().optional(), narrow: z.string().optional() })
        .prefault({}),
      /** Fallback rules added to the four defaults of every plan. */
      fallback_rules: z
        .array(
          z.strictObject({
            error_type: z.string().min(1),
            severity: z.enum(['low', 'medium', 'high', 'critical']),
            action: z.enum(['retry', 'checkout', 'escalate']),
            max_retry: z.int().min(0).default(1),
            requires_human: z.boolean().default(false),
          }),
        )
        .default([]),
      /** Bound on every loop back-edge that does not set its own `max_iterations`. */
      max_iterations: z.int().min(1).default(3),
      /** A workflow file larger than this many bytes is refused before it is read. */
      workflow_max_bytes: z
        .int()
        .min(1)
        .default(2 * 1024 * 1024),
      /** A workflow with more nodes than this is refused before anything is written. */
      workflow_max_nodes: z.int().min(1).default(2_000),
    })
    .prefault({}),
  /** Where the audit log lives: the workspace's SQLite file (default), or a shared PostgreSQL store. */
  audit: z
    .strictObject({
      /**
       * `postgres://user@host:5432/db[?schema=name]`: the audit log, breaker state, decisions, leases and blobs go to
       * that database (overridden by MSO_AUDIT_URL). Absent: `.mso-context/audit.db`.
       */
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL')
        .optional(),
    })
    .prefault({}),
  /**
   * Secrets removed from everything mso writes (files, the audit DB, blobs, output), on top of the known key shapes
   * and the values of credential-named environment variables (`*_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, ...).
   */
  redaction: z
    .strictObject({
      /** Literal values to redact (at least 4 characters). */
      values: z.array(z.string().min(4, 'a redacted value needs at least 4 characters')).default([]),
      /** Environment variables whose values are redacted, whatever their names. */
      env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')).default([]),
    })
    .prefault({}),
});
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
