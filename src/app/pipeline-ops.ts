import type { DesignOps } from './design-ops.js';
import type { TicketOps } from './ticket-ops.js';
import type { Workspace } from '../workspace/index.js';

export interface PipelineStep {
  readonly step: string;
  readonly detail: string;
}

export interface PipelineResult {
  readonly run_id: string;
  readonly status: 'completed' | 'failed';
  readonly steps: readonly PipelineStep[];
  readonly ticket: string;
  readonly dispatch_status: string;
  readonly governance: string;
}

/**
 * The seed's sample pipeline on real commands: design (topology, mental models, plan) → a ticket → dispatch →
 * audit → validate → finalize. Dispatch falling back to a person still completes the pipeline, as in the seed.
 */
export async function runSamplePipeline(
  ops: {
    design: DesignOps;
    tickets: TicketOps;
    open: (create?: boolean) => Promise<Workspace>;
    log: (line: string) => void;
  },
  input: { goal: string; taskTitle: string; risk?: 'low' | 'medium' | 'high' | undefined },
): Promise<PipelineResult> {
  const steps: PipelineStep[] = [];
  const d = await ops.design.all({ goal: input.goal, risk: input.risk, caseSlug: input.taskTitle });
  const runId = d.run_id;
  const note = (step: string, detail: string): void => {
    steps.push({ step, detail });
    ops.log(`[pipeline:${runId}] ${step} ${detail}`);
  };
  const ws = await ops.open(true);
  await ws.runs.setPhase(runId, '00_collect', 'completed');
  note('10 topology', d.topology.path);
  note('20 mental-model', d.bundle);
  note('30 plan', d.plan);
  const t = await ops.tickets.create({ runId }, { title: input.taskTitle, tags: ['sample'] });
  note('40 ticket', t.path);
  const dispatched = await ops.tickets.dispatch({ runId }, t.ticket.id, { mode: 'run' });
  note(
    '40 dispatch',
    `${dispatched.ticket} ${dispatched.mode} -> ${dispatched.status}${dispatched.fallback_reason ? ` (FALLBACK: ${dispatched.fallback_reason})` : ''}`,
  );
  await ws.runs.setPhase(runId, '50_audit', 'completed');
  note('50 audit', `${ws.layout.auditDb}`);
  const v = await ops.design.validate(runId, 'all');
  note('70 validate', `${v.status} (${v.errors} errors, ${v.warnings} warnings)`);
  const status = v.status === 'fail' || dispatched.exitCode === 1 ? 'failed' : 'completed';
  await ws.runs.setStatus(runId, status, {
    tags: ['sample'],
    ...(status === 'failed'
      ? { error: { message: v.status === 'fail' ? 'governance failed' : 'dispatch failed', phase: 'pipeline' } }
      : {}),
  });
  await ws.sync(runId);
  return {
    run_id: runId,
    status,
    steps,
    ticket: dispatched.ticket,
    dispatch_status: dispatched.status,
    governance: v.status,
  };
}
