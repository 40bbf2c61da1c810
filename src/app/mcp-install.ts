import { isAbsolute, join } from 'node:path';
import { InvalidArgumentError } from '../contracts/index.js';
import { readTextIfExists, writeFileAtomic } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import {
  addToClaudeJson,
  addToCodexToml,
  claudeEntryText,
  codexEntryText,
  removeFromClaudeJson,
  removeFromCodexToml,
  type ConfigEdit,
  type McpServerEntry,
} from './mcp-host-config.js';
import type { ResolvedSettings } from './settings.js';

export type McpHost = 'claude' | 'codex';

/** How this installation of mso is started: given by the entry point, which alone knows its own paths. */
export interface McpLauncher {
  /** The absolute path of the Node binary running mso now (`process.execPath`). */
  readonly node: string;
  /** The absolute path of this installation's `bin/mso.js`. */
  readonly entry: string;
}

export interface McpInstallRequest {
  readonly host: McpHost;
  /** Claude Code only: `.mcp.json` of the project, or `~/.claude.json`. */
  readonly scope: 'project' | 'user';
  /** Return the entry without writing it. */
  readonly print: boolean;
  readonly launcher: McpLauncher;
}

export interface McpInstallResult {
  readonly host: McpHost;
  readonly file: string;
  readonly entry: string;
  readonly written: boolean;
}

export interface McpUninstallRequest {
  readonly host: McpHost;
  readonly scope: 'project' | 'user';
}

export interface McpUninstallResult {
  readonly host: McpHost;
  readonly file: string;
  /** False when the file held no mso entry (nothing was written). */
  readonly removed: boolean;
  /** True when the file held nothing else and was deleted. */
  readonly file_deleted: boolean;
}

function configFile(deps: AppDeps, settings: ResolvedSettings, host: McpHost, scope: 'project' | 'user'): string {
  if (host === 'claude' && scope === 'project') return join(settings.cwd, '.mcp.json');
  const home = deps.env['HOME'];
  if (!home)
    throw new InvalidArgumentError(
      'HOME',
      'is not set, so the user-level config file cannot be found; set HOME (or use --claude --scope project)',
    );
  return host === 'claude' ? join(home, '.claude.json') : join(home, '.codex', 'config.toml');
}

/** Writes the edit atomically, keeping the file's permissions (`~/.claude.json` may hold tokens), or removes it. */
async function apply(deps: AppDeps, file: string, edit: ConfigEdit): Promise<void> {
  if (!edit.changed) return;
  if (edit.text === null) {
    await deps.fs.rm(file, { force: true });
    return;
  }
  const mode = (await deps.fs.stat(file).catch(() => undefined))?.mode;
  // The user's host config may hold other servers' credentials: rewritten as it is, never redacted.
  await writeFileAtomic(
    deps,
    file,
    edit.text,
    mode === undefined ? { verbatim: true } : { mode: mode & 0o777, verbatim: true },
  );
}

/**
 * Writes (atomically, merged into what the file holds) or just returns the configuration entry that lets Claude Code
 * or Codex start this installation's `mso mcp` on this workspace: the absolute Node binary and entry point, and the
 * workspace and observation roots. Installing again replaces the entry; every other setting in the file is kept.
 */
export async function installMcpEntry(
  deps: AppDeps,
  settings: ResolvedSettings,
  req: McpInstallRequest,
): Promise<McpInstallResult> {
  for (const [field, path] of [
    ['launcher.node', req.launcher.node],
    ['launcher.entry', req.launcher.entry],
  ] as const)
    if (!isAbsolute(path)) throw new InvalidArgumentError(field, `${path} is not an absolute path`);
  // No observer id: each person starting the host is their own observer ($MSO_OBSERVER_ID, $USER).
  const entry: McpServerEntry = {
    command: req.launcher.node,
    args: [req.launcher.entry, 'mcp'],
    env: { MSO_WORKSPACE_ROOT: settings.workspaceRoot, MSO_OBSERVATION_ROOT: settings.observationRoot },
  };
  const file = configFile(deps, settings, req.host, req.scope);
  const text = req.host === 'claude' ? claudeEntryText(entry) : codexEntryText(entry);
  if (req.print) return { host: req.host, file, entry: text, written: false };
  const current = await readTextIfExists(deps.fs, file);
  const edit = req.host === 'claude' ? addToClaudeJson(file, current, entry) : addToCodexToml(file, current, entry);
  await apply(deps, file, edit);
  return { host: req.host, file, entry: text, written: true };
}

/** Removes exactly the entry `installMcpEntry` adds (and the file, if that leaves it empty); nothing else changes. */
export async function uninstallMcpEntry(
  deps: AppDeps,
  settings: ResolvedSettings,
  req: McpUninstallRequest,
): Promise<McpUninstallResult> {
  const file = configFile(deps, settings, req.host, req.scope);
  const current = await readTextIfExists(deps.fs, file);
  const edit = req.host === 'claude' ? removeFromClaudeJson(file, current) : removeFromCodexToml(file, current);
  await apply(deps, file, edit);
  return { host: req.host, file, removed: edit.changed, file_deleted: edit.changed && edit.text === null };
}
