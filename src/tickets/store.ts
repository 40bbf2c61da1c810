import { basename, dirname, isAbsolute, join } from 'node:path';
import {
  InvalidArgumentError,
  NotFoundError,
  TicketConflictError,
  TICKET_ID_PATTERN,
  type TicketFrontmatter,
  type TicketPriority,
  type TicketStatus,
} from '../contracts/index.js';
import {
  assertInside,
  readTextIfExists,
  smallFsOf,
  withLock,
  writeFileAtomic,
  type AtomicDeps,
} from '../workspace/index.js';
import type { Clock } from '../platform/index.js';
import { transitionTicket } from './state-machine.js';
import { parseTicket, renderTicket, ticketDoc, ticketSlug, type TicketDoc } from './ticket-file.js';

export interface TicketStoreDeps extends AtomicDeps {
  readonly clock: Clock;
}

/** A ticket found on disk. */
export interface TicketRef {
  readonly path: string;
  readonly doc: TicketDoc;
}

export interface CreateTicketInput {
  readonly title: string;
  readonly priority?: TicketPriority | undefined;
  readonly owner?: string | undefined;
  readonly dueBy?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly dependencies?: readonly string[] | undefined;
  readonly nodeId?: string | undefined;
  readonly runId?: string | undefined;
  readonly persona?: string | undefined;
  readonly body?: string | undefined;
}

/** A status change that happened (for the audit log). */
export interface TransitionRecord {
  readonly ticket: string;
  readonly from: TicketStatus;
  readonly to: TicketStatus;
  readonly reason: string | null;
  readonly path: string;
}

export interface TicketStore {
  /** The task-context folder (holds `tickets/`, `archive/`, `ticket_closure_log.md`). */
  readonly dir: string;
  create(input: CreateTicketInput): Promise<TicketRef>;
  /**
   * Creates several tickets at once (a run's, one per node): every input is checked before anything is written, the
   * ids are taken in order under one hold of the counter, and the files are written side by side. An input's
   * `after` names earlier inputs of the same batch (by `key`) whose new ids join its dependencies.
   */
  createMany(
    inputs: ReadonlyArray<CreateTicketInput & { readonly key?: string; readonly after?: readonly string[] }>,
  ): Promise<TicketRef[]>;
  /** Finds a ticket by id (`TKT-0007`) in this task context, or by a path inside it. */
  get(ref: string): Promise<TicketRef>;
  list(status?: TicketStatus): Promise<TicketRef[]>;
  /**
   * Moves a ticket along the state machine; a racing writer makes this fail with MSO_TICKET_CONFLICT. `fields`: set in
   * the same write as the move (the engine counts a node's attempts there). `via`: statuses it passes through first,
   * in the same write (each step checked; `onTransition` is told of each), e.g. a ticket that goes todo → in_progress
   * → done at once.
   */
  move(
    ref: string,
    to: TicketStatus,
    reason?: string,
    fields?: { readonly attempts?: number },
    via?: ReadonlyArray<{ readonly to: TicketStatus; readonly reason?: string }>,
  ): Promise<TicketRef & { from: TicketStatus; changed: boolean; transitions: readonly TransitionRecord[] }>;
  /** Changes fields other than the status (attempts, agent, artifact_uri...) under the ticket's lock. */
  update(ref: string, change: (fm: TicketFrontmatter) => TicketFrontmatter): Promise<TicketRef>;
  /** Checks dependencies; unknown ones block the ticket (in_progress → blocked) or mark it (`blocked_reason`). */
  validate(): Promise<{ valid: boolean; issues: Array<{ ticket: string; dependency: string; action: string }> }>;
  /** Moves done and cancelled tickets to `archive/<YYYY>/` and logs them in `ticket_closure_log.md`. */
  archive(): Promise<Array<{ ticket: string; status: TicketStatus; to: string }>>;
}

const TICKET_FILE = /^(TKT-\d{4,})-.*\.md$|^(TKT-\d{4,})\.md$/;

/**
 * Each ticket file's text as last read or written in this process, parsed: the same text read again is not parsed
 * again, by any store of the process (a run makes its tickets with one store, moves them with the engine's, lists
 * them with a third; a move reads a ticket twice). A text that changed on disk is parsed anew. The document handed
 * out is shared: a caller copies it to change it (as every caller does: `{ ...fm, ... }`). The oldest entries go
 * past {@link PARSED_MAX}, so a long-lived process (the MCP server, the dashboard) keeps a bounded number.
 */
const parsed = new Map<string, { readonly text: string; readonly doc: TicketDoc }>();
const PARSED_MAX = 2048;
function keepParsed(path: string, read: { readonly text: string; readonly doc: TicketDoc }): void {
  parsed.delete(path);
  parsed.set(path, read);
  if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value as string);
}

/** The ticket store of one task-context folder; `onTransition` is told of every real status change. */
export function createTicketStore(
  deps: TicketStoreDeps,
  dir: string,
  onTransition?: (t: TransitionRecord) => void | Promise<void>,
): TicketStore {
  const ticketsDir = join(dir, 'tickets');
  const archiveDir = join(dir, 'archive');
  const lock = (name: string): string => join(dir, '.locks', `${name}.lock`);
  const today = (): string => deps.clock.now().toISOString().slice(0, 10);

  async function files(root: string, recursive: boolean): Promise<string[]> {
    const entries = await deps.fs.readdir(root, { withFileTypes: true, recursive }).catch(() => []);
    return entries.filter((e) => e.isFile() && TICKET_FILE.test(e.name)).map((e) => join(e.parentPath, e.name));
  }
  const idOf = (file: string): string => {
    const m = TICKET_FILE.exec(basename(file));
    return (m?.[1] ?? m?.[2]) as string;
  };

  async function readRef(path: string): Promise<{ text: string; doc: TicketDoc }> {
    const text = await readTextIfExists(smallFsOf(deps), path);
    if (text === undefined) throw new NotFoundError('ticket', path);
    const seen = parsed.get(path);
    if (seen?.text === text) return seen;
    const read = { text, doc: parseTicket(text, path) };
    keepParsed(path, read);
    return read;
  }

  /**
   * Where each ticket id was found (or made): a ticket's file is named once, at its creation, so the name holds while
   * it is in tickets/ (archived, it is not found there either way: reading the old path fails as a new search would).
   */
  const located = new Map<string, string>();
  async function locate(ref: string): Promise<string> {
    if (TICKET_ID_PATTERN.test(ref)) {
      const known = located.get(ref);
      if (known !== undefined) return known;
      const hit = (await files(ticketsDir, false)).find((f) => idOf(f) === ref);
      if (!hit) throw new NotFoundError('ticket', `${ref} in ${ticketsDir}`);
      located.set(ref, hit);
      return hit;
    }
    // The app resolves user paths against its cwd; a bare file name means one in tickets/.
    const path = isAbsolute(ref) ? ref : join(ticketsDir, ref);
    assertInside(dir, path, 'ticket path');
    return path;
  }

  /** `n` new ticket ids, in order. */
  /** The ticket `ref` names, read; a remembered place that no longer holds it is searched for again. */
  async function find(ref: string): Promise<{ path: string; read: { text: string; doc: TicketDoc } }> {
    const path = await locate(ref);
    try {
      return { path, read: await readRef(path) };
    } catch (e) {
      if (!(e instanceof NotFoundError) || located.get(ref) !== path) throw e;
      located.delete(ref);
      const again = await locate(ref);
      return { path: again, read: await readRef(again) };
    }
  }

  async function nextIds(n: number): Promise<string[]> {
    if (n === 0) return [];
    return withLock(deps, lock('counter'), async () => {
      const counterFile = join(dir, '.ticket-counter');
      const counted = Number((await readTextIfExists(smallFsOf(deps), counterFile))?.trim() ?? '0') || 0;
      // The counter survives archiving; existing files are a floor in case the counter was lost.
      const seen = [...(await files(ticketsDir, false)), ...(await files(archiveDir, true))].map((f) =>
        Number(idOf(f).slice(4)),
      );
      const first = Math.max(counted, 0, ...seen) + 1;
      await writeFileAtomic(deps, counterFile, `${first + n - 1}\n`);
      return Array.from({ length: n }, (_, i) => `TKT-${String(first + i).padStart(4, '0')}`);
    });
  }

  function checkInput(input: CreateTicketInput): void {
    if (input.title.trim() === '') throw new InvalidArgumentError('title', 'a ticket needs a title');
    if (
      input.dueBy !== undefined &&
      (!/^\d{4}-\d{2}-\d{2}$/.test(input.dueBy) ||
        Number.isNaN(Date.parse(`${input.dueBy}T00:00:00Z`)) ||
        new Date(`${input.dueBy}T00:00:00Z`).toISOString().slice(0, 10) !== input.dueBy)
    ) {
      throw new InvalidArgumentError('--due-by', `${input.dueBy} is not a date YYYY-MM-DD`);
    }
    for (const d of input.dependencies ?? [])
      if (!TICKET_ID_PATTERN.test(d)) throw new InvalidArgumentError('--deps', `${d} is not a ticket id like TKT-0001`);
  }

  /** The new ticket `id` of `input`: the document its text parses to. */
  function newTicket(id: string, input: CreateTicketInput, dependencies: readonly string[]): TicketRef {
    const created = today();
    const due = input.dueBy ?? new Date(deps.clock.now().getTime() + 7 * 86_400_000).toISOString().slice(0, 10);
    const fm: TicketFrontmatter = {
      id,
      task_context_id: id,
      title: input.title.trim(),
      status: 'todo',
      priority: input.priority ?? 'medium',
      owner: input.owner?.trim() || 'agent',
      due_by: due,
      dependencies: [...dependencies],
      tags: [...(input.tags ?? [])],
      created,
      updated: created,
      ...(input.runId ? { run_id: input.runId } : {}),
      ...(input.nodeId ? { node_id: input.nodeId } : {}),
      ...(input.persona ? { persona: input.persona } : {}),
      attempts: 0,
    };
    const path = join(ticketsDir, `${id}-${ticketSlug(input.title)}.md`);
    return { path, doc: ticketDoc(fm, `# ${fm.title}\n${input.body ? `\n${input.body}\n` : ''}`, path) };
  }

  /**
   * Writes the ticket (redacted). A new or moved ticket's document (`remember`) is what its text parses to: a
   * parsed document, with plain values changed by a move (transitionTicket), which the file's YAML keeps as they
   * are. It is kept as if just read, so the next read of the same text parses nothing (a YAML parse per move saved);
   * text the redactor changed is parsed when read.
   */
  async function write(path: string, doc: TicketDoc, remember = false): Promise<void> {
    const text = renderTicket(doc);
    const written = deps.redactor?.text(text) ?? text;
    await writeFileAtomic(deps, path, written, { verbatim: true });
    if (remember && written === text) keepParsed(path, { text, doc });
    else parsed.delete(path);
  }

  const store: TicketStore = {
    dir,
    async create(input) {
      return (await store.createMany([input]))[0] as TicketRef;
    },
    async createMany(inputs) {
      for (const input of inputs) checkInput(input);
      const keys = new Set<string>();
      for (const input of inputs) {
        for (const k of input.after ?? [])
          if (!keys.has(k)) throw new InvalidArgumentError('after', `${k} is not an earlier ticket of this batch`);
        if (input.key !== undefined) keys.add(input.key);
      }
      await deps.fs.mkdir(ticketsDir, { recursive: true });
      await deps.fs.mkdir(archiveDir, { recursive: true });
      const ids = await nextIds(inputs.length);
      const idOfKey = new Map<string, string>();
      const made = inputs.map((input, i) => {
        const id = ids[i] as string;
        if (input.key !== undefined) idOfKey.set(input.key, id);
        const after = (input.after ?? []).map((k) => idOfKey.get(k) as string);
        return newTicket(id, input, [...(input.dependencies ?? []), ...after]);
      });
      await Promise.all(made.map((t) => write(t.path, t.doc, true)));
      for (const t of made) located.set(t.doc.frontmatter.id, t.path);
      return made;
    },
    async get(ref) {
      const { path, read } = await find(ref);
      return { path, doc: read.doc };
    },
    async list(status) {
      const out: TicketRef[] = [];
      for (const f of (await files(ticketsDir, false)).sort()) {
        const doc = (await readRef(f)).doc;
        if (status === undefined || doc.frontmatter.status === status) out.push({ path: f, doc });
      }
      return out;
    },
    async move(ref, to, reason, fields, via = []) {
      const { path, read: before } = await find(ref);
      const from = before.doc.frontmatter.status;
      let ticket = before.doc.frontmatter;
      const transitions: TransitionRecord[] = [];
      for (const step of [...via, { to, reason }]) {
        const moved = transitionTicket(ticket, step.to, today(), step.reason);
        if (!moved.changed) continue;
        ticket = moved.ticket;
        transitions.push({ ticket: ticket.id, from: moved.from, to: step.to, reason: step.reason ?? null, path });
      }
      if (transitions.length === 0) return { path, doc: before.doc, from, changed: false, transitions };
      ticket = { ...ticket, ...fields };
      await withLock(deps, lock(`ticket-${before.doc.frontmatter.id}`), async () => {
        // Unchanged since it was read: compared as text, parsed again only to name the status that beat us.
        const now = await readTextIfExists(smallFsOf(deps), path);
        if (now === undefined) throw new NotFoundError('ticket', path);
        if (now !== before.text)
          throw new TicketConflictError(before.doc.frontmatter.id, parseTicket(now, path).frontmatter.status);
        await write(path, { ...before.doc, frontmatter: ticket }, true);
      });
      for (const t of transitions) await onTransition?.(t);
      return { path, doc: { ...before.doc, frontmatter: ticket }, from, changed: true, transitions };
    },
    async update(ref, change) {
      const path = await locate(ref);
      return withLock(deps, lock(`ticket-${idOf(path)}`), async () => {
        const cur = await readRef(path);
        const next = change(cur.doc.frontmatter);
        if (next.status !== cur.doc.frontmatter.status)
          throw new InvalidArgumentError('status', 'change the status with move');
        const doc = { ...cur.doc, frontmatter: next };
        await write(path, doc);
        return { path, doc };
      });
    },
    async validate() {
      const active = await store.list();
      const archived = (await files(archiveDir, true)).map(idOf);
      const known = new Set([...active.map((t) => t.doc.frontmatter.id), ...archived]);
      const issues: Array<{ ticket: string; dependency: string; action: string }> = [];
      for (const t of active) {
        const fm = t.doc.frontmatter;
        const missing = fm.dependencies.filter((d) => !known.has(d));
        if (missing.length === 0) continue;
        const reason = `unknown dependency ${missing.join(', ')}`;
        let action: string;
        if (fm.status === 'in_progress') {
          await store.move(t.path, 'blocked', reason);
          action = 'moved in_progress -> blocked';
        } else if (fm.status === 'todo') {
          // todo → blocked is not in the seed's diagram: the ticket keeps todo, is marked, and dispatch refuses it.
          await store.update(t.path, (f) => ({ ...f, blocked_reason: reason }));
          action = 'marked blocked_reason (todo cannot move to blocked)';
        } else action = `left ${fm.status}`;
        for (const d of missing) issues.push({ ticket: fm.id, dependency: d, action });
      }
      return { valid: issues.length === 0, issues };
    },
    async archive() {
      const closed = [...(await store.list('done')), ...(await store.list('cancelled'))].sort((a, b) =>
        a.path.localeCompare(b.path),
      );
      const out: Array<{ ticket: string; status: TicketStatus; to: string }> = [];
      const log = join(dir, 'ticket_closure_log.md');
      await withLock(deps, lock('archive'), async () => {
        let text =
          (await readTextIfExists(deps.fs, log)) ??
          '# Ticket Closure Log\n\n## Closed Tickets\n\n| id | status_at_close | owner | tags | closed_at | archived_to |\n|---|---|---|---|---|---|\n';
        for (const t of closed) {
          const fm = t.doc.frontmatter;
          const year = fm.updated.slice(0, 4);
          const target = join(archiveDir, year, basename(t.path));
          await deps.fs.mkdir(dirname(target), { recursive: true });
          await deps.fs.rename(t.path, target);
          located.delete(fm.id);
          const collab = t.path.replace(/\.md$/, '.agent-collaboration.json');
          if (await deps.fs.stat(collab).catch(() => undefined))
            await deps.fs.rename(collab, join(archiveDir, year, basename(collab)));
          text += `| ${fm.id} | ${fm.status} | ${fm.owner} | ${fm.tags.join(', ')} | ${deps.clock.now().toISOString()} | archive/${year}/${basename(t.path)} |\n`;
          out.push({ ticket: fm.id, status: fm.status, to: target });
        }
        if (out.length > 0) await writeFileAtomic(deps, log, text);
      });
      return out;
    },
  };
  return store;
}
