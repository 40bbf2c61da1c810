import type { ExecutionPlan, HitlItem, MentalModelBundle, Policy, Severity } from '../contracts/index.js';
import type { SqliteDb } from '../platform/index.js';
import type { PatchOp } from './json-patch.js';

export type FindingKind =
  | 'repeated_failure'
  | 'retry_spike'
  | 'bottleneck'
  | 'queue_starvation'
  | 'cost_anomaly'
  | 'budget_overrun'
  | 'deferral_loop'
  | 'stale_hitl'
  | 'error_hotspot'
  | 'unstable_provider';

/** A concrete change to the design: a JSON Patch against one artifact or policy.yaml. */
export interface ProposalDraft {
  readonly target: 'topology' | 'mental_model' | 'plan' | 'policy';
  readonly summary: string;
  readonly patch: readonly PatchOp[];
  readonly expected_effect: string;
  readonly rollback_rule: string;
  /** Plan, topology and mental-model patches apply to later runs of the same goal or workflow. */
  readonly scope: { readonly design_key: string | null; readonly node_id: string | null };
}

/** One thing a detector found, with the audit rows behind it (`table:id`). */
export interface Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly message: string;
  readonly node_id: string | null;
  readonly evidence: readonly string[];
  readonly target_skills: readonly string[];
  /** Stable key of the underlying pattern, for suggestion history (rejections). */
  readonly pattern: string;
  readonly proposal: ProposalDraft | null;
}

export interface DetectorInput {
  readonly db: SqliteDb;
  readonly runId: string;
  readonly plan: ExecutionPlan | null;
  readonly bundle: MentalModelBundle | null;
  readonly policy: Pick<Policy, 'observability' | 'fallback_chains' | 'resilience' | 'agents' | 'run_policy'>;
  readonly now: Date;
  readonly hitl: readonly HitlItem[];
  readonly runError: { readonly message: string; readonly reason?: string | undefined } | null;
  readonly designKey: string | null;
}
