import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';

/** `mso observe` and `mso proposals list|show|accept|reject`. */
export function registerObserve(program: Command, ctx: CliContext): void {
  program
    .command('observe')
    .description(
      'detect repeated failures, retry spikes, bottlenecks, cost anomalies, deferral loops, hotspots and unstable providers; write callback events and proposals',
    )
    .option('--run-id <id>', 'the run to look at')
    .option('--all', 'every unarchived run')
    .addOption(new Option('--mode <mode>').choices(['scheduled', 'event', 'on_demand', 'batch']).default('on_demand'))
    .option('--since <date>', 'only runs created since this date (with --all)')
    .option('--dry-run', 'print findings, write nothing')
    .action(
      async (o: {
        runId?: string;
        all?: boolean;
        mode: 'scheduled' | 'event' | 'on_demand' | 'batch';
        since?: string;
        dryRun?: boolean;
      }) => {
        const results = await ctx.app().observe.observe(o);
        ctx.done({
          data: { results },
          human: results.flatMap((r) => [
            `${r.run_id}: ${r.findings.length} finding(s), ${r.proposals.length} proposal(s)${o.dryRun ? ' (dry run)' : ''}`,
            ...r.findings.map((f) => `  ${f.severity.toUpperCase()} ${f.kind}: ${f.message}`),
            ...r.proposals.map((p) => `  PROPOSAL ${p.id} (${p.target}): ${p.summary}`),
            ...(r.written[0] ? [`  WROTE ${r.written[0]}`] : []),
          ]),
        });
      },
    );
  const proposals = program
    .command('proposals')
    .description('improvement proposals: reviewable JSON Patches to the design or policy.yaml');
  proposals
    .command('list')
    .addOption(new Option('--status <status>').choices(['pending', 'accepted', 'rejected']))
    .action(async (o: { status?: 'pending' | 'accepted' | 'rejected' }) => {
      const list = await ctx.app().observe.proposals.list(o.status);
      ctx.done({
        data: { proposals: list, count: list.length },
        human: list.length
          ? list.map((p) => `${p.id}  ${p.status.padEnd(9)} ${p.target.padEnd(13)} ${p.summary}`)
          : ['(no proposals)'],
      });
    });
  proposals
    .command('show')
    .argument('<id>')
    .action(async (id: string) => {
      const p = await ctx.app().observe.proposals.show(id);
      ctx.done({ data: p, human: JSON.stringify(p, null, 2) });
    });
  proposals
    .command('accept')
    .description(
      'accept: policy patches apply to policy.yaml now; design patches shape the next run of the same goal or workflow',
    )
    .argument('<id>')
    .action(async (id: string) => {
      const r = await ctx.app().observe.proposals.accept(id);
      ctx.done({
        data: r,
        human: `${r.proposal.id} accepted${r.applied ? `: ${r.applied} updated` : `: applies to the next run of the same ${r.proposal.scope.design_key ? 'goal or workflow' : 'workspace'}`}`,
      });
    });
  proposals
    .command('reject')
    .argument('<id>')
    .option('--reason <text>', 'why the proposal is rejected (recorded with it)')
    .action(async (id: string, o: { reason?: string }) => {
      const p = await ctx.app().observe.proposals.reject(id, o.reason);
      ctx.done({ data: p, human: `${p.id} rejected` });
    });
}
