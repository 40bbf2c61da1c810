import type { Hono } from 'hono';
import type { MsoApp } from '../app/index.js';
import {
  InvalidArgumentError,
  isMsoError,
  RunStatusSchema,
  SAFE_ID_PATTERN,
  type RunCard,
  type RunStatus,
} from '../contracts/index.js';
import type { Jobs, RunSource } from './jobs.js';
import type { LayoutCache } from './layout.js';

/** Runs laid out ahead of time: the newest this many of a list, from this many nodes. */
const WARM_RUNS = 10;
const WARM_FROM = 150;

/**
 * A request's JSON body: an object whose fields are all among `allowed` (an empty body is `{}`). Anything else is a
 * 400 naming the field, as the CLI refuses an unknown flag: a misspelt option is never silently dropped.
 */
async function body(req: { text(): Promise<string> }, allowed: readonly string[]): Promise<Record<string, unknown>> {
  const text = await req.text().catch(() => {
    throw new InvalidArgumentError('body', 'could not be read');
  });
  let raw: unknown = {};
  if (text.trim() !== '')
    try {
      raw = JSON.parse(text);
    } catch {
      throw new InvalidArgumentError('body', 'must be a JSON object');
    }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new InvalidArgumentError('body', 'must be a JSON object');
  const extra = Object.keys(raw).find((k) => !allowed.includes(k));
  if (extra !== undefined)
    throw new InvalidArgumentError(
      extra,
      `is not a field of this request (${allowed.length > 0 ? `it takes ${allowed.join(', ')}` : 'it takes none'})`,
    );
  return raw as Record<string, unknown>;
}

/** The boolean options a run's start takes (`mso run --init --allow-manual`): absent is false, anything else 400. */
function flags(b: Record<string, unknown>): { init: boolean; allow_manual: boolean } {
  for (const flag of ['init', 'allow_manual'])
    if (b[flag] !== undefined && typeof b[flag] !== 'boolean')
      throw new InvalidArgumentError(flag, 'must be true or false');
  return { init: b['init'] === true, allow_manual: b['allow_manual'] === true };
}

function optionalString(b: Record<string, unknown>, field: string, max = 4000): string | undefined {
  const v = b[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max)
    throw new InvalidArgumentError(field, `must be a string of at most ${max} characters`);
  return v;
}

function statusParam(v: string | undefined): RunStatus | undefined {
  if (v === undefined || v === '') return undefined;
  const r = RunStatusSchema.safeParse(v);
  if (!r.success) throw new InvalidArgumentError('status', `${JSON.stringify(v)} is not a run status`);
  return r.data;
}

/** The JSON API: each route parses its input, calls one app function and returns its result. */
export function registerRoutes(
  api: Hono,
  app: MsoApp,
  jobs: Jobs,
  layouts: LayoutCache,
  version: string,
): { warm(runs: readonly RunCard[]): void } {
  const d = app.dashboard;
  // Big runs in a list a person looks at are laid out in the background, before they open one.
  const warmed = new Set<string>();
  let warming: Promise<unknown> = Promise.resolve();
  const warm = (runs: readonly RunCard[]): void => {
    for (const r of runs.slice(0, WARM_RUNS)) {
      if (r.nodes_total < WARM_FROM || warmed.has(r.run_id)) continue;
      warmed.add(r.run_id);
      warming = warming.then(async () => layouts.get(await d.graph(r.run_id))).catch(() => undefined);
    }
  };
  api.get('/api/session', (c) =>
    c.json({ version, observer: app.settings.observerId, workspace: app.settings.workspaceRoot }),
  );
  api.get('/api/runs', async (c) => {
    const runs = await d.runs(statusParam(c.req.query('status')));
    warm(runs);
    return c.json({ runs });
  });
  api.get('/api/runs/:run', async (c) => {
    const g = await d.graph(c.req.param('run'));
    // The layout goes only to a page that asks (its first load, or a topology it has not laid out).
    return c.json(c.req.query('layout') === '1' ? { ...g, layout: await layouts.get(g) } : g);
  });
  api.get('/api/runs/:run/nodes/:node', async (c) => c.json(await d.node(c.req.param('run'), c.req.param('node'))));
  api.get('/api/runs/:run/timeline', async (c) => {
    await d.graph(c.req.param('run')); // validates the id and that the run exists
    return c.json(await app.explain.timeline(c.req.param('run')));
  });
  api.get('/api/runs/:run/tickets', async (c) => {
    await d.graph(c.req.param('run'));
    const tickets = await app.tickets.list({ runId: c.req.param('run') }).catch(() => []);
    return c.json({
      tickets: tickets.map((t) => ({
        id: t.ticket.id,
        title: t.ticket.title,
        status: t.ticket.status,
        node_id: t.ticket.node_id ?? null,
        owner: t.ticket.owner ?? null,
        priority: t.ticket.priority ?? null,
      })),
    });
  });
  api.get('/api/runs/:run/nodes/:node/logs', async (c) => {
    const run = c.req.param('run');
    const node = c.req.param('node');
    await d.node(run, node); // validates both ids and that the node exists
    // The same read `mso logs RUN NODE --follow` repeats: stored transcripts, or the live log while it runs.
    const none = { run_id: run, node, status: null, entries: [] };
    return c.json(
      await app.engine.logs(run, node).catch((e: unknown) => {
        // A node that has not started yet has no log.
        if (isMsoError(e) && e.category === 'not_found') return none;
        throw e;
      }),
    );
  });
  api.get('/api/inbox', async (c) => c.json({ items: await d.inbox() }));
  api.get('/api/proposals', async (c) => {
    const s = c.req.query('status');
    if (s !== undefined && !['pending', 'accepted', 'rejected'].includes(s))
      throw new InvalidArgumentError('status', `${JSON.stringify(s)} is not a proposal status`);
    return c.json({ proposals: await app.observe.proposals.list(s as 'pending' | undefined) });
  });

  for (const [verb, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    api.post(`/api/runs/:run/hitl/:item/${verb}`, async (c) => {
      const note = optionalString(await body(c.req, ['note']), 'note');
      const r = await d.decide(c.req.param('run'), c.req.param('item'), decision, note);
      // The CLI says "next: mso resume"; the page does it for the person, as that command would.
      const resumed = r.resume ? jobs.resume(r.run_id) : false;
      return c.json({ ...r, resumed });
    });
  }
  api.post('/api/runs/:run/cancel', async (c) => {
    // The reason goes on record, as `mso cancel RUN --reason T` puts it.
    const reason = optionalString(await body(c.req, ['reason']), 'reason');
    await d.graph(c.req.param('run'));
    return c.json(await app.engine.cancel(c.req.param('run'), reason));
  });
  api.post('/api/runs/:run/resume', async (c) => {
    await body(c.req, []);
    await d.graph(c.req.param('run'));
    return c.json({ run_id: c.req.param('run'), started: jobs.resume(c.req.param('run')) }, 202);
  });
  api.post('/api/runs/:run/start', async (c) => {
    // A designed run starts as `mso resume` starts it: the governance gate, then the nodes.
    const g = await d.graph(c.req.param('run'));
    if (g.run.started || g.coordinator_alive || !['created', 'active', 'interrupted'].includes(g.run.status))
      throw new InvalidArgumentError(
        'run',
        `${g.run.run_id} is ${g.run.started ? 'already started' : g.run.status}: only a run designed and not started can be started`,
      );
    const { init, allow_manual } = flags(await body(c.req, ['init', 'allow_manual']));
    const started = await jobs.startDesigned(g.run.run_id, { init, allowManual: allow_manual });
    return c.json({ run_id: g.run.run_id, ...started }, 202);
  });
  api.post('/api/runs/:run/rerun', async (c) => {
    await body(c.req, []);
    await d.graph(c.req.param('run'));
    return c.json(await jobs.rerunFailed(c.req.param('run')), 202);
  });
  const source = async (req: { text(): Promise<string> }): Promise<RunSource> => {
    const b = await body(req, ['goal', 'workflow', 'init', 'allow_manual']);
    const goal = optionalString(b, 'goal');
    const workflow = optionalString(b, 'workflow', 1000);
    if ((goal === undefined) === (workflow === undefined))
      throw new InvalidArgumentError('body', 'give exactly one of goal or workflow');
    const { init, allow_manual } = flags(b);
    const set = { ...(init ? { init } : {}), ...(allow_manual ? { allowManual: allow_manual } : {}) };
    return goal !== undefined ? { goal, ...set } : { workflow: workflow as string, ...set };
  };
  api.post('/api/runs', async (c) => c.json(await jobs.start(await source(c.req)), 202));
  api.post('/api/designs', async (c) => {
    const src = await source(c.req);
    if (src.allowManual)
      throw new InvalidArgumentError(
        'allow_manual',
        'is for starting a run (POST /api/runs/:run/start), not designing',
      );
    return c.json(await jobs.design(src), 201);
  });
  api.get('/api/proposals/:id', async (c) => c.json(await d.proposal(c.req.param('id'))));
  for (const verb of ['accept', 'reject'] as const) {
    api.post(`/api/proposals/:id/${verb}`, async (c) => {
      const id = c.req.param('id');
      if (!SAFE_ID_PATTERN.test(id))
        throw new InvalidArgumentError('proposal id', `${JSON.stringify(id)} is not valid`);
      const reason = optionalString(await body(c.req, ['reason']), 'reason');
      return c.json(
        verb === 'accept' ? await app.observe.proposals.accept(id) : await app.observe.proposals.reject(id, reason),
      );
    });
  }
  return { warm };
}
