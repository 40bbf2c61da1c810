import { join, resolve } from 'node:path';
import { openAuditLog } from '../audit/index.js';
import {
  InvalidArgumentError,
  UsageError,
  type DispatchMode,
  type TicketPriority,
  type TicketStatus,
} from '../contracts/index.js';
import { dispatchTicket, type DispatchOutcome } from '../engine/index.js';
import { createTicketStore, type TicketRef, type TicketStore } from '../tickets/index.js';
import { createHitlStore, type HitlStore, type Workspace } from '../workspace/index.js';
import { openAgentRuntime, retryPolicy } from './agents-ops.js';
import { runChain } from '../agents/index.js';
import type { AppDeps } from './create-app.js';
import { ARTIFACT_PATHS } from './run-artifacts.js';
import { auditOptions } from './settings.js';

/** Which task context a ticket command works on: a run's, or a folder. */
export interface TicketContext {
  readonly runId?: string | undefined;
  readonly path?: string | undefined;
}

/** A ticket as the interfaces show it. */
export interface TicketView {
  readonly path: string;
  readonly ticket: TicketRef['doc']['frontmatter'];
  readonly body: string;
}

export interface TicketOps {
  create(
    ctx: TicketContext,
    input: {
      title: string;
      priority?: TicketPriority | undefined;
      owner?: string | undefined;
      dueBy?: string | undefined;
      tags?: string[] | undefined;
      deps?: string[] | undefined;
      node?: string | undefined;
    },
  ): Promise<TicketView>;
  list(ctx: TicketContext, status?: TicketStatus): Promise<TicketView[]>;
  show(ctx: TicketContext, ticket: string): Promise<TicketView>;
  move(
    ctx: TicketContext,
    ticket: string,
    status: TicketStatus,
    reason?: string,
  ): Promise<{ id: string; from: TicketStatus; to: TicketStatus; changed: boolean; path: string }>;
  validate(
    ctx: TicketContext,
  ): Promise<{ valid: boolean; issues: Array<{ ticket: string; dependency: string; action: string }> }>;
  archive(ctx: TicketContext): Promise<Array<{ ticket: string; status: TicketStatus; to: string }>>;
  dispatch(
    ctx: TicketContext,
    ticket: string,
    options: { mode?: DispatchMode | undefined; agent?: string | undefined },
  ): Promise<DispatchOutcome>;
}

const view = (r: TicketRef): TicketView => ({ path: r.path, ticket: r.doc.frontmatter, body: r.doc.body });

/** Ticket and dispatch use cases. */
export function createTicketOps(deps: AppDeps, cwd: string, open: (create?: boolean) => Promise<Workspace>): TicketOps {
  interface Opened {
    ws: Workspace;
    store: TicketStore;
    runId: string;
    runDir: string | null;
    hitl: HitlStore | null;
    done(): void;
  }

  async function context(ctx: TicketContext): Promise<Opened> {
    if (ctx.runId !== undefined && ctx.path !== undefined) throw new UsageError('give --run-id or --path, not both');
    if (ctx.runId === undefined && ctx.path === undefined)
      throw new UsageError('give --run-id ID or --path DIR to name the task context');
    const ws = await open(true);
    const log = openAuditLog(deps, auditOptions(ws, deps));
    let runId: string;
    let dir: string;
    let runDir: string | null = null;
    if (ctx.runId !== undefined) {
      const ref = await ws.runs.get(ctx.runId);
      runId = ref.runId;
      runDir = ref.dir;
      dir = join(ref.dir, ARTIFACT_PATHS.taskContext);
    } else {
      dir = resolve(cwd, ctx.path as string);
      runId = `adhoc-${dir.split('/').filter(Boolean).at(-1) ?? 'tasks'}`;
    }
    const store = createTicketStore(deps, dir, (t) => {
      log.appendEvent({
        runId,
        type: 'ticket.transition',
        ticketId: t.ticket,
        payload: { from: t.from, to: t.to, reason: t.reason },
      });
    });
    const hitl = runDir ? createHitlStore(deps, runDir, (n) => ws.layout.lockFile(n)) : null;
    return { ws, store, runId, runDir, hitl, done: () => log.close() };
  }

  async function withContext<T>(ctx: TicketContext, fn: (o: Opened) => Promise<T>): Promise<T> {
    const o = await context(ctx);
    try {
      const out = await fn(o);
      if (o.runDir) await o.ws.sync(o.runId);
      return out;
    } finally {
      o.done();
    }
  }

  const ticketRef = (t: string): string => (/^TKT-\d{4,}$/.test(t) ? t : resolve(cwd, t));

  return {
    create: (ctx, input) =>
      withContext(ctx, async (o) => {
        const r = await o.store.create({
          title: input.title,
          priority: input.priority,
          owner: input.owner,
          dueBy: input.dueBy,
          tags: input.tags,
          dependencies: input.deps,
          nodeId: input.node,
          ...(o.runDir ? { runId: o.runId } : {}),
        });
        if (o.runDir) await o.ws.runs.setPhase(o.runId, '40_collaboration', 'active');
        return view(r);
      }),
    list: (ctx, status) => withContext(ctx, async (o) => (await o.store.list(status)).map(view)),
    show: (ctx, t) => withContext(ctx, async (o) => view(await o.store.get(ticketRef(t)))),
    move: (ctx, t, status, reason) =>
      withContext(ctx, async (o) => {
        const r = await o.store.move(ticketRef(t), status, reason);
        return { id: r.doc.frontmatter.id, from: r.from, to: status, changed: r.changed, path: r.path };
      }),
    validate: (ctx) => withContext(ctx, (o) => o.store.validate()),
    archive: (ctx) => withContext(ctx, (o) => o.store.archive()),
    dispatch: (ctx, t, options) =>
      withContext(ctx, async (o) => {
        if (options.mode !== undefined && !['run', 'batch', 'swarm'].includes(options.mode))
          throw new InvalidArgumentError('--mode', `${options.mode} is not run, batch or swarm`);
        const rt = openAgentRuntime(deps, o.ws);
        try {
          const resilience = {
            clock: deps.clock,
            random: deps.random,
            breaker: rt.breaker,
            retry: retryPolicy(o.ws.policy),
            audit: rt.log,
          };
          const critic =
            o.ws.policy.dispatch.judge === 'llm'
              ? async (prompt: string) => {
                  try {
                    const r = await runChain(
                      resilience,
                      o.ws.policy.dispatch.judge_chain.map((n) => rt.adapter(n)),
                      { runId: o.runId, persona: 'critic', instructions: prompt, cwd: o.ws.layout.root },
                    );
                    return r.result.status === 'success'
                      ? { ok: true as const, text: r.result.output }
                      : { ok: false as const, reason: r.result.errorMessage ?? r.result.status };
                  } catch (e) {
                    return { ok: false as const, reason: (e as Error).message };
                  }
                }
              : undefined;
          const outcome = await dispatchTicket(
            {
              ...deps,
              agents: {
                chain: rt.chain,
                adapter: rt.adapter,
                log: rt.log,
                run: (chain, req) => runChain(resilience, chain, req),
              },
            },
            {
              store: o.store,
              ticket: ticketRef(t),
              runId: o.runId,
              mode: options.mode,
              agent: options.agent,
              workRoot: o.runDir ? join(o.runDir, 'worktree', 'tickets') : join(o.store.dir, 'work'),
              policy: o.ws.policy,
              hitl: o.hitl ?? undefined,
              critic,
            },
          );
          if (o.runDir && !outcome.skipped)
            await o.ws.runs
              .setPhase(o.runId, '40_collaboration', outcome.exitCode === 1 ? 'failed' : 'completed')
              .catch(() => undefined);
          return outcome;
        } finally {
          rt.close();
        }
      }),
  };
}
