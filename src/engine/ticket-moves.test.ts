import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRedactor } from '../audit/index.js';
import { nodePlatform } from '../platform/index.js';
import { createTicketStore, type TicketStore, type TransitionRecord } from '../tickets/index.js';
import { parseTicket } from '../tickets/ticket-file.js';
import { createTicketMoves } from './ticket-moves.js';

let dir: string;
let store: TicketStore;
/** Every transition the store made, in order. */
let written: TransitionRecord[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-ticket-moves-'));
  written = [];
  store = createTicketStore({ ...nodePlatform(), redactor: createRedactor({ env: {} }) }, dir, (t) => {
    written.push(t);
  });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

interface Recorded {
  readonly type: string;
  readonly nodeId?: string | null | undefined;
  readonly ticketId?: string | null | undefined;
  readonly at?: string | undefined;
  readonly payload?: Record<string, unknown> | undefined;
}

/** Moves of new tickets for `nodes`; a start is held `holdMs` (a minute: never ended by time in the test). */
async function setup(nodes: readonly string[], holdMs = 60_000) {
  const made = await store.createMany(nodes.map((n) => ({ title: n, nodeId: n })));
  const ticketOf = new Map(nodes.map((n, i) => [n, made[i]?.doc.frontmatter.id as string]));
  const events: Recorded[] = [];
  /** Each write of a ticket file (a call of the store's move), and each `get` (a write begins with one). */
  const writes: string[] = [];
  const gets: string[] = [];
  let commits = 0;
  const counted: TicketStore = {
    ...store,
    get: (ref) => (gets.push(ref), store.get(ref)),
    move: (ref, to, ...rest) => (writes.push(to), store.move(ref, to, ...rest)),
  };
  const moves = createTicketMoves({
    tickets: counted,
    ticketOf,
    clock: nodePlatform().clock,
    runId: 'r',
    attemptsOf: () => ({ attempts: 1 }),
    record: (e) => events.push(e),
    commit: () => commits++,
    holdMs,
  });
  const status = async (n: string) => {
    const path = made[nodes.indexOf(n)]?.path as string;
    return parseTicket(await readFile(path, 'utf8'), path).frontmatter;
  };
  return { moves, events, writes, gets, commits: () => commits, status, ticketOf };
}

describe('the run’s ticket moves', () => {
  it('moves a node that ends within the hold todo → in_progress → done in one write, each move dated as it happened', async () => {
    const { moves, events, writes, status } = await setup(['a']);
    await moves.move('a', 'in_progress', 'engine started the node');
    const startedAt = new Date().toISOString();
    expect((await status('a')).status).toBe('todo');
    await vi.waitFor(() => expect(new Date().toISOString() > startedAt).toBe(true));
    await moves.move('a', 'done', 'committed abc');
    expect(await status('a')).toMatchObject({ status: 'done', attempts: 1 });
    expect(writes).toEqual(['done']);
    expect(written.map((t) => `${t.from}>${t.to}`)).toEqual(['todo>in_progress', 'in_progress>done']);
    expect(events.map((e) => [e.type, e.nodeId, e.payload])).toEqual([
      ['ticket.transition', 'a', { from: 'todo', to: 'in_progress', reason: 'engine started the node' }],
      ['ticket.transition', 'a', { from: 'in_progress', to: 'done', reason: 'committed abc' }],
    ]);
    expect((events[0]?.at ?? '') <= startedAt).toBe(true);
    expect((events[0]?.at ?? '') < (events[1]?.at ?? '')).toBe(true);
    await moves.settle();
    expect(writes).toHaveLength(1);
  });

  it('writes a start once its node has run for the hold, commits its event then, and its end on its own', async () => {
    const { moves, events, writes, commits, status } = await setup(['a'], 0);
    await moves.move('a', 'in_progress', 'engine started the node');
    await vi.waitFor(() => expect(commits()).toBe(1));
    expect((await status('a')).status).toBe('in_progress');
    expect(events.map((e) => e.payload?.['to'])).toEqual(['in_progress']);
    await moves.move('a', 'blocked', 'gave up');
    expect(await status('a')).toMatchObject({ status: 'blocked', blocked_reason: 'gave up' });
    expect(events.map((e) => e.payload?.['to'])).toEqual(['in_progress', 'blocked']);
    expect(writes).toEqual(['in_progress', 'blocked']);
  });

  it('runs a node blocked before (a resume) through in_progress again, whether it ends done or blocked', async () => {
    const { moves, events, status, ticketOf } = await setup(['a', 'b']);
    for (const n of ['a', 'b']) {
      await store.move(ticketOf.get(n) as string, 'in_progress', 'first run');
      await store.move(ticketOf.get(n) as string, 'blocked', 'failed the first time');
    }
    await moves.move('a', 'in_progress', 'started again');
    await moves.move('a', 'done', 'committed');
    await moves.move('b', 'in_progress', 'started again');
    await moves.move('b', 'blocked', 'failed again');
    // The runner's own move of a failed node's ticket, after the node's: nothing more.
    await moves.move('b', 'blocked', 'failed again');
    expect((await status('a')).status).toBe('done');
    expect(await status('b')).toMatchObject({ status: 'blocked', blocked_reason: 'failed again', attempts: 1 });
    expect(events.map((e) => `${e.nodeId}:${String(e.payload?.['from'])}>${String(e.payload?.['to'])}`)).toEqual([
      'a:blocked>in_progress',
      'a:in_progress>done',
      'b:blocked>in_progress',
      'b:in_progress>blocked',
    ]);
  });

  it('writes the starts still held when the run settles, and leaves a finished ticket alone', async () => {
    const { moves, status } = await setup(['a', 'b']);
    await moves.move('a', 'in_progress', 'started');
    await moves.move('b', 'in_progress', 'started');
    await moves.move('b', 'done', 'committed');
    await moves.settle();
    expect((await status('a')).status).toBe('in_progress');
    expect((await status('b')).status).toBe('done');
    await moves.move('b', 'in_progress', 'again');
    await moves.settle();
    expect((await status('b')).status).toBe('done');
  });

  it('drops the starts still held when the run stops on an error: no write after it', async () => {
    const { moves, writes, status } = await setup(['a'], 50);
    await moves.move('a', 'in_progress', 'started');
    moves.drop();
    await new Promise((r) => setTimeout(r, 200));
    expect(writes).toEqual([]);
    expect((await status('a')).status).toBe('todo');
  });

  it('leaves a ticket closed behind the engine as it is', async () => {
    const { moves, ticketOf, status } = await setup(['a']);
    await moves.move('a', 'in_progress', 'started');
    // Cancelled by a person while its start is held: neither the start nor the end changes it.
    await store.move(ticketOf.get('a') as string, 'cancelled', 'not needed');
    await moves.move('a', 'done', 'committed');
    await moves.settle();
    expect((await status('a')).status).toBe('cancelled');
    expect(written.map((t) => t.to)).toEqual(['cancelled']);
  });

  it('fails the node’s next move with the error its held start met, and records one the settling meets', async () => {
    const { moves, ticketOf, events, gets } = await setup(['a', 'b'], 0);
    const gone = async (n: string) => rm((await store.get(ticketOf.get(n) as string)).path);
    await gone('a');
    await gone('b');
    await moves.move('a', 'in_progress', 'started');
    await moves.move('b', 'in_progress', 'started');
    // Both holds ended and their writes began (each begins by finding its ticket) before `a` ends.
    await vi.waitFor(() => expect(gets).toHaveLength(2));
    await expect(moves.move('a', 'done', 'committed')).rejects.toMatchObject({ code: 'MSO_NOT_FOUND' });
    // `b` never ends: the run's end writes nothing for it and goes on, with the failure on record.
    await moves.settle();
    expect(events).toEqual([
      expect.objectContaining({
        type: 'ticket.move_failed',
        nodeId: 'b',
        ticketId: ticketOf.get('b'),
        payload: expect.objectContaining({ to: 'in_progress' }),
      }),
    ]);
  });
});
