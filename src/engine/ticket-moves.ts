import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../platform/index.js';
import type { TicketStore } from '../tickets/index.js';

type AuditEvent = Parameters<AuditLog['appendEvent']>[0];

/**
 * How long a node's start waits before its ticket file says `in_progress`. A node that ends sooner (a quick shell
 * step) moves its ticket todo → in_progress → done in one write instead of two; its audit log says when each move
 * happened either way, and the node's own state is in its events at once. A board or a person reading the files sees a
 * start this late at most. A second, not less: eight quick steps side by side on two cores each take a few hundred
 * milliseconds from start to end.
 */
const TICKET_START_HOLD_MS = 1_000;

export interface TicketMoves {
  /** Moves node `id`'s ticket (through in_progress where the state machine asks for it); a no-op for a closed one. */
  move(id: string, to: 'in_progress' | 'done' | 'blocked', reason: string): Promise<void>;
  /**
   * Writes every start still held (a node that did not end: cancelled, waiting for a person). A write that fails is
   * recorded (`ticket.move_failed`), not thrown: the run's end goes on.
   */
  settle(): Promise<void>;
  /** Drops the starts still held, unwritten, and their timers: the run stopped on an error, as a crash would. */
  drop(): void;
}

/** A start held back (see {@link TICKET_START_HOLD_MS}), or being written once its hold ended. */
interface Held {
  readonly id: string;
  readonly reason: string;
  readonly at: string;
  timer: NodeJS.Timeout | null;
  /** Its own write, once the hold ended; it resolves to the error it met, if any. */
  written: Promise<unknown> | null;
}

/**
 * The run's ticket moves: each node's ticket follows its node, found by id once and then named by its file, with its
 * attempt count in the closing write. Each transition is recorded as a `ticket.transition` event of its node through
 * `record` (a buffered state: it commits with the node's next event; a start written once its hold ended is committed
 * at once through `commit`), dated when the move happened.
 */
export function createTicketMoves(deps: {
  readonly tickets: TicketStore;
  readonly ticketOf: ReadonlyMap<string, string>;
  readonly clock: Clock;
  readonly runId: string;
  /** The node's attempts on record (its ticket says how many it took, in the write that closes it). */
  readonly attemptsOf: (id: string) => { attempts: number } | undefined;
  readonly record: (e: AuditEvent) => void;
  /** Commits what `record` buffered. */
  readonly commit: () => void;
  /** How long a start is held (default {@link TICKET_START_HOLD_MS}). */
  readonly holdMs?: number;
}): TicketMoves {
  const paths = new Map<string, string>();
  const held = new Map<string, Held>();

  const write = async (
    id: string,
    ref: string,
    to: 'in_progress' | 'done' | 'blocked',
    reason: string,
    start?: Held,
  ): Promise<void> => {
    // Found by id once; its file is then named directly (no listing of the tickets folder per move).
    const got = await deps.tickets.get(paths.get(ref) ?? ref);
    paths.set(ref, got.path);
    const cur = got.doc.frontmatter.status;
    if (cur === 'done' || cur === 'cancelled') return;
    // The node started in this run and its ticket does not say so yet: a todo one, or a blocked one run again.
    const started = start !== undefined && cur !== 'in_progress';
    if (cur === to && !started) return;
    // The state machine reaches done and blocked only through in_progress: a ticket not in progress goes through it in
    // the same write, dated when its node started where that was held back.
    const through = to !== 'in_progress' && (started || cur === 'todo' || (to === 'done' && cur === 'blocked'));
    const via = through ? [{ to: 'in_progress' as const, reason: start?.reason ?? 'engine' }] : [];
    // A finished node's ticket says how many attempts it took, as its status does (in the same write).
    const fields = to === 'in_progress' ? undefined : deps.attemptsOf(id);
    const moved = await deps.tickets.move(got.path, to, reason, fields, via);
    const now = deps.clock.now().toISOString();
    for (const t of moved.transitions)
      deps.record({
        runId: deps.runId,
        type: 'ticket.transition',
        nodeId: id,
        ticketId: t.ticket,
        at: t.to === 'in_progress' && start ? start.at : now,
        payload: { from: t.from, to: t.to, reason: t.reason },
      });
  };

  /** Writes the held start of `ref` now if it is not written yet; resolves to the error its write met, if any. */
  const release = (ref: string, h: Held): Promise<unknown> => {
    if (h.timer) clearTimeout(h.timer);
    h.timer = null;
    h.written ??= write(h.id, ref, 'in_progress', h.reason, h).then(
      () => undefined,
      (e: unknown) => e ?? new Error('ticket write failed'),
    );
    return h.written;
  };

  return {
    async move(id, to, reason) {
      const ref = deps.ticketOf.get(id);
      if (!ref) return;
      const h = held.get(ref);
      if (to === 'in_progress') {
        if (h) return;
        const start: Held = { id, reason, at: deps.clock.now().toISOString(), timer: null, written: null };
        // Written once the hold ends, and committed then: the node runs on, its next event may be minutes away.
        const ended = async (): Promise<void> => {
          if ((await release(ref, start)) !== undefined) return; // the node's next move reports it
          try {
            deps.commit();
          } catch {
            // The run's next event commits it, or says why it cannot.
          }
        };
        start.timer = setTimeout(() => void ended(), deps.holdMs ?? TICKET_START_HOLD_MS);
        start.timer.unref();
        held.set(ref, start);
        return;
      }
      held.delete(ref);
      if (h?.timer) clearTimeout(h.timer);
      // A start whose hold ended is written first (its failure is this move's); one still held joins this write.
      if (h?.written) {
        const failed = await h.written;
        if (failed) throw failed;
        await write(id, ref, to, reason);
      } else await write(id, ref, to, reason, h);
    },
    async settle() {
      const left = [...held];
      held.clear();
      const outcomes = await Promise.all(left.map(([ref, h]) => release(ref, h)));
      for (const [i, e] of outcomes.entries()) {
        if (e === undefined) continue;
        const [ref, h] = left[i] as [string, Held];
        deps.record({
          runId: deps.runId,
          type: 'ticket.move_failed',
          nodeId: h.id,
          ticketId: ref,
          payload: { to: 'in_progress', error: (e as Error).message ?? String(e) },
        });
      }
    },
    drop() {
      for (const h of held.values()) if (h.timer) clearTimeout(h.timer);
      held.clear();
    },
  };
}
