import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `mso workspace status|relink|sync`. */
export function registerWorkspace(program: Command, ctx: CliContext): void {
  const ws = program.command('workspace').description('the workspace and its observation peer: status, relink, sync');
  ws.command('status')
    .description('anchors, peer link, sync suspension and recent relocation events')
    .action(async () => {
      const s = await ctx.app().workspace.status();
      ctx.done({
        data: s,
        human: [
          `workspace    ${s.root}${s.initialized ? ` (${s.workspaceId})` : ' (not initialized: run mso init)'}`,
          `observation  ${s.observationRoot}${s.observationId ? ` (${s.observationId})` : ''}`,
          `observer     ${s.observerId}`,
          `sync         ${s.syncSuspended ? 'SUSPENDED (PEER_REPLACED): run mso workspace relink' : 'ok'}`,
          `policy       ${s.policyFile}`,
          ...(s.events.length
            ? [
                'events:',
                ...s.events.map(
                  (e) => `  ${e.at} ${e.event} ${JSON.stringify({ ...e, event: undefined, at: undefined })}`,
                ),
              ]
            : []),
        ],
      });
    });
  ws.command('relink')
    .description("confirm the observation root in use as this workspace's peer (ends a PEER_REPLACED suspension)")
    .action(async () => {
      const r = await ctx.app().workspace.relink();
      ctx.done({ data: r, human: `linked ${r.workspaceId} <-> ${r.observationId} at ${r.observationRoot}` });
    });
  ws.command('sync')
    .description('mirror one run (or every unarchived run) into the observation workspace, copying only changes')
    .argument('[run-id]')
    .action(async (runId: string | undefined) => {
      const r = await ctx.app().workspace.sync(runId);
      ctx.done({
        data: { synced: r },
        human: r.map((x) =>
          x.skipped
            ? `SKIPPED ${x.run_id}: ${x.skipped}`
            : `SYNCED ${x.run_id}: ${x.copied} copied, ${x.unchanged} unchanged, ${x.removed} removed`,
        ),
      });
    });
}
