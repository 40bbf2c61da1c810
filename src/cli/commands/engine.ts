import { Option, type Command } from 'commander';
import type { RunSummary } from '../../app/index.js';
import { EXIT_WAITING_FOR_HUMAN, InvalidArgumentError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';
import { EXIT_INTERRUPTED } from '../io.js';

const num =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(flag, `${v} is not a number`);
    return n;
  };

function exitOf(s: RunSummary): number {
  if (s.status === 'completed') return 0;
  if (s.status === 'awaiting_human') return EXIT_WAITING_FOR_HUMAN;
  if (s.status === 'cancelled') return EXIT_INTERRUPTED;
  return 1;
}

function render(s: RunSummary): string[] {
  const kv = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-';
  return [
    ...(s.plan ? [s.plan, ''] : []),
    `run       ${s.run_id}`,
    `status    ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
    `nodes     ${kv(s.nodes)}`,
    `tickets   ${kv(s.tickets)}`,
    `cost      $${s.cost_usd}`,
    ...(s.proposals_applied?.length ? [`shaped by ${s.proposals_applied.join(', ')}`] : []),
    ...(s.findings !== undefined ? [`observed  ${s.findings} finding(s) (mso proposals list)`] : []),
    `duration  ${(s.duration_ms / 1000).toFixed(1)} s`,
    ...s.pending_human.map((h) => `waiting   ${h}  (mso approve|reject ${s.run_id} ${h.split(':')[0]})`),
    ...(s.governance && s.governance.status === 'fail'
      ? s.governance.findings.map((f) => `  ${f.level} ${f.rule} ${f.file ?? ''} ${f.path ?? ''}: ${f.message}`)
      : []),
    `readme    ${s.observation_readme}`,
  ];
}

/** `mso run | resume | cancel | status | approve | reject`. */
export function registerEngine(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('design (or import) → governance gate → tickets → execution in git worktrees → finalize')
    .option('--goal <text>')
    .option('--goal-file <file>')
    .option('--workflow <file>', 'a workflow file (YAML or JSON) instead of a goal')
    .option('--run-id <id>')
    .addOption(new Option('--risk <risk>').choices(['low', 'medium', 'high']))
    .addOption(
      new Option(
        '--planner <planner>',
        'llm needs a usable model; auto = llm if one is available, else heuristic',
      ).choices(['heuristic', 'llm', 'auto']),
    )
    .addOption(new Option('--pattern <pattern>').choices(['parallel', 'hierarchical']))
    .option('--max-depth <n>', 'hierarchical decomposition depth', num('--max-depth'))
    .option('--agent <name>', 'run every node without a command through this agent')
    .option(
      '--max-concurrency <n>',
      'nodes running at once (default: run_policy.max_concurrency in policy.yaml, 4)',
      num('--max-concurrency'),
    )
    .option('--budget-usd <x>', 'stop new dispatches once this much is spent', num('--budget-usd'))
    .option(
      '--repo <dir>',
      'the git repository to branch from (default: the one around the current directory, else a fresh one)',
    )
    .option('--dry-run', 'stop after the governance gate and print the plan')
    .option(
      '--allow-manual',
      'let nodes no agent can do go to a person (by default such a run is refused before it starts)',
    )
    .option('--no-apply-proposals', 'do not apply the accepted proposals for this goal or workflow')
    .action(
      async (o: {
        goal?: string;
        goalFile?: string;
        workflow?: string;
        runId?: string;
        risk?: 'low' | 'medium' | 'high';
        planner?: 'heuristic' | 'llm' | 'auto';
        allowManual?: boolean;
        pattern?: 'parallel' | 'hierarchical';
        maxDepth?: number;
        agent?: string;
        maxConcurrency?: number;
        budgetUsd?: number;
        repo?: string;
        dryRun?: boolean;
        applyProposals?: boolean;
      }) => {
        const s = await ctx.app().engine.run({ ...o, signal: ctx.io.signal });
        const failedGate = s.governance?.status === 'fail';
        ctx.done({
          data: s,
          human: render(s),
          exitCode: s.reason?.startsWith('dry run') ? 0 : failedGate ? 1 : exitOf(s),
        });
      },
    );
  program
    .command('resume')
    .description('continue a run: done nodes are never run again; interrupted ones restart from their parent commit')
    .argument('<run-id>')
    .option('--budget-usd <x>', 'raise the budget', num('--budget-usd'))
    .option('--max-concurrency <n>', 'nodes running at once', num('--max-concurrency'))
    .option('--agent <name>')
    .action(async (runId: string, o: { budgetUsd?: number; maxConcurrency?: number; agent?: string }) => {
      const s = await ctx.app().engine.resume(runId, { ...o, signal: ctx.io.signal });
      ctx.done({ data: s, human: render(s), exitCode: exitOf(s) });
    });
  program
    .command('cancel')
    .description('stop dispatching, end running agents; the run stays resumable')
    .argument('<run-id>')
    .option('--reason <text>', 'recorded with the cancellation (default: cancelled by <observer>)')
    .action(async (runId: string, o: { reason?: string }) => {
      const r = await ctx.app().engine.cancel(runId, o.reason);
      ctx.done({
        data: r,
        human: `CANCEL requested for ${r.run_id}${r.coordinator ? ` (coordinator ${r.coordinator})` : ' (no live coordinator: marked cancelled)'}`,
      });
    });
  program
    .command('status')
    .description(
      'live progress of a run (or the runs not finished); --portfolio: every run with costs, failures, pending proposals',
    )
    .argument('[run-id]')
    .option('--portfolio', 'every run: status, tickets, cost, failures, pending proposals and human items')
    .action(async (runId: string | undefined, o: { portfolio?: boolean }) => {
      if (o.portfolio) {
        const rows = await ctx.app().observe.portfolio();
        ctx.done({
          data: { runs: rows },
          human: rows.length
            ? rows.map(
                (r) =>
                  `${r.run_id.padEnd(50)} ${r.status.padEnd(15)} $${r.cost_usd.toFixed(4).padStart(9)} failures ${r.failures} proposals ${r.pending_proposals} human ${r.pending_human} tickets ${
                    Object.entries(r.tickets)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(',') || '-'
                  }`,
              )
            : ['(no runs)'],
        });
        return;
      }
      const s = await ctx.app().engine.status(runId);
      if ('runs' in s)
        ctx.done({
          data: s,
          human: s.runs.length ? s.runs.map((r) => `${r.run_id.padEnd(50)} ${r.status}`) : ['(no unfinished runs)'],
        });
      else ctx.done({ data: s, human: render(s) });
    });
  for (const [name, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    program
      .command(name)
      .description(`${name} a human item (HITL-NNNN) of a run; then mso resume`)
      .argument('<run-id>')
      .argument('<item>')
      .option('--note <text>')
      .option('--done', 'for an item that asks you to do a node by hand: you did it (required to approve one)')
      .action(async (runId: string, item: string, o: { note?: string; done?: boolean }) => {
        const r = await ctx.app().engine.decide(runId, item, decision, o.note, { done: o.done });
        ctx.done({
          data: r,
          human: `${r.item.id} ${r.item.status}${r.changed ? '' : ' (already decided)'}; next: mso resume ${runId}`,
        });
      });
  }
}
