import { join } from 'node:path';
import type { AuditLog } from '../audit/index.js';
import {
  checkContracts,
  checkSchemas,
  checkStructure,
  statusOf,
  type Finding,
  type GovernanceStatus,
} from '../governance/index.js';
import { allWritten, writeFileAtomic, writeJsonAtomic, type RunRef, type Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import { ARTIFACT_PATHS, displayPath, loadRunArtifacts } from './run-artifacts.js';

export interface ValidationReport {
  readonly run_id: string;
  readonly check: 'schemas' | 'contracts' | 'structure' | 'all';
  readonly status: GovernanceStatus;
  readonly findings: readonly Finding[];
  readonly errors: number;
  readonly warnings: number;
  readonly report: string;
  readonly generated_at: string;
}

const REPORT_FILES = {
  schemas: 'schema_validation.json',
  contracts: 'cc_contract_validation.json',
  structure: 'structure_validation.json',
  all: 'governance_report.json',
} as const;

/**
 * The governance checks of a run's artifacts (`check`: one kind, or all): its findings, written as the kind's report
 * in `70_governance/` (with a readable `governance_check_report.md` for all), and the phase marked by the outcome.
 */
export async function validateRun(
  deps: AppDeps,
  ws: Workspace,
  ref: RunRef,
  check: ValidationReport['check'],
  log?: Pick<AuditLog, 'db'>,
): Promise<ValidationReport> {
  const artifacts = await loadRunArtifacts(deps, ws, ref, log);
  const findings = [
    ...(check === 'schemas' || check === 'all' ? checkSchemas(artifacts) : []),
    ...(check === 'contracts' || check === 'all' ? checkContracts(artifacts) : []),
    ...(check === 'structure' || check === 'all' ? checkStructure(artifacts) : []),
  ].map((f) => ({ ...f, ...(f.file ? { file: displayPath(ws, f.file) } : {}) }));
  const report = join(ref.dir, ARTIFACT_PATHS.governance, REPORT_FILES[check]);
  const body: ValidationReport = {
    run_id: ref.runId,
    check,
    status: statusOf(findings),
    findings,
    errors: findings.filter((f) => f.level === 'error').length,
    warnings: findings.filter((f) => f.level === 'warning').length,
    report,
    generated_at: deps.clock.now().toISOString(),
  };
  // The phase and the reports are separate files, each written whole: side by side (the text made before any starts).
  const readable = check === 'all' ? markdown(body) : undefined;
  await allWritten([
    ws.runs
      .setPhase(ref.runId, '70_governance', body.status === 'fail' ? 'failed' : 'completed')
      .catch(() => undefined),
    writeJsonAtomic(deps, report, body),
    ...(readable === undefined
      ? []
      : [writeFileAtomic(deps, join(ref.dir, ARTIFACT_PATHS.governance, 'governance_check_report.md'), readable)]),
  ]);
  return body;
}

function markdown(body: ValidationReport): string {
  const { findings } = body;
  return [
    `# Governance report: ${body.run_id}`,
    '',
    `Status: **${body.status}** (${body.errors} errors, ${body.warnings} warnings), ${body.generated_at}`,
    '',
    ...(findings.length
      ? [
          '| level | check | rule | where | message |',
          '|---|---|---|---|---|',
          ...findings.map(
            (f) =>
              `| ${f.level} | ${f.check} | ${f.rule} | ${f.file ?? ''}${f.path ? ` \`${f.path}\`` : ''} | ${f.message.replace(/\|/g, '\\|')} |`,
          ),
        ]
      : ['No findings.']),
    '',
  ].join('\n');
}
