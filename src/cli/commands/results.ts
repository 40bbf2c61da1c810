import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `mso apply`: bring a run's result into the user's branch. */
export function registerResults(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description("bring a run's result (its final node's branch) into your branch by a merge, or write it as a patch")
    .argument('<run-id>')
    .option('--onto <branch>', 'merge into this branch (checked out first; default: the current branch)')
    .option('--patch <file>', 'write the result as a patch (git diff from the run base) instead of merging')
    .option('--node <id>', 'the final node to apply when the run has several')
    .action(async (runId: string, o: { onto?: string; patch?: string; node?: string }) => {
      const r = await ctx.app().engine.apply(runId, o);
      ctx.done({
        data: r,
        human:
          r.mode === 'patch'
            ? `PATCH ${r.patch} (${r.node} @ ${r.commit.slice(0, 12)}); apply it with: git apply ${r.patch}`
            : `MERGED ${r.node} @ ${r.commit.slice(0, 12)} into ${r.onto ?? 'HEAD'} of ${r.repo} (merge commit ${r.merged?.slice(0, 12)})`,
      });
    });
}
