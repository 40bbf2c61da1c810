import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../audit/index.js';
import { nodePlatform } from '../platform/index.js';
import { createTicketStore, type TicketStore } from './store.js';
import { parseTicket } from './ticket-file.js';

let dir: string;
let store: TicketStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-ticket-store-'));
  store = createTicketStore({ ...nodePlatform(), redactor: createRedactor({ env: {} }) }, dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The ticket as a fresh reader of its file sees it. */
const fromDisk = async (path: string) => parseTicket(await readFile(path, 'utf8'), path);

describe('the ticket store', () => {
  it('hands out, after a creation or a move, exactly the document its file parses to', async () => {
    const { path, doc } = await store.create({ title: 'a: "quoted" # not a comment — 한글', body: 'line\n\n- item' });
    expect(doc).toStrictEqual(await fromDisk(path));
    // A new ticket's document is made without parsing its text: it must be what the text parses to all the same.
    const awkward = [
      { title: '123', body: '---\nnot: frontmatter\n---' },
      { title: 'true', body: 'ends without a newline' },
      { title: '- starts like a list', body: '\n\nleading blank lines\n\n' },
      { title: '2026-11-28', body: 'tab\there, CR\r\nthere' },
      { title: 'null ~ [x] {y} &a *b !c |d >e %f @g `h', body: '' },
      { title: 'two\nlines', persona: 'worker', tags: ['0x10', 'yes'] },
    ];
    for (const input of awkward) {
      const made = await store.create(input);
      expect(made.doc).toStrictEqual(await fromDisk(made.path));
    }
    expect((await store.get(path)).doc).toStrictEqual(await fromDisk(path));
    const reasons = ['first: "x" #y\nsecond line', '', '{ not: yaml }', '2026-11-28', 'yes', '0x10'];
    const steps = [
      ['in_progress', undefined],
      ['blocked', reasons[0]],
      ['in_progress', undefined],
      ['blocked', reasons[2]],
      ['in_progress', undefined],
      ['blocked', reasons[3]],
      ['in_progress', undefined],
      ['blocked', reasons[4]],
      ['in_progress', undefined],
      ['blocked', reasons[5]],
      ['in_progress', undefined],
      ['done', 'finished'],
    ] as const;
    for (const [to, reason] of steps) {
      const moved = await store.move(path, to, reason);
      expect(moved.doc).toStrictEqual(await fromDisk(path));
      expect((await store.get(path)).doc).toStrictEqual(await fromDisk(path));
    }
  });

  it('parses a moved ticket whose text the redactor changed, and shows it redacted', async () => {
    const { path } = await store.create({ title: 'with a secret' });
    await store.move(path, 'in_progress');
    await store.move(path, 'blocked', 'api_key=sk-abcdefghijklmnopqrstuvwx1234567890');
    const got = (await store.get(path)).doc;
    expect(got).toStrictEqual(await fromDisk(path));
    expect(got.frontmatter.blocked_reason).not.toContain('sk-abcdefghijklmnopqrstuvwx1234567890');
  });
});

describe('createMany', () => {
  it('takes the ids in order, makes earlier tickets of the batch dependencies, and writes what a parse reads', async () => {
    const [first] = await store.createMany([{ title: 'before' }]);
    const made = await store.createMany([
      { key: 'a', title: 'a' },
      { key: 'b', title: 'b', after: ['a'], dependencies: [first?.doc.frontmatter.id as string] },
      { key: 'c', title: 'c', after: ['a', 'b'], tags: ['merge'] },
    ]);
    expect(made.map((t) => t.doc.frontmatter.id)).toEqual(['TKT-0002', 'TKT-0003', 'TKT-0004']);
    expect(made.map((t) => t.doc.frontmatter.dependencies)).toEqual([
      [],
      ['TKT-0001', 'TKT-0002'],
      ['TKT-0002', 'TKT-0003'],
    ]);
    for (const t of made) expect(t.doc).toStrictEqual(await fromDisk(t.path));
    expect((await readFile(join(dir, '.ticket-counter'), 'utf8')).trim()).toBe('4');
    expect((await store.create({ title: 'next' })).doc.frontmatter.id).toBe('TKT-0005');
  });

  it('writes nothing when one input is wrong, and refuses a batch key it has not seen yet', async () => {
    await expect(store.createMany([{ title: 'ok' }, { title: ' ' }])).rejects.toMatchObject({ field: 'title' });
    await expect(
      store.createMany([
        { key: 'a', title: 'a', after: ['b'] },
        { key: 'b', title: 'b' },
      ]),
    ).rejects.toMatchObject({
      field: 'after',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('gives two batches made at once ids of their own', async () => {
    const [x, y] = await Promise.all([
      store.createMany([{ title: 'x1' }, { title: 'x2' }]),
      store.createMany([{ title: 'y1' }, { title: 'y2' }, { title: 'y3' }]),
    ]);
    const ids = [...(x ?? []), ...(y ?? [])].map((t) => t.doc.frontmatter.id).sort();
    expect(ids).toEqual(['TKT-0001', 'TKT-0002', 'TKT-0003', 'TKT-0004', 'TKT-0005']);
    expect((await store.list()).length).toBe(5);
  });
});

describe('finding a ticket by id', () => {
  it('remembers where it is, and finds it gone once another store archived it, naming the id', async () => {
    const { doc } = await store.create({ title: 'to archive' });
    const id = doc.frontmatter.id;
    expect((await store.get(id)).doc.frontmatter.id).toBe(id);
    await store.move(id, 'in_progress');
    await store.move(id, 'done');
    const other = createTicketStore({ ...nodePlatform(), redactor: createRedactor({ env: {} }) }, dir);
    expect(await other.archive()).toHaveLength(1);
    await expect(store.get(id)).rejects.toThrow(new RegExp(`${id} in .*tickets`));
    await expect(store.move(id, 'done')).rejects.toThrow(new RegExp(`${id} in .*tickets`));
  });
});
