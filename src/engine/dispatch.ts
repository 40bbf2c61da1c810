import { join } from 'node:path';
import type { AgentAdapter, AgentRequest, AgentResult, ChainResult } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import {
  CollaborationResultSchema,
  EXIT_WAITING_FOR_HUMAN,
  InvalidArgumentError,
  SCHEMA_VERSION,
  isMsoError,
  type CollaborationResult,
  type DispatchMode,
  type HandoffPayload,
  type Policy,
  type TicketFrontmatter,
} from '../contracts/index.js';
import type { AskModel } from '../design/index.js';
import { gitCommand, type Clock, type Proc, type Random } from '../platform/index.js';
import type { TicketRef, TicketStore } from '../tickets/index.js';
import { readTextIfExists, writeJsonAtomic, type AtomicDeps, type HitlStore } from '../workspace/index.js';
import { attemptResultFields } from './attempt-row.js';
import { judge, type Verdict } from './judge.js';

/** How dispatch reaches agents (built by the app over the resilience stack). */
export interface AgentCaller {
  chain(persona: string | undefined): AgentAdapter[];
  adapter(name: string): AgentAdapter;
  run(chain: readonly AgentAdapter[], req: AgentRequest): Promise<ChainResult>;
  readonly log: AuditLog;
}

export interface DispatchDeps extends AtomicDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly proc: Proc;
  readonly agents: AgentCaller;
}

export interface DispatchInput {
  readonly store: TicketStore;
  readonly ticket: string;
  readonly runId: string;
  readonly mode?: DispatchMode | undefined;
  readonly agent?: string | undefined;
  /** Where ticket working folders are created (`<run>/worktree/tickets`). */
  readonly workRoot: string;
  readonly policy: Pick<Policy, 'dispatch'>;
  readonly hitl?: HitlStore | undefined;
  readonly critic?: AskModel | undefined;
}

export interface DispatchOutcome {
  readonly ticket: string;
  readonly mode: DispatchMode;
  readonly mode_reason: string;
  /** The ticket's status afterwards (or its unchanged status when skipped). */
  readonly status: string;
  readonly skipped: string | null;
  readonly result_path: string | null;
  readonly requires_manual_confirmation: boolean;
  readonly fallback_reason: string | null;
  readonly hitl: string | null;
  readonly agent: string | null;
  readonly verdict?: Verdict;
  readonly batch?: readonly DispatchOutcome[];
  /** 0 done, 1 failed, 3 waiting for a human. */
  readonly exitCode: number;
}

/** The seed's mode rule: explicit, tag batch, tag swarm/multi, priority high/critical → batch, else run (when unsure). */
export function inferMode(fm: TicketFrontmatter, explicit?: DispatchMode): { mode: DispatchMode; reason: string } {
  if (explicit) return { mode: explicit, reason: `explicit --mode ${explicit}` };
  if (fm.tags.includes('batch')) return { mode: 'batch', reason: 'tag batch' };
  const multi = fm.tags.find((t) => t === 'swarm' || t === 'multi');
  if (multi) return { mode: 'swarm', reason: `tag ${multi}` };
  if (fm.priority === 'high' || fm.priority === 'critical') return { mode: 'batch', reason: `priority ${fm.priority}` };
  return { mode: 'run', reason: 'when_unsure: no mode signal, default run' };
}

const stemOf = (path: string): string => path.replace(/\.md$/, '');

async function ensureWorkdir(deps: DispatchDeps, dir: string): Promise<void> {
  await deps.fs.mkdir(dir, { recursive: true });
  if (await deps.fs.stat(join(dir, '.git')).catch(() => undefined)) return;
  await new Promise<void>((resolve) => {
    const child = deps.proc.spawn('git', gitCommand(['init', '-q'], { env: {} }).args, { cwd: dir, stdio: 'ignore' });
    child.on('close', () => resolve());
    child.on('error', () => resolve());
  });
}

function instructionsFor(t: TicketRef, payload: HandoffPayload): string {
  const deps = payload.dependency_results ?? [];
  return [
    `Ticket ${payload.task_id}: ${payload.task_name}`,
    '',
    t.doc.body.replace(/^# .*\n?/, '').trim(),
    ...(deps.length
      ? [
          '',
          'Results of the tickets this one depends on:',
          ...deps.map(
            (d) => `- ${d.task_id} (${d.status}): ${d.summary ?? ''}${d.artifact_uri ? ` [${d.artifact_uri}]` : ''}`,
          ),
        ]
      : []),
    '',
    'Work in the current directory. Report what you changed and how you verified it.',
  ]
    .join('\n')
    .trim();
}

/**
 * Dispatches one ticket (seed phases 1–4): only todo/in_progress tickets; the mode from the seed's rule; a CC-04
 * hand-off payload with the real title and the dependencies' results; execution through the agents layer (run: one
 * chain; batch: this and the other ready tickets concurrently; swarm: K agents judged, the best kept); the result
 * file next to the ticket; the status written back (success → done, failure → blocked, partial → in_progress); with no
 * agent able to do it, the seed's fallback and a human work item.
 */
export async function dispatchTicket(deps: DispatchDeps, input: DispatchInput): Promise<DispatchOutcome> {
  const ref = await input.store.get(input.ticket);
  const fm = ref.doc.frontmatter;
  const { mode, reason } = inferMode(fm, input.mode);
  const base = {
    ticket: fm.id,
    mode,
    mode_reason: reason,
    result_path: null,
    requires_manual_confirmation: false,
    fallback_reason: null,
    hitl: null,
    agent: null,
  };
  if (fm.status !== 'todo' && fm.status !== 'in_progress')
    return { ...base, status: fm.status, skipped: `status=${fm.status}`, exitCode: 0 };
  if (fm.blocked_reason) return { ...base, status: fm.status, skipped: `blocked: ${fm.blocked_reason}`, exitCode: 1 };
  const open = await openDependencies(input.store, fm);
  if (open.length) return { ...base, status: fm.status, skipped: `waiting on ${open.join(', ')}`, exitCode: 0 };
  if (mode === 'batch') return dispatchBatch(deps, input, ref, reason);
  return dispatchOne(deps, input, ref, mode, reason);
}

async function openDependencies(store: TicketStore, fm: TicketFrontmatter): Promise<string[]> {
  const open: string[] = [];
  for (const d of fm.dependencies) {
    const dep = await store.get(d).catch(() => null);
    if (!dep || dep.doc.frontmatter.status !== 'done') open.push(d);
  }
  return open;
}

async function dependencyResults(
  deps: DispatchDeps,
  store: TicketStore,
  fm: TicketFrontmatter,
): Promise<NonNullable<HandoffPayload['dependency_results']>> {
  const out: NonNullable<HandoffPayload['dependency_results']> = [];
  for (const d of fm.dependencies) {
    const dep = await store.get(d).catch(() => null);
    if (!dep) continue;
    const text = await readTextIfExists(deps.fs, `${stemOf(dep.path)}.agent-collaboration.json`);
    const collab = text
      ? (JSON.parse(text) as { output_report?: { summary?: string }; artifact_uri?: string })
      : undefined;
    out.push({
      task_id: d,
      status: dep.doc.frontmatter.status,
      ...(collab?.output_report?.summary ? { summary: collab.output_report.summary } : {}),
      ...(collab?.artifact_uri ? { artifact_uri: collab.artifact_uri } : {}),
    });
  }
  return out;
}

async function dispatchBatch(
  deps: DispatchDeps,
  input: DispatchInput,
  first: TicketRef,
  reason: string,
): Promise<DispatchOutcome> {
  const ready: TicketRef[] = [first];
  for (const t of await input.store.list('todo')) {
    if (t.doc.frontmatter.id === first.doc.frontmatter.id || t.doc.frontmatter.blocked_reason) continue;
    if ((await openDependencies(input.store, t.doc.frontmatter)).length === 0) ready.push(t);
  }
  const outcomes: DispatchOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ready.length) {
      const t = ready[next++] as TicketRef;
      outcomes.push(
        await dispatchOne(
          deps,
          input,
          t,
          'batch',
          t === first ? reason : `ready sibling of ${first.doc.frontmatter.id} in batch`,
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.policy.dispatch.batch_limit, ready.length) }, worker));
  outcomes.sort((a, b) => a.ticket.localeCompare(b.ticket));
  const mine = outcomes.find((o) => o.ticket === first.doc.frontmatter.id) as DispatchOutcome;
  const exitCode = outcomes.some((o) => o.exitCode === 1)
    ? 1
    : outcomes.some((o) => o.exitCode === EXIT_WAITING_FOR_HUMAN)
      ? EXIT_WAITING_FOR_HUMAN
      : 0;
  return { ...mine, batch: outcomes, exitCode };
}

function collaboration(
  runId: string,
  payload: HandoffPayload,
  r: AgentResult | null,
  fallback: string | null,
  artifactUri: string,
  extra: Record<string, unknown>,
): CollaborationResult {
  const status = fallback ? 'in_progress' : (r?.status ?? 'failure');
  return CollaborationResultSchema.parse({
    dispatch_mode: payload.dispatch_mode,
    handoff_payload: { ...payload, requires_manual_confirmation: fallback !== null, fallback_reason: fallback },
    requires_manual_confirmation: fallback !== null,
    fallback_reason: fallback,
    status,
    run_id: runId,
    artifact_uri: artifactUri,
    errors: fallback ? [fallback] : r && r.status !== 'success' ? [r.errorMessage ?? r.status] : [],
    warnings: fallback ? ['no agent could take the ticket: manual dispatch required'] : [],
    next_actions: fallback
      ? ['manual_dispatch', 'validate_manual_route']
      : r?.status === 'success'
        ? ['review']
        : ['retry', 'escalate'],
    ...(r
      ? {
          output_report: {
            agent: r.agent,
            status: r.status,
            summary: r.summary,
            output: r.output.slice(0, 8_000),
            changed_files: r.changedFiles,
            usage: r.usage,
            cost: r.cost,
            session_id: r.sessionId,
            exit_code: r.exitCode,
            error_class: r.errorClass,
            evidence: r.evidence,
          },
        }
      : {}),
    ...extra,
    metadata: {
      schema_version: SCHEMA_VERSION,
      cc_coupling_id: 'CC-04',
      required_skill_ids: ['mso-agent-collaboration', 'mso-task-context-management', 'mso-agent-audit-log'],
      missing_dependency_action: fallback ? 'manual_required' : 'auto',
    },
  });
}

async function dispatchOne(
  deps: DispatchDeps,
  input: DispatchInput,
  ref: TicketRef,
  mode: DispatchMode,
  reason: string,
): Promise<DispatchOutcome> {
  const fm = ref.doc.frontmatter;
  const at = deps.clock.now().toISOString();
  const payload: HandoffPayload = {
    run_id: input.runId,
    task_id: fm.id,
    task_name: fm.title,
    mode,
    dispatch_mode: mode,
    artifact_uri: fm.artifact_uri ?? ref.path,
    owner: fm.owner,
    dependencies: fm.dependencies,
    tags: fm.tags,
    due_by: fm.due_by,
    status: fm.status,
    state_machine_version: 'v1',
    task_spec: `${input.agent ?? fm.agent ?? 'chain'}:${fm.title.replaceAll(':', ' - ')}:${fm.id}`,
    cc_coupling_id: 'CC-04',
    required_skill_ids: ['mso-agent-collaboration', 'mso-task-context-management', 'mso-agent-audit-log'],
    missing_dependency_action: 'auto',
    requires_manual_confirmation: false,
    fallback_reason: null,
    mode_reason: reason,
    dependency_results: await dependencyResults(deps, input.store, fm),
  };
  if (fm.status === 'todo') await input.store.move(ref.path, 'in_progress', `dispatch (${mode})`);
  await input.store.update(ref.path, (f) => ({ ...f, attempts: (f.attempts ?? 0) + 1 }));
  const log = deps.agents.log;
  log.appendEvent({
    runId: input.runId,
    type: 'dispatch.started',
    ticketId: fm.id,
    payload: { mode, mode_reason: reason, agent: input.agent ?? null },
  });
  const instructions = instructionsFor(ref, payload);
  const workdir = join(input.workRoot, fm.id);
  let result: AgentResult | null = null;
  let fallback: string | null = null;
  let verdict: Verdict | undefined;
  let artifactUri = workdir;
  let callChain: AgentAdapter[];
  try {
    callChain = input.agent ? [deps.agents.adapter(input.agent)] : deps.agents.chain(fm.persona);
  } catch (e) {
    throw isMsoError(e) ? e : new InvalidArgumentError('--agent', (e as Error).message);
  }
  const attemptId = deps.random.id('att');
  // The attempt is on record before any agent runs: a crash leaves a `running` attempt, never an unrecorded one.
  const attempt = {
    attemptId,
    runId: input.runId,
    ticketId: fm.id,
    nodeId: fm.node_id ?? null,
    attemptNo: (fm.attempts ?? 0) + 1,
    isRetry: (fm.attempts ?? 0) > 0,
    stage: 'dispatch',
    persona: fm.persona ?? null,
  };
  log.recordAttempt({ ...attempt, status: 'running', startedAt: at });
  try {
    if (mode === 'swarm') {
      const available: AgentAdapter[] = [];
      for (const a of callChain) if (a.kind !== 'manual' && (await a.availability()).available) available.push(a);
      // Distinct providers first, so one outage cannot sink every candidate; then the rest of the chain.
      const distinct = available.filter((a, i) => available.findIndex((b) => b.provider === a.provider) === i);
      const pool = [...distinct, ...available.filter((a) => !distinct.includes(a))].slice(
        0,
        input.policy.dispatch.swarm_size,
      );
      if (pool.length === 0) throw new Error('no available agent for a swarm');
      const runs = await Promise.all(
        pool.map(async (a) => {
          const dir = `${workdir}-swarm-${a.name}`;
          await ensureWorkdir(deps, dir);
          const r = await deps.agents.run([a], {
            runId: input.runId,
            ticketId: fm.id,
            attemptId,
            persona: fm.persona,
            instructions,
            cwd: dir,
          });
          return { agent: a.name, dir, result: r.result };
        }),
      );
      verdict = await judge(
        runs.map((r) => ({ id: r.agent, result: r.result })),
        input.policy.dispatch.scoring_weights,
        input.critic,
      );
      const win = runs.find((r) => r.agent === verdict?.winner) ?? runs[0];
      result = win?.result ?? null;
      artifactUri = win?.dir ?? workdir;
      log.recordDecision({
        title: `swarm winner for ${fm.id}: ${verdict.winner ?? 'none'}`,
        context: `${runs.length} candidates: ${runs.map((r) => `${r.agent}=${r.result.status}`).join(', ')}`,
        content: JSON.stringify({ ranking: verdict.ranking, votes: verdict.votes, split: verdict.split }),
        requestedBy: 'dispatch',
        approvedBy: verdict.votes.map((v) => v.judge).join('+'),
        evidence: verdict.ranking.map((s) => ({
          type: 'score',
          refPath: `${input.runId}/${fm.id}/${s.candidate}`,
          description: JSON.stringify(s),
        })),
        impacts: [{ domain: 'ticket', description: `kept ${verdict.winner ?? 'none'}`, reversibility: 'High' }],
        tags: ['swarm', 'vote'],
      });
    } else {
      await ensureWorkdir(deps, workdir);
      const r = await deps.agents.run(callChain, {
        runId: input.runId,
        ticketId: fm.id,
        attemptId,
        persona: fm.persona,
        instructions,
        cwd: workdir,
      });
      result = r.result;
    }
  } catch (e) {
    if (
      !(isMsoError(e) && e.code === 'MSO_ALL_PROVIDERS_UNAVAILABLE') &&
      !(e instanceof Error && e.message.startsWith('no available agent'))
    )
      throw e;
    fallback = `no agent available: ${(e as Error).message}`;
  }
  if (result?.requiresManualConfirmation) fallback = result.summary;
  const collab = collaboration(
    input.runId,
    payload,
    fallback ? null : result,
    fallback,
    artifactUri,
    verdict ? { swarm: { ranking: verdict.ranking, votes: verdict.votes, split: verdict.split } } : {},
  );
  const resultPath = `${stemOf(ref.path)}.agent-collaboration.json`;
  await writeJsonAtomic(deps, resultPath, collab);
  let hitl: string | null = null;
  let status: string = 'in_progress';
  if (fallback) {
    const item = await input.hitl?.create({
      run_id: input.runId,
      kind: 'manual_work',
      gate: 'H1',
      urgency: fm.priority === 'critical' ? 'critical' : fm.priority === 'high' ? 'high' : 'normal',
      title: `manual dispatch of ${fm.id}: ${fm.title}`,
      brief: `No agent could take ticket ${fm.id} (${fallback}). Do the work by hand, then move the ticket to done.`,
      source: { ticket_id: fm.id, ...(fm.node_id ? { node_id: fm.node_id } : {}) },
      evidence: [resultPath],
      options: ['do it by hand and approve', 'retry with another agent', 'abort (cancel the ticket)'],
    });
    hitl = item?.id ?? null;
  } else if (result?.status === 'success') {
    status = (await input.store.move(ref.path, 'done', `dispatch: ${result.summary}`)).doc.frontmatter.status;
  } else if (result && result.status !== 'partial') {
    status = (
      await input.store.move(
        ref.path,
        'blocked',
        `${result.errorClass ?? result.status}: ${result.errorMessage ?? ''}`.slice(0, 300),
      )
    ).doc.frontmatter.status;
  }
  await input.store.update(ref.path, (f) => ({
    ...f,
    ...(result ? { agent: result.agent } : {}),
    artifact_uri: artifactUri,
  }));
  if (result) {
    log.recordAttempt({ ...attempt, startedAt: result.evidence.startedAt, ...attemptResultFields(result) });
  }
  if (!result)
    log.recordAttempt({
      attemptId,
      runId: input.runId,
      status: 'blocked',
      endedAt: deps.clock.now().toISOString(),
      errorClass: 'manual_required',
      errorMessage: fallback,
    });
  log.appendPayload({
    run_id: input.runId,
    artifact_uri: resultPath,
    status: fallback ? 'in_progress' : result?.status === 'success' ? 'success' : 'fail',
    errors: collab.errors,
    warnings: collab.warnings,
    next_actions: collab.next_actions,
    task_name: fm.title,
    mode,
    action: 'dispatch',
    notes: `mode ${mode} (${reason}); ticket ${fm.id} -> ${status}${fallback ? `; FALLBACK: ${fallback}` : ''}`,
    work_type: 'execution',
    triggered_by: 'user_request',
    files_affected: result ? [...result.changedFiles] : [],
    metadata: {
      schema_version: SCHEMA_VERSION,
      cc_coupling_id: 'CC-05',
      dispatch_mode: mode,
      mode_reason: reason,
      ticket: fm.id,
      attempt_id: attemptId,
      at,
    },
  });
  log.appendEvent({
    runId: input.runId,
    type: 'dispatch.finished',
    ticketId: fm.id,
    attemptId,
    payload: { status, agent: result?.agent ?? null, fallback },
  });
  const exitCode = fallback ? EXIT_WAITING_FOR_HUMAN : status === 'done' ? 0 : 1;
  return {
    ticket: fm.id,
    mode,
    mode_reason: reason,
    status,
    skipped: null,
    result_path: resultPath,
    requires_manual_confirmation: fallback !== null,
    fallback_reason: fallback,
    hitl,
    agent: result?.agent ?? null,
    ...(verdict ? { verdict } : {}),
    exitCode,
  };
}
