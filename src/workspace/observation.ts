import { join, relative } from 'node:path';
import { HitlItemSchema, PHASE_DIRS, PHASES, type PhaseKey, type Policy, type RunManifest } from '../contracts/index.js';
import { decideCommand } from '../contracts/light.js';
import { renderHitl } from './hitl.js';
import type { Fs } from '../platform/index.js';
import { readTextIfExists, smallFsOf, writeFileAtomic, type AtomicDeps } from './atomic.js';
import { OBSERVATION_DIRS } from './layout.js';

/** What one observation sync did. */
export interface SyncResult {
  readonly target: string | null;
  readonly skipped: string | null;
  readonly copied: number;
  readonly unchanged: number;
  readonly removed: number;
}

/** Extra lines a later stage adds to the readme (pending decisions, proposals). */
export interface ReadmeExtras {
  readonly nextActions?: readonly string[];
  readonly references?: readonly string[];
}

const READ_ONLY = 0o444;
/**
 * How the mirror's files are written: read-only, atomically, but not flushed to the disk one by one. The mirror is made
 * again from the workspace and the audit log at will (`mso workspace sync`); a power loss may leave a file of it empty
 * or old until then. (Its writes were a third of a run's fsyncs.)
 */
const MIRRORED = { mode: READ_ONLY, verbatim: true, durable: false } as const;

/** Where a phase folder is mirrored inside the observation run folder. */
function mirrorTarget(phaseKey: PhaseKey): string {
  if (phaseKey === '70') return '04_review';
  if (phaseKey === '80') return '05_delivery';
  return join('03_artifacts', PHASES[phaseKey]);
}

async function listFiles(fs: Fs, dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !e.name.includes('.tmp-') && !e.name.endsWith('.lock'))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

const SUMMARY_BY_STATUS: Readonly<Record<RunManifest['status'], string>> = {
  created: 'Run initialized.',
  active: 'Run is in progress across runtime phases.',
  awaiting_human: 'Run is waiting for a human decision (see 02_decisions/).',
  completed: 'Run completed successfully.',
  failed: 'Run failed. Check the error below, 90_meta and the governance review.',
  cancelled: 'Run was cancelled; it can be resumed.',
  archived: 'Run archived for read-only retention.',
};

/** The observation readme of a run: status, progress, next actions and references. */
export function renderReadme(m: RunManifest, runDir: string, tickets: readonly string[], extras: ReadmeExtras = {}): string {
  const done = PHASE_DIRS.filter((d) => ['completed', 'skipped'].includes(m.phases[d].status)).length;
  const open = PHASE_DIRS.filter((d) => ['pending', 'active'].includes(m.phases[d].status)).slice(0, 2);
  const finished = ['completed', 'failed', 'archived'].includes(m.status);
  const actions = [
    ...(extras.nextActions ?? []),
    ...(finished ? [] : open.map((d) => `${d} phase progress`)),
  ];
  const lines = [
    `# ${m.run_id}`,
    '',
    '## Status',
    `- **Status**: ${m.status}`,
    ...(m.goal ? [`- **Goal**: ${m.goal.replace(/\s+/g, ' ').slice(0, 200)}`] : []),
    `- **Created**: ${m.created_at}`,
    `- **Updated**: ${m.updated_at}`,
    ...(m.completed_at ? [`- **Finished**: ${m.completed_at}`] : []),
    `- **Progress**: ${done}/${PHASE_DIRS.length} phases`,
    '',
    '## Summary',
    SUMMARY_BY_STATUS[m.status],
    ...(m.error ? ['', `Error (${m.error.phase}): ${m.error.message}`] : []),
    ...(m.note ? ['', `Note: ${m.note}`] : []),
    '',
    '## Next actions',
    ...(actions.length > 0 ? actions.map((a) => `- [ ] ${a}`) : ['- [ ] no pending actions']),
    '',
    '## References',
    `- Run folder: \`${runDir}/\``,
    `- Tickets: ${tickets.length > 0 ? tickets.slice(0, 20).join(', ') : '(none)'}`,
    ...(extras.references ?? []).map((r) => `- ${r}`),
    '',
  ];
  return lines.join('\n');
}

function renderSummary(m: RunManifest): string {
  const rows = PHASE_DIRS.map((d) => `| ${d} | ${m.phases[d].status} | ${m.phases[d].updated_at ?? ''} |`);
  return [
    `# Summary of ${m.run_id}`,
    '',
    `Status: **${m.status}** (created ${m.created_at}, updated ${m.updated_at}${m.completed_at ? `, finished ${m.completed_at}` : ''})`,
    ...(m.tags.length ? [`Tags: ${m.tags.join(', ')}`] : []),
    ...(m.error ? [`Error in ${m.error.phase}: ${m.error.message}`] : []),
    ...(m.note ? [`Note: ${m.note}`] : []),
    '',
    '| phase | status | updated |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

async function writeIfChanged(deps: AtomicDeps, file: string, raw: string): Promise<boolean> {
  // Compared as it would be stored, so a readme holding a secret is not rewritten on every sync.
  const content = deps.redactor ? deps.redactor.text(raw) : raw;
  if ((await readTextIfExists(smallFsOf(deps), file)) === content) return false;
  await writeFileAtomic(deps, file, content, MIRRORED);
  return true;
}

/**
 * Mirrors one run into `<obs>/<observer>/<run>/`: the readme, `01_summary/`, and the phase folders listed in
 * `sync_phases` (70 → `04_review/`, 80 → `05_delivery/`, others → `03_artifacts/<phase>/`). Only changed files are
 * copied; every file written is read-only; nothing is written into the workspace.
 */
export async function syncObservation(
  deps: AtomicDeps,
  input: {
    readonly policy: Policy;
    readonly manifest: RunManifest;
    readonly runDir: string;
    readonly target: string;
    readonly suspended: boolean;
    readonly extras?: ReadmeExtras;
  },
): Promise<SyncResult> {
  const { policy, manifest, runDir, target } = input;
  if (!policy.observation_policy.auto_sync) return { target: null, skipped: 'observation_policy.auto_sync is false', copied: 0, unchanged: 0, removed: 0 };
  if (input.suspended) return { target: null, skipped: 'sync suspended (PEER_REPLACED): run `mso workspace relink`', copied: 0, unchanged: 0, removed: 0 };
  const { fs } = deps;
  await Promise.all(OBSERVATION_DIRS.map((d) => fs.mkdir(join(target, d), { recursive: true })));
  // Files are copied side by side, at most BATCH at a time over every phase folder (one after another they were most of
  // a sync's time); every copy has ended before a failure is reported.
  const phases = await Promise.all(
    policy.observation_policy.sync_phases.map(async (phase) => {
      const key = String(phase).padStart(2, '0') as PhaseKey;
      const src = join(runDir, PHASES[key]);
      return { key, src, dest: join(target, mirrorTarget(key)), files: await listFiles(fs, src) };
    }),
  );
  const copyOne = async (src: string, dest: string, rel: string): Promise<'copied' | 'unchanged' | 'gone'> => {
    const from = join(src, rel);
    const to = join(dest, rel);
    const [a, b] = await Promise.all([fs.stat(from).catch(() => undefined), fs.stat(to).catch(() => undefined)]);
    if (!a) return 'gone';
    // utimes keeps about a millisecond of the source mtime, so "unchanged" allows that much rounding.
    if (b && b.size === a.size && Math.abs(b.mtimeMs - a.mtimeMs) < 1) return 'unchanged';
    await writeFileAtomic(deps, to, await fs.readFile(from), { ...MIRRORED, verbatim: false });
    await fs.utimes(to, a.atime, a.mtime);
    return 'copied';
  };
  const outcomes = await settledInBatches(
    phases.flatMap((p) => p.files.map((rel) => () => copyOne(p.src, p.dest, rel))),
  );
  let copied = outcomes.filter((x) => x === 'copied').length;
  let unchanged = outcomes.filter((x) => x === 'unchanged').length;
  // 04_review and 05_delivery also receive files written there directly, so only artifact mirrors are pruned.
  const stale: string[] = [];
  for (const p of phases.filter((x) => x.key !== '70' && x.key !== '80')) {
    const wanted = new Set(p.files);
    for (const rel of await listFiles(fs, p.dest)) if (!wanted.has(rel)) stale.push(join(p.dest, rel));
  }
  await settledInBatches(stale.map((f) => () => fs.rm(f, { force: true })));
  const removed = stale.length;
  // Human items are always mirrored: observers are the ones who decide them.
  const hitlNames = (await fs.readdir(join(runDir, 'hitl')).catch(() => [] as string[])).filter((n) => /^HITL-\d+\.json$/.test(n));
  const pending: string[] = [];
  for (const n of hitlNames.sort()) {
    const parsed = HitlItemSchema.safeParse(JSON.parse((await readTextIfExists(fs, join(runDir, 'hitl', n))) ?? '{}'));
    if (!parsed.success) continue;
    const item = parsed.data;
    if (item.status === 'pending') pending.push(`decide ${item.id}: ${item.title} (${decideCommand(item.run_id, item.id, item.kind === 'manual_work')})`);
    if (await writeIfChanged(deps, join(target, '02_decisions', `${parsed.data.id}.md`), renderHitl(parsed.data))) copied++;
    else unchanged++;
  }
  const tickets = (await fs.readdir(join(runDir, '40_collaboration', 'task-context', 'tickets')).catch(() => []))
    .filter((n) => /^TKT-\d+.*\.md$/.test(n))
    .map((n) => n.replace(/^(TKT-\d+).*$/, '$1'))
    .sort();
  const extras = { ...input.extras, nextActions: [...pending, ...(input.extras?.nextActions ?? [])] };
  const written = await Promise.all([
    writeIfChanged(deps, join(target, '01_summary', 'summary.md'), renderSummary(manifest)),
    writeIfChanged(deps, join(target, 'readme.md'), renderReadme(manifest, runDir, tickets, extras)),
  ]);
  for (const w of written)
    if (w) copied++;
    else unchanged++;
  return { target, skipped: null, copied, unchanged, removed };
}

/**
 * Runs `tasks`, at most {@link BATCH} at a time, and returns their results in order; when any failed, the first
 * failure is thrown once every task has ended (none is left running behind the caller).
 */
async function settledInBatches<R>(tasks: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
  const out: R[] = [];
  let failure: { readonly e: unknown } | null = null;
  for (let i = 0; i < tasks.length; i += BATCH) {
    for (const r of await Promise.allSettled(tasks.slice(i, i + BATCH).map((t) => t()))) {
      if (r.status === 'fulfilled') out.push(r.value);
      else failure ??= { e: r.reason };
    }
    if (failure) throw failure.e;
  }
  return out;
}
const BATCH = 16;
