import { dirname, join } from 'node:path';
import { InvalidArgumentError } from '../contracts/index.js';
import { readTextIfExists, writeFileAtomic } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import type { ResolvedSettings } from './settings.js';

/** What `mso mcp install` writes for a host. */
export interface InstallPlan {
  readonly host: 'claude' | 'codex';
  readonly file: string;
  /** The config entry (JSON for Claude Code, TOML for Codex). */
  readonly entry: string;
  /** The file's new content, given its current content. */
  merge(current: string | undefined): string;
}

const ARGS = ['mso', 'mcp'];

/** Claude Code: `.mcp.json` (scope project) or `~/.claude.json` (scope user), `mcpServers.mso` = `npx mso mcp`. */
function claudeInstall(scope: 'project' | 'user', cwd: string, home: string, env: Record<string, string>): InstallPlan {
  const entry = { type: 'stdio', command: 'npx', args: ARGS, env };
  return {
    host: 'claude',
    file: scope === 'project' ? join(cwd, '.mcp.json') : join(home, '.claude.json'),
    entry: JSON.stringify({ mcpServers: { mso: entry } }, null, 2),
    merge(current) {
      const doc = current ? (JSON.parse(current) as Record<string, unknown>) : {};
      const servers = (doc['mcpServers'] as Record<string, unknown> | undefined) ?? {};
      return `${JSON.stringify({ ...doc, mcpServers: { ...servers, mso: entry } }, null, 2)}\n`;
    },
  };
}

/** Codex: `~/.codex/config.toml`, a `[mcp_servers.mso]` table replacing any previous one. */
function codexInstall(home: string, env: Record<string, string>): InstallPlan {
  const table = [
    '[mcp_servers.mso]',
    'command = "npx"',
    `args = [${ARGS.map((a) => JSON.stringify(a)).join(', ')}]`,
    ...(Object.keys(env).length
      ? [
          `env = { ${Object.entries(env)
            .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
            .join(', ')} }`,
        ]
      : []),
  ].join('\n');
  return {
    host: 'codex',
    file: join(home, '.codex', 'config.toml'),
    entry: table,
    merge(current) {
      const without = (current ?? '').replace(/\[mcp_servers\.mso\][\s\S]*?(?=\n\[|$)/, '').trimEnd();
      return `${without ? `${without}\n\n` : ''}${table}\n`;
    },
  };
}

export interface McpInstallRequest {
  readonly host: 'claude' | 'codex';
  /** Claude Code only: `.mcp.json` of the project, or `~/.claude.json`. */
  readonly scope: 'project' | 'user';
  /** Return the entry without writing it. */
  readonly print: boolean;
}

export interface McpInstallResult {
  readonly host: 'claude' | 'codex';
  readonly file: string;
  readonly entry: string;
  readonly written: boolean;
}

/**
 * Writes (atomically, merged into what the file holds) or just returns the configuration entry that lets Claude Code
 * or Codex start `mso mcp` on this workspace.
 */
export async function installMcpEntry(
  deps: AppDeps,
  settings: ResolvedSettings,
  req: McpInstallRequest,
): Promise<McpInstallResult> {
  const env = {
    MSO_WORKSPACE_ROOT: settings.workspaceRoot,
    MSO_OBSERVATION_ROOT: settings.observationRoot,
    MSO_OBSERVER_ID: settings.observerId,
  };
  const home = deps.env['HOME'];
  if (!home && (req.host === 'codex' || req.scope === 'user'))
    throw new InvalidArgumentError(
      'HOME',
      'is not set, so the user-level config file cannot be found; set HOME (or use --claude --scope project)',
    );
  const plan =
    req.host === 'claude' ? claudeInstall(req.scope, settings.cwd, home ?? '', env) : codexInstall(home ?? '', env);
  if (req.print) return { host: plan.host, file: plan.file, entry: plan.entry, written: false };
  const current = await readTextIfExists(deps.fs, plan.file);
  await deps.fs.mkdir(dirname(plan.file), { recursive: true });
  await writeFileAtomic(deps, plan.file, plan.merge(current));
  return { host: plan.host, file: plan.file, entry: plan.entry, written: true };
}
