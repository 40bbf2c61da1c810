import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `mso init`: create both spaces, anchors and policy.yaml (idempotent). */
export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('create the workspace, the observation workspace, their anchors and config/policy.yaml (idempotent)')
    .action(async () => {
      const r = await ctx.app().workspace.init();
      ctx.done({
        data: r,
        human: [
          `workspace    ${r.workspace} (${r.workspace_id})`,
          `observation  ${r.observation} (${r.observation_id})`,
          `policy       ${r.policy_file}`,
        ],
      });
    });
}
