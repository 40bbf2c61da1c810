import { z } from 'zod';
import { RUN_STATUSES } from './enums.js';

/** Version written into every artifact mso produces (`metadata.schema_version` or `schema_version`). */
export const SCHEMA_VERSION = '1.0.0';

/** Skill keys allowed in run ids (MSO v0.0.3 plus `msoorch`). */
export const SKILL_KEYS = [
  'msogov',
  'msowd',
  'msomm',
  'msoed',
  'msotcm',
  'msoac',
  'msoal',
  'msoobs',
  'msoorch',
] as const;
export const SkillKeySchema = z.enum(SKILL_KEYS);
export type SkillKey = z.infer<typeof SkillKeySchema>;

/** Full skill names that map onto skill keys. */
export const SKILL_NAMES: Readonly<Record<string, SkillKey>> = {
  'mso-skill-governance': 'msogov',
  'mso-workflow-topology-design': 'msowd',
  'mso-mental-model-design': 'msomm',
  'mso-execution-design': 'msoed',
  'mso-task-context-management': 'msotcm',
  'mso-agent-collaboration': 'msoac',
  'mso-agent-audit-log': 'msoal',
  'mso-observability': 'msoobs',
  'mso-orchestrator': 'msoorch',
};

/** `YYYYMMDD-<skill-key>-<case-slug>`; the date is checked separately (it must be a real date). */
export const RUN_ID_PATTERN = /^(?<date>\d{8})-(?<skillKey>[a-z]+)-(?<caseSlug>[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)$/;
export const RunIdSchema = z.string().regex(RUN_ID_PATTERN, 'must match YYYYMMDD-<skill-key>-<case-slug>');

/**
 * Why `name` cannot be one component of a git ref (`git check-ref-format` rules), or null when git accepts it. The one
 * check behind both the id schemas and the git layer, so an id the schema passes is never refused by git later.
 */
export function refComponentProblem(name: string): string | null {
  if (name === '') return 'must not be empty';
  if (name === '@') return 'must not be "@"';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'must not contain spaces, control characters or ~ ^ : ? * [ \\';
  if (name.includes('/')) return 'must not contain "/"';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('@{')) return 'must not contain "@{"';
  if (name.startsWith('.')) return 'must not start with "."';
  if (name.endsWith('.')) return 'must not end with "."';
  if (name.toLowerCase().endsWith('.lock')) return 'must not end with ".lock"';
  return null;
}

/** Why `ref` (slash-separated components) is not a valid git ref name, or null when git accepts it. */
export function refNameProblem(ref: string): string | null {
  for (const part of ref.split('/')) {
    const problem = refComponentProblem(part);
    if (problem) return `${JSON.stringify(part)} ${problem}`;
  }
  return null;
}

/** Node, ticket and item ids: letters, digits, `_`, `-`, `.`; never a path, always a valid git ref component. */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const SafeIdSchema = z
  .string()
  .regex(SAFE_ID_PATTERN, 'must be letters, digits, "_", "-" or "." (max 128), starting with a letter or digit')
  .superRefine((s, ctx) => {
    const problem = refComponentProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An ISO-8601 UTC timestamp such as `2026-11-21T08:46:03.000Z`. */
export const TimestampSchema = z.iso.datetime({ offset: true });
/** A calendar date `YYYY-MM-DD`. */
export const DateSchema = z.iso.date();

/** Phase folders of a run, keyed by their two-digit phase number. */
export const PHASES = {
  '00': '00_collect',
  '10': '10_topology',
  '20': '20_mental-model',
  '30': '30_execution',
  '40': '40_collaboration',
  '50': '50_audit',
  '60': '60_observability',
  '70': '70_governance',
  '80': '80_delivery',
  '90': '90_meta',
} as const;
export type PhaseKey = keyof typeof PHASES;
export type PhaseDir = (typeof PHASES)[PhaseKey];
export const PHASE_DIRS = Object.values(PHASES) as readonly PhaseDir[];
export const PhaseDirSchema = z.enum(PHASE_DIRS as [PhaseDir, ...PhaseDir[]]);

export const PhaseStatusSchema = z.enum(['pending', 'active', 'completed', 'skipped', 'failed']);
export type PhaseStatus = z.infer<typeof PhaseStatusSchema>;

export const RunStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const NodeTypeSchema = z.enum(['commit', 'branch', 'merge']);

/**
 * A node's permission mode: the neutral `read-only`, `edit`, `full` (each agent CLI maps them to its own flags), or
 * an older Claude-style name kept for existing plans (mapped onto the neutral ones; `experimental` is refused at the
 * gate because no CLI honours it).
 */
export const PermissionModeSchema = z.enum([
  'read-only',
  'edit',
  'full',
  'plan',
  'default',
  'acceptEdits',
  'dontAsk',
  'bypassPermissions',
  'experimental',
]);
export type NodeType = z.infer<typeof NodeTypeSchema>;

export const ThetaBandSchema = z.enum(['narrow', 'moderate', 'wide']);
export type ThetaBand = z.infer<typeof ThetaBandSchema>;

/** θ_GT ranges per band (MSO topology design). */
export const THETA_RANGES: Readonly<Record<ThetaBand, { readonly min: number; readonly max: number }>> = {
  narrow: { min: 0.0, max: 0.2 },
  moderate: { min: 0.2, max: 0.6 },
  wide: { min: 0.4, max: 0.9 },
};

export const SeveritySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;
