import { Option, type Command } from 'commander';
import { UsageError } from '../../contracts/index.js';
import type { CliContext } from '../context.js';

/** `mso mcp` (stdio server) and `mso mcp install --claude|--codex`. */
export function registerMcp(program: Command, ctx: CliContext, version: string): void {
  const mcp = program
    .command('mcp')
    .description(
      'run the MCP server on stdio (tools: orchestrate, run_status, run_cancel, decide, design, tickets, audit_query, observe)',
    )
    .action(async () => {
      // The MCP SDK is loaded only for this command, not by every other command's start-up.
      const { serveMcp } = await import('../../mcp/index.js');
      await serveMcp(ctx.app(), version);
      ctx.done({ data: null, human: '', streamed: true });
    });
  mcp
    .command('install')
    .description('write (or --print) the MCP configuration entry of this server for Claude Code or Codex')
    .option('--claude', 'Claude Code')
    .option('--codex', 'Codex')
    .addOption(new Option('--scope <scope>', 'Claude Code scope').choices(['project', 'user']).default('project'))
    .option('--print', 'print the entry instead of writing it')
    .action(async (o: { claude?: boolean; codex?: boolean; scope: 'project' | 'user'; print?: boolean }) => {
      if (Boolean(o.claude) === Boolean(o.codex)) throw new UsageError('give --claude or --codex');
      const r = await ctx
        .app()
        .installMcp({ host: o.claude ? 'claude' : 'codex', scope: o.scope, print: Boolean(o.print) });
      if (r.written) ctx.done({ data: { host: r.host, file: r.file, written: true }, human: `WROTE ${r.file}` });
      else ctx.done({ data: { host: r.host, file: r.file, entry: r.entry }, human: r.entry });
    });
}
