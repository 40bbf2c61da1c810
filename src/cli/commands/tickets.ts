import { Option, type Command } from 'commander';
import { InvalidArgumentError, TICKET_PRIORITIES, TICKET_STATUSES } from '../../contracts/light.js';
import type { DispatchMode, TicketPriority, TicketStatus } from '../../contracts/index.js';
import { splitList, type CliContext } from '../context.js';

interface CtxFlags {
  runId?: string;
  path?: string;
}
const withCtx = (cmd: Command): Command =>
  cmd
    .option('--run-id <id>', 'the run whose task context to use')
    .option('--path <dir>', 'a task-context folder instead of a run');
const isTicketStatus = (s: string): s is TicketStatus => (TICKET_STATUSES as readonly string[]).includes(s);
const ctxOf = (o: CtxFlags) => ({ runId: o.runId, path: o.path });

/** `mso ticket create|list|show|move|validate|archive` and `mso dispatch`, `mso pipeline sample`. */
export function registerTickets(program: Command, ctx: CliContext): void {
  const ticket = program
    .command('ticket')
    .description('tickets of a task context: create, list, show, move (strict state machine), validate, archive');
  withCtx(
    ticket
      .command('create')
      .description('create TKT-NNNN-<slug>.md (ids are never reused) and print its path')
      .argument('<title>'),
  )
    .addOption(new Option('--priority <p>').choices(TICKET_PRIORITIES))
    .option('--owner <owner>', 'default agent')
    .option('--due-by <date>', 'YYYY-MM-DD (default in 7 days)')
    .option('--tags <a,b>', 'comma-separated tags')
    .option('--deps <TKT-0001,...>', 'tickets this one waits for, comma-separated')
    .option('--node <node-id>', 'the plan node this ticket executes')
    .action(
      async (
        title: string,
        o: CtxFlags & {
          priority?: TicketPriority;
          owner?: string;
          dueBy?: string;
          tags?: string;
          deps?: string;
          node?: string;
        },
      ) => {
        const t = await ctx.app().tickets.create(ctxOf(o), {
          title,
          priority: o.priority,
          owner: o.owner,
          dueBy: o.dueBy,
          tags: splitList(o.tags),
          deps: splitList(o.deps),
          node: o.node,
        });
        ctx.done({ data: t, human: t.path });
      },
    );
  withCtx(ticket.command('list').description('list tickets'))
    .addOption(new Option('--status <s>').choices(TICKET_STATUSES))
    .action(async (o: CtxFlags & { status?: TicketStatus }) => {
      const list = await ctx.app().tickets.list(ctxOf(o), o.status);
      ctx.done({
        data: { tickets: list.map((t) => ({ path: t.path, ...t.ticket })), count: list.length },
        human: list.length
          ? list.map(
              (t) => `${t.ticket.id}  ${t.ticket.status.padEnd(11)} ${t.ticket.priority.padEnd(8)} ${t.ticket.title}`,
            )
          : ['(no tickets)'],
      });
    });
  withCtx(ticket.command('show').description('show one ticket').argument('<ticket>', 'TKT-NNNN or a path')).action(
    async (t: string, o: CtxFlags) => {
      const v = await ctx.app().tickets.show(ctxOf(o), t);
      ctx.done({ data: v, human: [JSON.stringify(v.ticket, null, 2), v.body.trim()] });
    },
  );
  withCtx(
    ticket
      .command('move')
      .description('move a ticket: todo→in_progress|cancelled, in_progress→done|blocked, blocked→in_progress|cancelled')
      .argument('<ticket>')
      .argument('<status>'),
  )
    .option('--reason <text>', 'why: kept on a blocked ticket as its blocked_reason')
    .action(async (t: string, status: string, o: CtxFlags & { reason?: string }) => {
      if (!isTicketStatus(status))
        throw new InvalidArgumentError('status', `${status} is not one of ${TICKET_STATUSES.join(', ')}`);
      const r = await ctx.app().tickets.move(ctxOf(o), t, status, o.reason);
      ctx.done({ data: r, human: `${r.id} ${r.from} -> ${r.to}${r.changed ? '' : ' (no change)'}` });
    });
  withCtx(
    ticket
      .command('validate')
      .description('check that dependencies are existing ticket ids; unknown ones block the ticket'),
  ).action(async (o: CtxFlags) => {
    const r = await ctx.app().tickets.validate(ctxOf(o));
    ctx.done({
      data: r,
      human: r.valid
        ? ['VALIDATION_OK']
        : [
            'VALIDATION_FAIL',
            ...r.issues.map((i) => `  ${i.ticket} dependency missing: ${i.dependency} (${i.action})`),
          ],
      exitCode: r.valid ? 0 : 1,
    });
  });
  withCtx(
    ticket
      .command('archive')
      .description('move done and cancelled tickets to archive/<YYYY>/ and log them (nothing is deleted)'),
  ).action(async (o: CtxFlags) => {
    const r = await ctx.app().tickets.archive(ctxOf(o));
    ctx.done({
      data: { archived: r, count: r.length },
      human: r.length ? r.map((a) => `CLOSED: ${a.ticket} (status=${a.status}) -> ${a.to}`) : ['NO_CLOSABLE_TICKETS'],
    });
  });

  withCtx(program.command('dispatch').description('dispatch one ticket to agents in run, batch or swarm mode'))
    .requiredOption('--ticket <ticket>', 'TKT-NNNN or a path')
    .addOption(new Option('--mode <mode>').choices(['run', 'batch', 'swarm']))
    .option('--agent <name>', 'use this agent instead of the persona fallback chain')
    .action(async (o: CtxFlags & { ticket: string; mode?: DispatchMode; agent?: string }) => {
      const r = await ctx.app().tickets.dispatch(ctxOf(o), o.ticket, { mode: o.mode, agent: o.agent });
      const line = (x: typeof r): string =>
        x.skipped
          ? `SKIP: ${x.ticket} ${x.skipped}`
          : x.requires_manual_confirmation
            ? `FALLBACK: ${x.ticket} (${x.fallback_reason ?? 'manual'})${x.hitl ? ` -> ${x.hitl}` : ''}`
            : `DISPATCHED: ${x.ticket} (${x.mode}) ${x.agent ?? ''} -> ${x.status}`;
      ctx.done({
        data: r,
        human: r.batch
          ? r.batch.map(line)
          : [
              line(r),
              ...(r.verdict
                ? [
                    `winner ${r.verdict.winner ?? 'none'}: ${r.verdict.ranking.map((s) => `${s.candidate}=${s.total}`).join(', ')}`,
                  ]
                : []),
            ],
        exitCode: r.exitCode,
      });
    });

  const pipeline = program.command('pipeline').description('the seed sample pipeline');
  pipeline
    .command('sample')
    .description('design → ticket → dispatch → audit → validate, end to end')
    .requiredOption('--goal <text>')
    .requiredOption('--task-title <text>')
    .addOption(new Option('--risk <risk>', 'risk level (high adds human gates)').choices(['low', 'medium', 'high']))
    .action(async (o: { goal: string; taskTitle: string; risk?: 'low' | 'medium' | 'high' }) => {
      const r = await ctx.app().pipeline.sample({ goal: o.goal, taskTitle: o.taskTitle, risk: o.risk });
      ctx.done({
        data: r,
        human: r.status === 'completed' ? `[pipeline:${r.run_id}] done` : `[pipeline:${r.run_id}] failed`,
        exitCode: r.status === 'completed' ? 0 : 1,
      });
    });
}
