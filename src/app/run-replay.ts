import { dirname, join } from 'node:path';
import { openAuditLog } from '../audit/index.js';
import { InvalidArgumentError, UsageError } from '../contracts/index.js';
import {
  compareRuns,
  loadRecordedCalls,
  loadRecordedRun,
  recordedDecisions,
  replayAgents,
  withDescendants,
  type Divergence,
  type NodeRecord,
} from '../engine/index.js';
import { createHitlStore, parseRunId, taggedCaseSlug, writeFileAtomic, type RunRef } from '../workspace/index.js';
import { currentHashes, readProvenance } from './provenance.js';
import { ARTIFACT_PATHS, readRunArtifact, runTicketStore } from './run-artifacts.js';
import { execute, recordedRunOptions } from './run-execute.js';
import { ensureTickets, ticketStatusByNode, type RunOpsContext } from './run-support.js';
import type { RerunOptions, ReplayOptions, ReplayReport } from './run-types.js';
import { auditOptions } from './settings.js';

/** `mso rerun`: the failed nodes (or the given ones) and their descendants again, as a new linked run. */
export async function rerunRun(c: RunOpsContext, runId: string, o: RerunOptions): Promise<ReplayReport> {
  if (Boolean(o.failed) === Boolean(o.nodes?.length))
    throw new UsageError(o.failed ? 'give --failed or --node ID, not both' : 'give --failed or --node ID');
  let nodes = o.nodes ?? [];
  if (o.failed) {
    const ws = await c.open(false);
    await ws.runs.get(runId);
    const log = openAuditLog(c.deps, auditOptions(ws, c.deps));
    try {
      nodes = [...loadRecordedRun(log, runId).nodes].filter(([, n]) => n.state === 'failed').map(([id]) => id);
    } finally {
      log.close();
    }
    if (nodes.length === 0) throw new InvalidArgumentError('--failed', `${runId} has no failed node to run again`);
  }
  return replayRun(c, runId, {
    fromNodes: nodes,
    allowChanged: true,
    signal: o.signal,
    onProgress: o.onProgress,
  });
}

/**
 * `mso replay`: a new run linked to the recorded one. Offline, every agent call, gate and human decision is answered
 * from the record and each node's outcome, ticket and tree hash is compared with it; `from` reuses what NODE does
 * not depend on and runs NODE and its descendants again.
 */
export async function replayRun(c: RunOpsContext, runId: string, o: ReplayOptions): Promise<ReplayReport> {
  const { deps, git, open } = c;
  const starts = o.fromNodes ?? (o.from !== undefined ? [o.from] : []);
  if (!o.offline && starts.length === 0) throw new UsageError('give --offline, --from NODE, or both');
  const ws = await open(true);
  const orig = await ws.runs.get(runId);
  const log = openAuditLog(deps, auditOptions(ws, deps));
  let newRef: RunRef;
  let calls: Awaited<ReturnType<typeof loadRecordedCalls>> | undefined;
  let changed: string[];
  const reused: string[] = [];
  let expected: Map<string, NodeRecord>;
  let order: string[];
  let runOptions: ReturnType<typeof recordedRunOptions>;
  try {
    const prov = readProvenance(log, runId);
    if (!prov)
      throw new InvalidArgumentError(
        'run',
        `${runId} has no recorded provenance (it never executed): nothing to replay`,
      );
    runOptions = recordedRunOptions(log, runId);
    const now = await currentHashes(deps, ws, orig.dir);
    changed = (['topology', 'bundle', 'plan', 'policy'] as const).filter((k) => now[k] !== prov.hashes[k]);
    if (changed.length && !o.allowChanged)
      throw new InvalidArgumentError(
        'run',
        `${changed.join(', ')} of ${runId} changed since it ran (hash differs from its provenance); pass --allow-changed to replay anyway`,
      );
    const plan = await readRunArtifact(deps, orig.dir, 'plan');
    const graph = plan.execution_graph;
    for (const start of starts)
      if (!graph[start])
        throw new InvalidArgumentError(
          o.fromNodes ? '--node' : '--from',
          `${start} is not a node of ${runId} (nodes: ${Object.keys(graph).join(', ')})`,
        );
    const recorded = loadRecordedRun(log, runId);
    const rows = log.db
      .prepare('SELECT type, node_id, payload FROM events WHERE run_id = ? ORDER BY seq')
      .all(runId) as Array<{ type: string; node_id: string | null; payload: string }>;
    if (o.offline) calls = await loadRecordedCalls(runId, rows, (hash) => log.inspectBlob(hash));
    // Execution order of the record: first start of each node, then any the record never started.
    order = [
      ...new Set([
        ...rows.filter((r) => r.type === 'node.attempt' && r.node_id).map((r) => r.node_id as string),
        ...Object.keys(graph),
      ]),
    ];
    const origTickets = await ticketStatusByNode(c, orig.dir);
    expected = new Map(
      Object.keys(graph).map((id) => [
        id,
        {
          state: recorded.nodes.get(id)?.state ?? 'pending',
          treeHash: recorded.nodes.get(id)?.treeHash ?? null,
          ticket: origTickets.get(id) ?? null,
        },
      ]),
    );
    const { skillKey, caseSlug } = parseRunId(runId);
    newRef = await ws.runs.create({
      id:
        o.as !== undefined
          ? { runId: o.as }
          : { skillKey, caseSlug: taggedCaseSlug(caseSlug, o.fromNodes ? 'rerun' : 'replay') },
      ...(orig.manifest.goal ? { goal: orig.manifest.goal } : {}),
      tags: [o.fromNodes ? 'rerun' : 'replay'],
      parentRunId: runId,
      live: true,
    });
    for (const f of [ARTIFACT_PATHS.topology, ARTIFACT_PATHS.bundle, ARTIFACT_PATHS.plan]) {
      const bytes = await deps.fs.readFile(join(orig.dir, f));
      await deps.fs.mkdir(dirname(join(newRef.dir, f)), { recursive: true });
      await writeFileAtomic(deps, join(newRef.dir, f), bytes);
    }
    const newId = newRef.runId;
    log.appendEvent({
      runId: newId,
      type: 'run.replay_of',
      payload: {
        of: runId,
        offline: Boolean(o.offline),
        from: o.from ?? null,
        ...(o.fromNodes ? { rerun: o.fromNodes } : {}),
        changed_inputs: changed,
      },
    });
    log.appendEvent({
      runId: newId,
      type: 'run.provisioned',
      payload: { repo: prov.repo, base_sha: prov.base_sha },
    });
    if (starts.length > 0) {
      // Reuse every node that is not `from` or one of its descendants, exactly as recorded.
      const rerun = withDescendants(graph, starts);
      const committed = new Map(
        rows.filter((r) => r.type === 'node.committed' && r.node_id).map((r) => [r.node_id as string, r.payload]),
      );
      for (const id of Object.keys(graph)) {
        if (rerun.has(id) || recorded.nodes.get(id)?.state !== 'done' || !committed.has(id)) continue;
        const payload = JSON.parse(committed.get(id) as string) as Record<string, unknown>;
        log.appendEvent({
          runId: newId,
          type: 'node.committed',
          nodeId: id,
          payload: { ...payload, reused_from: runId },
        });
        log.appendEvent({
          runId: newId,
          type: 'node.state',
          nodeId: id,
          payload: { state: 'done', detail: `reused from ${runId}` },
        });
        reused.push(id);
      }
    }
  } finally {
    log.close();
  }
  const ticketOf = await ensureTickets(c, ws, newRef);
  const store = runTicketStore(deps, newRef.dir);
  for (const id of reused) {
    const t = ticketOf.get(id);
    if (!t) continue;
    await store.move(t, 'in_progress', `reused from ${runId}`);
    await store.move(t, 'done', `reused from ${runId}`);
  }
  const replayed = calls ? replayAgents(calls, git, deps.clock) : undefined;
  // Offline, the people's decisions are replayed too: each gate gets the answer it got in the record.
  const decisions = o.offline
    ? recordedDecisions(await createHitlStore(deps, orig.dir, (n) => ws.layout.lockFile(n)).list())
    : undefined;
  // The replay runs with the options the record ran with (budget, --agent, --max-concurrency).
  const summary = await execute(c, ws, newRef, {
    signal: o.signal,
    onProgress: o.onProgress,
    budgetUsd: runOptions.budgetUsd ?? undefined,
    agent: runOptions.agent,
    maxConcurrency: runOptions.maxConcurrency,
    ...(replayed ? { agents: replayed.agents, decisions } : {}),
  });
  let divergences: Divergence[] = [];
  if (replayed) {
    const after = openAuditLog(deps, auditOptions(ws, deps));
    try {
      const rec = loadRecordedRun(after, newRef.runId);
      const tickets = await ticketStatusByNode(c, newRef.dir);
      const actual = new Map(
        [...expected.keys()].map((id) => [
          id,
          {
            state: rec.nodes.get(id)?.state ?? 'pending',
            treeHash: rec.nodes.get(id)?.treeHash ?? null,
            ticket: tickets.get(id) ?? null,
          },
        ]),
      );
      divergences = compareRuns(order, expected, actual, replayed.notes.notes);
      after.appendEvent({
        runId: newRef.runId,
        type: 'replay.verdict',
        payload: { of: runId, identical: divergences.length === 0, first: divergences[0] ?? null },
      });
    } finally {
      after.close();
    }
  }
  return {
    run_id: newRef.runId,
    replay_of: runId,
    mode: o.offline ? 'offline' : 'live',
    from: o.from ?? (o.fromNodes ? o.fromNodes.join(',') : null),
    reused,
    answered: replayed?.notes.answered ?? 0,
    identical: replayed ? divergences.length === 0 : null,
    divergence: divergences[0] ?? null,
    divergences,
    changed_inputs: changed,
    summary,
  };
}
