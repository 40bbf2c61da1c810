import { dirname } from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { UsageError } from '../../contracts/index.js';
import { claudeInstall, codexInstall, serveMcp } from '../../mcp/index.js';
import type { CliContext } from '../context.js';

/** `mso mcp` (stdio server) and `mso mcp install --claude|--codex`. */
export function registerMcp(program: Command, ctx: CliContext, version: string): void {
  const mcp = program
    .command('mcp')
    .description(
      'run the MCP server on stdio (tools: orchestrate, run_status, run_cancel, decide, design, tickets, audit_query, observe)',
    )
    .action(async () => {
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
      const s = ctx.app().settings;
      const env = {
        MSO_WORKSPACE_ROOT: s.workspaceRoot,
        MSO_OBSERVATION_ROOT: s.observationRoot,
        MSO_OBSERVER_ID: s.observerId,
      };
      const plan = o.claude ? claudeInstall(o.scope, ctx.io.cwd, env) : codexInstall(env);
      if (o.print) {
        ctx.done({ data: { host: plan.host, file: plan.file, entry: plan.entry }, human: plan.entry });
        return;
      }
      const current = await readFile(plan.file, 'utf8').catch(() => undefined);
      await mkdir(dirname(plan.file), { recursive: true });
      await writeFile(plan.file, plan.merge(current));
      ctx.done({ data: { host: plan.host, file: plan.file, written: true }, human: `WROTE ${plan.file}` });
    });
}
