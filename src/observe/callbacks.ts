import { ObservabilityCallbackSchema, type ObservabilityCallback } from '../contracts/index.js';
import type { Finding } from './detectors.js';
import type { Proposal } from './proposals.js';

const RETRY: Readonly<Record<string, ObservabilityCallback['retry_policy']>> = {
  anomaly_detected: { max_retries: 2, backoff_seconds: 10, on_retry: 'queue' },
  hitl_request: { max_retries: 5, backoff_seconds: 20, on_retry: 'queue' },
  improvement_proposal: { max_retries: 0, backoff_seconds: 0, on_retry: 'drop' },
  periodic_report: { max_retries: 0, backoff_seconds: 0, on_retry: 'drop' },
};

/** Callback events (schema-valid) for findings, proposals, or the periodic report when nothing triggered. */
export async function toCallbacks(input: {
  readonly runId: string;
  readonly artifactUri: string;
  readonly findings: readonly Finding[];
  readonly proposals: readonly Proposal[];
  readonly at: string;
  readonly checkpoint: (prefix: 'HC' | 'AS' | 'IP') => Promise<string>;
  readonly summary: string;
}): Promise<ObservabilityCallback[]> {
  const out: ObservabilityCallback[] = [];
  for (const f of input.findings) {
    const type = f.kind === 'stale_hitl' || f.kind === 'deferral_loop' ? 'hitl_request' : 'anomaly_detected';
    out.push(
      ObservabilityCallbackSchema.parse({
        event_type: type,
        checkpoint_id: await input.checkpoint(type === 'hitl_request' ? 'HC' : 'AS'),
        payload: {
          target_skills: [...f.target_skills],
          severity: f.severity,
          message: f.message,
          ...(f.node_id ? { node_id: f.node_id } : {}),
          finding: f.kind,
        },
        retry_policy: RETRY[type],
        correlation: { run_id: input.runId, artifact_uri: input.artifactUri, audit_refs: [...f.evidence] },
        timestamp: input.at,
      }),
    );
  }
  for (const p of input.proposals) {
    out.push(
      ObservabilityCallbackSchema.parse({
        event_type: 'improvement_proposal',
        checkpoint_id: p.id,
        payload: {
          target_skills: ['topology-design', 'mental-model-design', 'execution-design'],
          severity: 'info',
          message: p.summary,
          ...(p.scope.node_id ? { node_id: p.scope.node_id } : {}),
          proposal: p.id,
          target: p.target,
          patch: p.patch,
          rollback_rule: p.rollback_rule,
        },
        retry_policy: RETRY['improvement_proposal'],
        correlation: { run_id: input.runId, artifact_uri: input.artifactUri, audit_refs: [...p.finding.evidence] },
        timestamp: input.at,
      }),
    );
  }
  if (out.length === 0) {
    out.push(
      ObservabilityCallbackSchema.parse({
        event_type: 'periodic_report',
        checkpoint_id: await input.checkpoint('HC'),
        payload: { target_skills: ['audit-log', 'governance'], severity: 'info', message: input.summary },
        retry_policy: RETRY['periodic_report'],
        correlation: { run_id: input.runId, artifact_uri: input.artifactUri, audit_refs: [] },
        timestamp: input.at,
      }),
    );
  }
  return out;
}
