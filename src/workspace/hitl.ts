import { join } from 'node:path';
import {
  HITL_ID_PATTERN,
  HitlItemSchema,
  InvalidArgumentError,
  NotFoundError,
  parseArtifact,
  type HitlItem,
} from '../contracts/index.js';
import type { Clock } from '../platform/index.js';
import { parseJsonText, readTextIfExists, writeJsonAtomic, type AtomicDeps } from './atomic.js';
import { withLock } from './lock.js';

export interface HitlDeps extends AtomicDeps {
  readonly clock: Clock;
}

/** `HITL-NNNN` items of one run, stored in `<run>/hitl/` and mirrored to the observation `02_decisions/`. */
export interface HitlStore {
  create(item: Omit<HitlItem, 'id' | 'status' | 'created_at' | 'decided_at' | 'decided_by' | 'note'>): Promise<HitlItem>;
  list(): Promise<HitlItem[]>;
  get(id: string): Promise<HitlItem>;
  decide(id: string, decision: 'approved' | 'rejected', by: string, note: string | null): Promise<{ item: HitlItem; changed: boolean }>;
  /** The item's file (evidence for the decision recorded in the audit log). */
  file(id: string): string;
}

/** The HITL store of a run folder. */
export function createHitlStore(deps: HitlDeps, runDir: string, lockFile: (name: string) => string): HitlStore {
  const dir = join(runDir, 'hitl');
  // An id is a name in the run's hitl folder, never a path: `../x` would read and decide a file outside it.
  const fileOf = (id: string): string => {
    if (!HITL_ID_PATTERN.test(id))
      throw new InvalidArgumentError('item', `${JSON.stringify(id)} is not a human item id: they look like HITL-0001 (mso status RUN lists a run's waiting ones)`);
    return join(dir, `${id}.json`);
  };
  const read = async (id: string): Promise<HitlItem> => {
    const text = await readTextIfExists(deps.fs, fileOf(id));
    if (text === undefined) throw new NotFoundError('human item', id);
    return parseArtifact(HitlItemSchema, parseJsonText(text, fileOf(id)), fileOf(id));
  };
  const store: HitlStore = {
    async create(input) {
      return withLock(deps, lockFile(`hitl-${runDir.split('/').at(-1)}`), async () => {
        await deps.fs.mkdir(dir, { recursive: true });
        const ids = (await deps.fs.readdir(dir).catch(() => [] as string[])).map((n) => /^HITL-(\d+)\.json$/.exec(n)?.[1]).filter(Boolean).map(Number);
        const id = `HITL-${String(Math.max(0, ...ids) + 1).padStart(4, '0')}`;
        const item = HitlItemSchema.parse({ ...input, id, status: 'pending', created_at: deps.clock.now().toISOString() });
        await writeJsonAtomic(deps, fileOf(id), item);
        return item;
      });
    },
    async list() {
      const names = (await deps.fs.readdir(dir).catch(() => [] as string[])).filter((n) => /^HITL-\d+\.json$/.test(n)).sort();
      return Promise.all(names.map((n) => read(n.replace(/\.json$/, ''))));
    },
    get: read,
    file: fileOf,
    async decide(id, decision, by, note) {
      return withLock(deps, lockFile(`hitl-${runDir.split('/').at(-1)}`), async () => {
        const cur = await read(id);
        if (cur.status !== 'pending') return { item: cur, changed: false };
        const item: HitlItem = { ...cur, status: decision, decided_at: deps.clock.now().toISOString(), decided_by: by, note };
        await writeJsonAtomic(deps, fileOf(id), item);
        return { item, changed: true };
      });
    },
  };
  return store;
}

/** The brief of a HITL item as markdown (the observation `02_decisions/HITL-NNNN.md`). */
export function renderHitl(item: HitlItem): string {
  return [
    '---',
    `gate-type: ${item.gate}`,
    `urgency: ${item.urgency}`,
    `source-node: ${item.source.node_id ?? ''}`,
    `source-ticket: ${item.source.ticket_id ?? ''}`,
    `status: ${item.status}`,
    '---',
    '',
    `# ${item.id}: ${item.title}`,
    '',
    item.brief,
    '',
    '## Evidence',
    ...(item.evidence.length ? item.evidence.map((e) => `- ${e}`) : ['- (none)']),
    '',
    '## Options',
    ...item.options.map((o) => `- ${o}`),
    '',
    // A node left to a person is approved only once that person says the work is done.
    item.kind === 'manual_work'
      ? `Once you did the work, \`mso approve ${item.run_id} ${item.id} --done\`; or \`mso reject ${item.run_id} ${item.id} --note ...\`.`
      : `Decide with \`mso approve ${item.run_id} ${item.id} --note ...\` or \`mso reject ${item.run_id} ${item.id} --note ...\`.`,
    ...(item.status !== 'pending' ? ['', `**${item.status}** by ${item.decided_by ?? '?'} at ${item.decided_at ?? '?'}${item.note ? `: ${item.note}` : ''}`] : []),
    '',
  ].join('\n');
}
