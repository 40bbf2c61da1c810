import { notStartedResult, type AgentAdapter, type AgentResult, type ChainResult } from '../agents/index.js';
import { AllProvidersUnavailableError, BlobCorruptError, isMsoError } from '../contracts/index.js';
import type { Clock } from '../platform/index.js';
import type { Git } from './git.js';
import type { RunnerDeps } from './runner.js';

/** One recorded agent call of a node: what the agent answered and what it changed in the worktree. */
export interface RecordedResponse {
  readonly attemptId: string;
  readonly blob: string;
  readonly result: Omit<AgentResult, 'transcript' | 'evidence'> | null;
  readonly unavailable: string | null;
  readonly patch: string;
}

export interface RecordedGate {
  readonly command: string;
  readonly status: AgentResult['status'];
  readonly exitCode: number | null;
  readonly message: string | null;
}

/** Every recorded call of a run, per node, in the order they happened. */
export interface RecordedCalls {
  readonly work: Map<string, RecordedResponse[]>;
  readonly gates: Map<string, RecordedGate[]>;
}

/** What happened during a replay that the record did not foresee, per node. */
export interface ReplayNotes {
  readonly notes: Map<string, string[]>;
  /** Agent calls answered from the record (no process spawned, no socket opened). */
  answered: number;
}

const push = <T>(m: Map<string, T[]>, k: string, v: T): void => {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
};

/** A stored blob as read back: its bytes, whether they still hash to its name, and where it lives. */
export interface StoredBlob {
  readonly bytes: Buffer;
  readonly intact: boolean;
  readonly path?: string;
}

function parseRecordedResponse(
  runId: string,
  hash: string,
  blob: StoredBlob,
): Pick<RecordedResponse, 'result' | 'unavailable' | 'patch'> {
  const corrupt = (reason: string): BlobCorruptError => new BlobCorruptError(hash, runId, reason, blob.path ?? null);
  // The whole blob is checked against its hash before any of it is used: an edited or cut record is refused.
  if (!blob.intact) throw corrupt('its bytes no longer match its sha256 (edited or truncated)');
  let body: unknown;
  try {
    body = JSON.parse(blob.bytes.toString('utf8'));
  } catch (e) {
    throw corrupt(`not JSON: ${(e as Error).message}`);
  }
  const b = body as Record<string, unknown> | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b['patch'] !== 'string' ||
    !(b['unavailable'] === null || typeof b['unavailable'] === 'string') ||
    !(b['result'] === null || (typeof b['result'] === 'object' && !Array.isArray(b['result'])))
  )
    throw corrupt('not a recorded agent response (needs result, unavailable and patch)');
  return body as Pick<RecordedResponse, 'result' | 'unavailable' | 'patch'>;
}

/**
 * Reads the `agent.response` and `gate.result` events of a run. Every response blob is verified by its whole hash
 * and parsed before the replay starts: a missing, altered, truncated or unparsable one is `MSO_BLOB_CORRUPT`,
 * naming the blob and the run.
 */
export async function loadRecordedCalls(
  runId: string,
  rows: ReadonlyArray<{ type: string; node_id: string | null; payload: string }>,
  readBlob: (hash: string) => Promise<StoredBlob>,
): Promise<RecordedCalls> {
  const work = new Map<string, RecordedResponse[]>();
  const gates = new Map<string, RecordedGate[]>();
  for (const r of rows) {
    if (!r.node_id) continue;
    const p = JSON.parse(r.payload) as Record<string, unknown>;
    if (r.type === 'agent.response') {
      const blob = String(p['blob']);
      const stored = await readBlob(blob).catch((e: unknown) => {
        if (isMsoError(e) && e.category === 'not_found') throw new BlobCorruptError(blob, runId, 'missing');
        throw e;
      });
      const body = parseRecordedResponse(runId, blob, stored);
      push(work, r.node_id, {
        attemptId: String(p['attempt_id']),
        blob,
        result: body.result,
        unavailable: body.unavailable,
        patch: body.patch,
      });
    } else if (r.type === 'gate.result') {
      push(gates, r.node_id, {
        command: String(p['command']),
        status: p['status'] as AgentResult['status'],
        exitCode: (p['exit_code'] as number | null) ?? null,
        message: (p['message'] as string | null) ?? null,
      });
    }
  }
  return { work, gates };
}

/**
 * Agents that answer every call from the record instead of a provider or CLI: a node's work gets its recorded
 * result and its recorded worktree patch applied with git; a gate gets its recorded status. Nothing is spawned
 * but git.
 */
export function replayAgents(
  calls: RecordedCalls,
  git: Git,
  clock: Clock,
): { agents: RunnerDeps['agents']; notes: ReplayNotes } {
  const notes: ReplayNotes = { notes: new Map(), answered: 0 };
  const cursor = new Map<string, number>();
  const next = <T>(m: Map<string, T[]>, kind: 'work' | 'gate', node: string): T | undefined => {
    const key = `${kind}\0${node}`;
    const i = cursor.get(key) ?? 0;
    cursor.set(key, i + 1);
    return m.get(node)?.[i];
  };
  const stub = (name: string): AgentAdapter => ({
    name,
    kind: 'shell',
    provider: 'replay',
    model: null,
    availability: async () => ({ available: true, reason: 'replayed from the audit log' }),
    run: async () => {
      throw new Error('replay adapters are only called through the replay chain');
    },
  });
  const answer = (over: Partial<AgentResult>): ChainResult => {
    const base = notStartedResult(
      { name: 'replay', kind: 'shell', provider: 'replay', model: null },
      clock.now().toISOString(),
      'success',
      null,
      '',
    );
    return { result: { ...base, exitCode: 0, errorMessage: null, ...over }, trail: [], retries: 0, callIds: [] };
  };
  const diverge = (node: string, what: string): ChainResult => {
    push(notes.notes, node, what);
    return answer({
      status: 'failure',
      exitCode: 1,
      errorClass: 'process',
      errorMessage: `replay: ${what}`,
    });
  };
  const agents: RunnerDeps['agents'] = {
    chain: () => [stub('replay')],
    adapter: (name) => stub(name),
    async run(_chain, req) {
      const node = req.nodeId ?? '';
      if (req.purpose === 'gate') {
        const g = next(calls.gates, 'gate', node);
        if (!g) return diverge(node, `gate "${req.command ?? ''}" ran, the record has no more gate results`);
        if (g.command !== req.command)
          return diverge(node, `gate "${req.command ?? ''}" ran, the record has "${g.command}"`);
        notes.answered++;
        return answer({
          status: g.status,
          exitCode: g.exitCode,
          errorMessage: g.message,
          errorClass: g.status === 'success' ? null : 'process',
        });
      }
      const r = next(calls.work, 'work', node);
      if (!r) return diverge(node, 'an agent call happened that the record does not have');
      notes.answered++;
      if (r.unavailable !== null || !r.result)
        throw new AllProvidersUnavailableError([
          { agent: 'replay', available: false, reason: r.unavailable ?? 'unavailable', breaker: null },
        ]);
      if (r.patch.trim()) {
        const applied = await git.run(
          ['apply', '--binary', '--whitespace=nowarn', '-'],
          req.cwd,
          r.patch.endsWith('\n') ? r.patch : `${r.patch}\n`,
        );
        if (applied.code !== 0)
          return diverge(node, `the recorded patch does not apply: ${applied.stderr.trim().slice(0, 300)}`);
      }
      return answer(r.result);
    },
  };
  return { agents, notes };
}

/** The first difference between a recorded run and its replay, in execution order. */
export interface Divergence {
  readonly node: string;
  readonly field: 'state' | 'tree_hash' | 'ticket' | 'missing';
  readonly expected: string | null;
  readonly actual: string | null;
  readonly notes: readonly string[];
}

export interface NodeRecord {
  readonly state: string;
  readonly treeHash: string | null;
  readonly ticket: string | null;
}

/** Compares node by node, in `order`; returns every divergence (the first is the one to report). */
export function compareRuns(
  order: readonly string[],
  expected: ReadonlyMap<string, NodeRecord>,
  actual: ReadonlyMap<string, NodeRecord>,
  notes: ReadonlyMap<string, readonly string[]>,
): Divergence[] {
  const out: Divergence[] = [];
  for (const node of order) {
    const e = expected.get(node);
    const a = actual.get(node);
    const n = notes.get(node) ?? [];
    if (!e) continue;
    if (!a) {
      out.push({ node, field: 'missing', expected: e.state, actual: null, notes: n });
      continue;
    }
    if (e.state !== a.state) out.push({ node, field: 'state', expected: e.state, actual: a.state, notes: n });
    else if (e.treeHash !== a.treeHash)
      out.push({ node, field: 'tree_hash', expected: e.treeHash, actual: a.treeHash, notes: n });
    else if (e.ticket !== a.ticket) out.push({ node, field: 'ticket', expected: e.ticket, actual: a.ticket, notes: n });
  }
  return out;
}
