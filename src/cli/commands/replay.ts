import type { Command } from 'commander';
import type { ReplayReport, RunDiff, TimelineEntry } from '../../app/index.js';
import type { CliContext } from '../context.js';
import { runExit } from '../io.js';

function renderReplay(r: ReplayReport): string[] {
  const lines = [
    `REPLAY ${r.run_id} of ${r.replay_of} (${r.mode}${r.from ? `, from ${r.from}` : ''}): ${r.summary.status}`,
    ...(r.reused.length ? [`reused: ${r.reused.join(', ')}`] : []),
    ...(r.mode === 'offline' ? [`answered from the record: ${r.answered} calls`] : []),
    ...(r.changed_inputs.length ? [`changed since the record: ${r.changed_inputs.join(', ')}`] : []),
  ];
  if (r.identical === true) lines.push('IDENTICAL: every node outcome, ticket and tree hash equals the record');
  if (r.divergence) {
    const d = r.divergence;
    lines.push(`DIVERGED at node ${d.node}: ${d.field} expected ${d.expected ?? '-'}, actual ${d.actual ?? '-'}`);
    for (const n of d.notes) lines.push(`  ${n}`);
    if (r.divergences.length > 1) lines.push(`(${r.divergences.length - 1} more diverging nodes after it)`);
  }
  return lines;
}

const timelineLine = (e: TimelineEntry): string =>
  `${e.at.slice(11, 23)} ${(e.node ?? '-').padEnd(14)} ${e.kind.padEnd(10)} ${e.text}  [${e.refs.join(' ')}]`;

function renderDiff(d: RunDiff): string[] {
  const lines = [`DIFF ${d.a} → ${d.b}`];
  const p = d.plan;
  for (const n of p.nodes_added) lines.push(`+ node ${n}`);
  for (const n of p.nodes_removed) lines.push(`- node ${n}`);
  for (const e of p.edges_added) lines.push(`+ edge ${e}`);
  for (const e of p.edges_removed) lines.push(`- edge ${e}`);
  for (const c of p.nodes_changed)
    lines.push(`~ ${c.node}.${c.field}: ${JSON.stringify(c.a)} → ${JSON.stringify(c.b)}`);
  for (const n of d.nodes.filter((x) => x.differs.length)) {
    const f = (x: typeof n.a): string =>
      x
        ? `${x.state} ${x.output_hash?.slice(0, 12) ?? '-'} $${x.cost_usd} ${x.duration_ms ?? '-'}ms ${x.agent ?? '-'}`
        : 'absent';
    lines.push(`  ${n.node}: ${f(n.a)}  |  ${f(n.b)}  (${n.differs.join(', ')})`);
  }
  for (const e of d.environment) lines.push(`env ${e.field}: ${JSON.stringify(e.a)} → ${JSON.stringify(e.b)}`);
  if (d.proposals.only_a.length) lines.push(`proposals only in ${d.a}: ${d.proposals.only_a.join(', ')}`);
  if (d.proposals.only_b.length) lines.push(`proposals only in ${d.b}: ${d.proposals.only_b.join(', ')}`);
  lines.push(
    `cost $${d.totals.a.cost_usd.toFixed(4)} → $${d.totals.b.cost_usd.toFixed(4)}; duration ${d.totals.a.duration_ms}ms → ${d.totals.b.duration_ms}ms`,
  );
  return lines;
}

/** `mso timeline | replay | diff`: explain, reproduce and compare runs. */
export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('timeline')
    .description(
      'a run in execution order with the decision context of each step, each line pointing to its audit rows',
    )
    .argument('<run-id>')
    .action(async (runId: string) => {
      const t = await ctx.app().explain.timeline(runId);
      ctx.done({ data: t, human: t.entries.map(timelineLine) });
    });
  program
    .command('replay')
    .description(
      'replay a run as a new linked run: --offline feeds every agent call its recorded response and checks outcomes, tickets and tree hashes; --from NODE reruns NODE and its descendants',
    )
    .argument('<run-id>')
    .option('--offline', 'answer every agent call from the record; no provider or CLI is called')
    .option('--from <node>', 'reuse the record for what NODE does not depend on; run NODE and its descendants again')
    .option('--as <run-id>', 'the id of the new run')
    .option('--allow-changed', 'replay even when the plan or policy changed since the record')
    .action(async (runId: string, o: { offline?: boolean; from?: string; as?: string; allowChanged?: boolean }) => {
      const r = await ctx.app().engine.replay(runId, { ...o, signal: ctx.io.signal });
      // Offline, success is reproducing the record (a failed run replayed identically is a success); live
      // (--from), the replayed run must complete.
      ctx.done({
        data: r,
        human: renderReplay(r),
        exitCode: r.identical !== null ? (r.identical ? 0 : 1) : runExit(r.summary.status),
      });
    });
  program
    .command('explain')
    .description(
      'why a run went as it did: what reproduces it (provenance) and its timeline; --compare-to RUN adds how it differs from that run',
    )
    .argument('<run-id>')
    .option('--compare-to <run-id>', 'another run: plan, outcome, environment and proposal differences from it')
    .action(async (runId: string, o: { compareTo?: string }) => {
      const e = await ctx.app().explain.explain(runId, o.compareTo);
      const p = e.provenance;
      ctx.done({
        data: e,
        human: [
          `RUN ${e.run_id}: mso ${p.mso_version}, node ${p.runtime.node}, from ${p.base_sha.slice(0, 12)} of ${p.repo}`,
          ...Object.entries(p.agents).map(
            ([name, a]) => `agent ${name}: ${[a.kind, a.command, a.model].filter(Boolean).join(' ')}`,
          ),
          '',
          ...e.timeline.map(timelineLine),
          ...(e.diff ? ['', ...renderDiff(e.diff)] : []),
        ],
      });
    });
  program
    .command('diff')
    .description(
      'plan, outcome, duration, cost and output-hash differences between two runs, and the proposals that separate them',
    )
    .argument('<run-a>')
    .argument('<run-b>')
    .action(async (a: string, b: string) => {
      const d = await ctx.app().explain.diff(a, b);
      ctx.done({ data: d, human: renderDiff(d) });
    });
}
