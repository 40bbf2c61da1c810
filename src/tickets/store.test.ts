import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
