import { homedir } from 'node:os';
import { join } from 'node:path';

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
export function claudeInstall(scope: 'project' | 'user', cwd: string, env: Record<string, string>): InstallPlan {
  const entry = { type: 'stdio', command: 'npx', args: ARGS, env };
  return {
    host: 'claude',
    file: scope === 'project' ? join(cwd, '.mcp.json') : join(homedir(), '.claude.json'),
    entry: JSON.stringify({ mcpServers: { mso: entry } }, null, 2),
    merge(current) {
      const doc = current ? (JSON.parse(current) as Record<string, unknown>) : {};
      const servers = (doc['mcpServers'] as Record<string, unknown> | undefined) ?? {};
      return `${JSON.stringify({ ...doc, mcpServers: { ...servers, mso: entry } }, null, 2)}\n`;
    },
  };
}

/** Codex: `~/.codex/config.toml`, a `[mcp_servers.mso]` table replacing any previous one. */
export function codexInstall(env: Record<string, string>): InstallPlan {
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
    file: join(homedir(), '.codex', 'config.toml'),
    entry: table,
    merge(current) {
      const without = (current ?? '').replace(/\[mcp_servers\.mso\][\s\S]*?(?=\n\[|$)/, '').trimEnd();
      return `${without ? `${without}\n\n` : ''}${table}\n`;
    },
  };
}
