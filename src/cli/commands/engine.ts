import { Option, type Command } from 'commander';
import type { RunSummary, UnfinishedRun } from '../../app/index.js';
import { InvalidArgumentError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';
import { pause, runExit } from '../io.js';
import { withProgress } from '../progress.js';
import { nextLines, waitingLines } from '../summary-lines.js';

const num =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(flag, `${v} is not a number`);
    return n;
  };

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
    // A run only designed has not run: the time its design took is not a run's duration.
    `duration  ${s.status === 'created' ? '- (not run yet)' : `${(s.duration_ms / 1000).toFixed(1)} s`}`,
    ...waitingLines(s),
    ...(s.governance && s.governance.status === 'fail'
      ? s.governance.findings.map((f) => `  ${f.level} ${f.rule} ${f.file ?? ''} ${f.path ?? ''}: ${f.message}`)
      : []),
    ...(s.result ?? []).map((r) => `result    ${r.branch} @ ${r.commit.slice(0, 12)}${s.repo ? ` in ${s.repo}` : ''}`),
    `readme    ${s.observation_readme}`,
    // Run again already: the new run is where to look.
    ...(s.reruns ?? []).map((r) => `rerun     ${r.run_id} (${r.status}; mso status ${r.run_id})`),
    ...nextLines(s),
  ];
}

/** `mso status` without a run: the runs not finished, newest change first, and what to type next. */
function unfinishedTable(runs: readonly UnfinishedRun[]): string[] {
  if (runs.length === 0) return ['(no unfinished runs; mso status --portfolio lists every run)'];
  const rows = [...runs]
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
    .map((r) => [
      r.run_id,
      r.rerun ? `${r.status} (rerun ${r.rerun.status})` : r.status,
      `${r.nodes_done}/${r.nodes_total}`,
      r.updated_at.replace('T', ' ').slice(0, 16),
      (r.goal ?? '').replace(/\s+/g, ' ').slice(0, 50),
    ]);
  return [
    ...columns(['RUN', 'STATUS', 'DONE', 'UPDATED', 'GOAL'], rows),
    '',
    'mso status RUN shows one run, its nodes and what to do next',
  ];
}

/** A table: the header and rows, each column as wide as its widest cell, two spaces apart. */
function columns(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]): string =>
    c
      .map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The per-node table of `mso status RUN`. */
function nodeTable(s: RunSummary): string[] {
  const rows = s.node_table ?? [];
  if (rows.length === 0) return [];
  const cells = rows.map((r) => [
    r.node,
    r.state,
    r.agent ?? '-',
    String(r.attempts),
    r.duration_ms === null ? '-' : `${(r.duration_ms / 1000).toFixed(1)} s`,
    `$${r.cost_usd.toFixed(4)}`,
    r.branch ?? '-',
  ]);
  return columns(['NODE', 'STATE', 'AGENT', 'TRIES', 'DURATION', 'COST', 'BRANCH'], cells);
}

/** `mso status RUN --watch`: the summary and node table, redrawn in place (TTY) or reprinted when they change. */
async function watchStatus(ctx: CliContext, runId: string, first: RunSummary): Promise<void> {
  const { createLogUpdate } = await import('log-update');
  const tty = ctx.io.isTTY;
  const live = tty
    ? createLogUpdate(
        {
          isTTY: true,
          columns: ctx.io.columns ?? 80,
          rows: ctx.io.rows ?? 24,
          write: (t: string) => (ctx.io.stdout(t), true),
        } as unknown as NodeJS.WriteStream,
        { showCursor: true },
      )
    : undefined;
  let last = '';
  let s = first;
  for (;;) {
    const frame = [...render(s), '', ...nodeTable(s)].join('\n');
    const stable = frame.replace(/duration\s+\S+ s|\d+\.\d s/g, '');
    if (live) live(frame);
    else if (stable !== last) ctx.io.stdout(`${frame}\n\n`);
    last = stable;
    if (s.status !== 'active' || ctx.io.signal?.aborted) break;
    await pause(1000, ctx.io.signal);
    const next = await ctx.app().engine.status(runId);
    if ('runs' in next) break;
    s = next;
  }
  live?.done();
  ctx.done({ data: s, human: [], streamed: true, exitCode: 0 });
}

/** The options of `run` and `resume` that choose where nodes execute. */
function executionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--backend <backend>', 'where nodes run (default execution.backend in policy.yaml, local)').choices([
        'local',
        'distributed',
      ]),
    )
    .option('--redis <url>', 'Redis of the distributed backend (default $MSO_REDIS_URL or execution.redis_url)')
    .option('--remote <url|path>', 'git remote the workers fetch from and push to (default the run repository)')
    .option('--queue-prefix <p>', 'key prefix in Redis (default $MSO_QUEUE_PREFIX or execution.queue_prefix)');
}

/** `mso run | resume | cancel | status | approve | reject`. */
export function registerEngine(program: Command, ctx: CliContext): void {
  const run = program
    .command('run')
    .description('design (or import) → governance gate → tickets → execution in git worktrees → finalize')
    .option('--goal <text>', 'what to get done, in your words: mso designs the workflow')
    .option('--goal-file <file>', 'the goal read from a file (Markdown or text)')
    .option('--workflow <file>', 'a workflow file (YAML or JSON) instead of a goal')
    .option(
      '--run-id <id>',
      'the run id to use (YYYYMMDD-<skill>-<case>); default: made from the goal or workflow name',
    )
    .addOption(
      new Option('--risk <risk>', 'risk level (high puts a human gate on decision nodes)').choices([
        'low',
        'medium',
        'high',
      ]),
    )
    .addOption(
      new Option(
        '--planner <planner>',
        'llm needs a usable model; auto = llm if one is available, else heuristic',
      ).choices(['heuristic', 'llm', 'auto']),
    )
    .addOption(
      new Option('--pattern <pattern>', 'parallel (one level) or hierarchical').choices(['parallel', 'hierarchical']),
    )
    .option('--max-depth <n>', 'hierarchical decomposition depth', num('--max-depth'))
    .option('--agent <name>', 'run every node without a command through this agent')
    .option(
      '--max-concurrency <n>',
      'nodes running at once (default: run_policy.max_concurrency in policy.yaml, 4)',
      num('--max-concurrency'),
    )
    .option('--budget-usd <x>', 'stop new dispatches once this much is spent', num('--budget-usd'))
    .option('--repo <dir>', 'the git repository to branch from (default: the one around the current directory)')
    .option('--init', 'start from a new, empty repository (kept in the run folder) instead')
    .option('--dry-run', 'stop after the governance gate and print the plan')
    .option(
      '--allow-manual',
      'let nodes no agent can do go to a person (by default such a run is refused before it starts)',
    )
    .option('--no-apply-proposals', 'do not apply the accepted proposals for this goal or workflow')
    .option('--events', 'stream progress as NDJSON events on stdout (the last line is the run summary)');
  executionOptions(run).action(
    async (o: {
      backend?: 'local' | 'distributed';
      redis?: string;
      remote?: string;
      queuePrefix?: string;
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
      init?: boolean;
      dryRun?: boolean;
      applyProposals?: boolean;
      events?: boolean;
    }) => {
      const { events, ...input } = o;
      const { summary: s, streamed } = await withProgress(ctx, events, (onProgress) =>
        ctx.app().engine.run({ ...input, signal: ctx.io.signal, onProgress }),
      );
      const failedGate = s.governance?.status === 'fail';
      ctx.done({
        data: s,
        human: render(s),
        exitCode: s.reason?.startsWith('dry run') ? 0 : failedGate ? 1 : runExit(s.status),
        streamed,
      });
    },
  );
  const resume = program
    .command('resume')
    .description('continue a run: done nodes are never run again; interrupted ones restart from their parent commit')
    .argument('<run-id>')
    .option('--budget-usd <x>', 'raise the budget', num('--budget-usd'))
    .option('--max-concurrency <n>', 'nodes running at once', num('--max-concurrency'))
    .option('--agent <name>', 'run every node without a command through this agent from now on')
    .option('--repo <dir>', 'for a run that never executed (designed only): the git repository to branch from')
    .option('--init', 'for a run that never executed: start from a new, empty repository')
    .option(
      '--allow-manual',
      'for a run that never executed: let nodes no agent can do go to a person (by default it is refused)',
    )
    .option('--events', 'stream progress as NDJSON events on stdout (the last line is the run summary)');
  executionOptions(resume).action(
    async (
      runId: string,
      o: {
        budgetUsd?: number;
        maxConcurrency?: number;
        agent?: string;
        repo?: string;
        init?: boolean;
        allowManual?: boolean;
        events?: boolean;
        backend?: 'local' | 'distributed';
        redis?: string;
        remote?: string;
        queuePrefix?: string;
      },
    ) => {
      const { events, ...options } = o;
      const { summary: s, streamed } = await withProgress(ctx, events, (onProgress) =>
        ctx.app().engine.resume(runId, { ...options, signal: ctx.io.signal, onProgress }),
      );
      ctx.done({ data: s, human: render(s), exitCode: runExit(s.status), streamed });
    },
  );
  program
    .command('cancel')
    .description('stop dispatching, end running agents; the run stays resumable')
    .argument('<run-id>')
    .option('--reason <text>', 'recorded with the cancellation (default: cancelled by <observer>)')
    .action(async (runId: string, o: { reason?: string }) => {
      const r = await ctx.app().engine.cancel(runId, o.reason);
      ctx.done({
        data: r,
        human: r.requested
          ? `CANCEL requested for ${r.run_id}${r.coordinator ? ` (coordinator ${r.coordinator})` : ' (no live coordinator: marked cancelled)'}`
          : `${r.run_id} is cancelled already: nothing to do`,
      });
    });
  program
    .command('status')
    .description(
      'live progress of a run (or the runs not finished); --portfolio: every run with costs, failures, pending proposals',
    )
    .argument('[run-id]')
    .option('--portfolio', 'every run: status, tickets, cost, failures, pending proposals and human items')
    .option('--watch', 'redraw the node table every second until the run stops')
    .action(async (runId: string | undefined, o: { portfolio?: boolean; watch?: boolean }) => {
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
      if ('runs' in s) {
        ctx.done({ data: s, human: unfinishedTable(s.runs) });
        return;
      }
      if (o.watch && runId !== undefined && !ctx.json) {
        await watchStatus(ctx, runId, s);
        return;
      }
      ctx.done({ data: s, human: [...render(s), '', ...nodeTable(s)] });
    });
  for (const [name, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    program
      .command(name)
      .description(`${name} a human item (HITL-NNNN) of a run; then mso resume (unless its coordinator still runs)`)
      .argument('<run-id>')
      .argument('<item>')
      .option('--note <text>', 'why: recorded with the decision and shown in the timeline')
      // The word cancel and the other rejections use, taken too (not listed: one name in the help).
      .addOption(new Option('--reason <text>').hideHelp())
      .option('--done', 'for an item that asks you to do a node by hand: you did it (required to approve one)')
      .action(async (runId: string, item: string, o: { note?: string; reason?: string; done?: boolean }) => {
        if (o.note !== undefined && o.reason !== undefined)
          throw new InvalidArgumentError('--reason', 'give --note or --reason, not both (they are the same)');
        const r = await ctx.app().engine.decide(runId, item, decision, o.note ?? o.reason, { done: o.done });
        // Decided the other way before: the first decision stands, and this one fails (exit 1) saying so.
        if (r.conflict) {
          ctx.done({
            data: r,
            human: `${r.item.id} was already ${r.item.status}${r.item.decided_by ? ` by ${r.item.decided_by}` : ''}: not ${decision} (a decision stands)`,
            exitCode: 1,
          });
          return;
        }
        ctx.done({
          data: r,
          human: `${r.item.id} ${r.item.status}${r.changed ? '' : ' (already decided)'}; ${
            r.coordinator !== null
              ? `the run's coordinator (pid ${r.coordinator}${r.through_store ? ', through the shared store' : ''}) takes it up`
              : `next: mso resume ${runId}`
          }`,
        });
      });
  }
}
