/** One governance finding. `rule` is stable (`CC-01`, `schema:topology`, `acyclic`, ...). */
export interface Finding {
  readonly check: 'schemas' | 'contracts' | 'structure';
  readonly rule: string;
  readonly level: 'error' | 'warning';
  readonly message: string;
  readonly file?: string | undefined;
  readonly path?: string | undefined;
}

export type GovernanceStatus = 'ok' | 'warn' | 'fail';

/** `fail` with any error, `warn` with only warnings, else `ok`. */
export function statusOf(findings: readonly Finding[]): GovernanceStatus {
  if (findings.some((f) => f.level === 'error')) return 'fail';
  return findings.length > 0 ? 'warn' : 'ok';
}

/** An artifact as loaded from disk: its file and parsed JSON/YAML (or the parse error). */
export interface LoadedArtifact {
  readonly file: string;
  readonly raw: unknown;
  readonly parseError?: string | undefined;
}

/** Everything of one run that governance reads. */
export interface RunArtifacts {
  readonly runId: string;
  readonly manifest?: LoadedArtifact | undefined;
  readonly topology?: LoadedArtifact | undefined;
  readonly bundle?: LoadedArtifact | undefined;
  readonly plan?: LoadedArtifact | undefined;
  readonly tickets: readonly LoadedArtifact[];
  readonly collaborations: readonly LoadedArtifact[];
  readonly callbacks: readonly LoadedArtifact[];
  /** Stored CC-05 payloads of this run (from `audit_logs.payload`). */
  readonly auditPayloads: readonly LoadedArtifact[];
}
