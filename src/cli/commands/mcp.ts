import { Option, type Command } from 'commander';
import { InternalError, UsageError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';

interface HostOptions {
  claude?: boolean;
  codex?: boolean;
  scope: 'project' | 'user';
}

function hostOf(o: HostOptions): 'claude' | 'codex' {
  if (Boolean(o.claude) === Boolean(o.codex)) throw new UsageError('give --claude or --codex');
  return o.claude ? 'claude' : 'codex';
}

const hostOptions = (cmd: Command): Command =>
  cmd
    .option('--claude', 'Claude Code (.mcp.json, or ~/.claude.json with --scope user)')
    .option('--codex', 'Codex (~/.codex/config.toml)')
    .addOption(new Option('--scope <scope>', 'Claude Code scope').choices(['project', 'user']).default('project'));

/** `mso mcp` (stdio server), `mso mcp install --claude|--codex` and `mso mcp uninstall`. */
export function registerMcp(program: Command, ctx: CliContext, version: string): void {
  const mcp = program
    .command('mcp')
    .description(
      'run the MCP server on stdio (tools: orchestrate, run_status, run_cancel, run_resume, decide, design, tickets, run_explain, run_replay, audit_query, observe)',
    )
    .action(async () => {
      // The MCP SDK is loaded only for this command, not by every other command's start-up.
      const { serveMcp } = await import('../../mcp/index.js');
      const exitCode = await serveMcp(ctx.app(), version);
      ctx.done({ data: null, human: '', streamed: true, exitCode });
    });
  hostOptions(
    mcp
      .command('install')
      .description(
        "add this installation's MCP server (absolute node + bin/mso.js, this workspace) to Claude Code's or Codex's config; again = replace",
      ),
  )
    .option('--print', 'print the entry instead of writing it')
    .action(async (o: HostOptions & { print?: boolean }) => {
      const host = hostOf(o);
      if (!ctx.io.launcher) throw new InternalError('this CLI was started without a launcher (node and entry paths)');
      const r = await ctx
        .app()
        .installMcp({ host, scope: o.scope, print: Boolean(o.print), launcher: ctx.io.launcher });
      if (r.written) ctx.done({ data: { host: r.host, file: r.file, written: true }, human: `WROTE ${r.file}` });
      else ctx.done({ data: { host: r.host, file: r.file, entry: r.entry }, human: r.entry });
    });
  hostOptions(
    mcp.command('uninstall').description('remove the entry `mso mcp install` added, and nothing else of the config'),
  ).action(async (o: HostOptions) => {
    const r = await ctx.app().uninstallMcp({ host: hostOf(o), scope: o.scope });
    ctx.done({
      data: r,
      human: r.file_deleted
        ? `REMOVED mso from ${r.file} (nothing else was left: file deleted)`
        : r.removed
          ? `REMOVED mso from ${r.file}`
          : `no mso entry in ${r.file}: nothing to do`,
    });
  });
}
