import { isDeepStrictEqual } from 'node:util';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { InvalidArtifactError } from '../contracts/index.js';

/** The name of mso's entry in a host's MCP server list. */
export const MCP_SERVER_NAME = 'mso';

/** How a host starts the server: absolute Node binary, absolute entry point, and the workspace it serves. */
export interface McpServerEntry {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** A host config edit: the new text, or null when the file is left empty and should be removed. */
export interface ConfigEdit {
  readonly text: string | null;
  readonly changed: boolean;
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- Claude Code: JSON (`.mcp.json` or `~/.claude.json`, key `mcpServers`) ----

function claudeValue(entry: McpServerEntry): Doc {
  return { type: 'stdio', command: entry.command, args: [...entry.args], env: { ...entry.env } };
}

/** The Claude Code entry as it would be written, for `--print`. */
export function claudeEntryText(entry: McpServerEntry): string {
  return JSON.stringify({ mcpServers: { [MCP_SERVER_NAME]: claudeValue(entry) } }, null, 2);
}

function parseClaude(file: string, text: string): Doc {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidArtifactError(file, [{ path: '(file)', message: `is not valid JSON: ${(e as Error).message}` }]);
  }
  if (!isObject(doc)) throw new InvalidArtifactError(file, [{ path: '(file)', message: 'is not a JSON object' }]);
  if (doc['mcpServers'] !== undefined && !isObject(doc['mcpServers']))
    throw new InvalidArtifactError(file, [{ path: 'mcpServers', message: 'is not an object' }]);
  return doc;
}

/** Sets `mcpServers.mso` in a Claude Code config, keeping every other key; idempotent. */
export function addToClaudeJson(file: string, current: string | undefined, entry: McpServerEntry): ConfigEdit {
  const doc = current === undefined || current.trim() === '' ? {} : parseClaude(file, current);
  const servers = (doc['mcpServers'] as Doc | undefined) ?? {};
  const value = claudeValue(entry);
  if (isDeepStrictEqual(servers[MCP_SERVER_NAME], value) && current !== undefined)
    return { text: current, changed: false };
  return {
    text: `${JSON.stringify({ ...doc, mcpServers: { ...servers, [MCP_SERVER_NAME]: value } }, null, 2)}\n`,
    changed: true,
  };
}

/** Removes `mcpServers.mso`, then `mcpServers` if that left it empty, then the file if nothing is left. */
export function removeFromClaudeJson(file: string, current: string | undefined): ConfigEdit {
  if (current === undefined) return { text: null, changed: false };
  const doc = parseClaude(file, current);
  const servers = doc['mcpServers'] as Doc | undefined;
  if (!servers || !(MCP_SERVER_NAME in servers)) return { text: current, changed: false };
  const { [MCP_SERVER_NAME]: _removed, ...rest } = servers;
  const { mcpServers: _old, ...others } = doc;
  const next = Object.keys(rest).length > 0 ? { ...doc, mcpServers: rest } : others;
  return { text: Object.keys(next).length > 0 ? `${JSON.stringify(next, null, 2)}\n` : null, changed: true };
}

// ---- Codex: TOML (`~/.codex/config.toml`, tables `[mcp_servers.mso]` and `[mcp_servers.mso.env]`) ----

function codexValue(entry: McpServerEntry): Doc {
  return {
    command: entry.command,
    args: [...entry.args],
    ...(Object.keys(entry.env).length > 0 ? { env: { ...entry.env } } : {}),
  };
}

/** The Codex tables as they would be written, for `--print`. */
export function codexEntryText(entry: McpServerEntry): string {
  return stringifyToml({ mcp_servers: { [MCP_SERVER_NAME]: codexValue(entry) } }).trim();
}

function tryToml(text: string): { ok: true; doc: Doc } | { ok: false; message: string } {
  try {
    // Plain objects (smol-toml's tables have no prototype), so deep comparisons see only the values.
    return { ok: true, doc: JSON.parse(JSON.stringify(parseToml(text))) as Doc };
  } catch (e) {
    return { ok: false, message: (e as Error).message.split('\n')[0] ?? 'invalid TOML' };
  }
}

/** The dotted path of a `[table]` header line, or null when the line is not one. */
function headerPath(line: string): string[] | null {
  const m = /^\s*\[\[?([^\]]*)\]\]?\s*(?:#.*)?$/.exec(line);
  if (!m) return null;
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  const body = m[1] ?? '';
  let at = 0;
  while (at < body.length) {
    re.lastIndex = at;
    const k = re.exec(body);
    if (!k) return null;
    parts.push(k[1] !== undefined ? (JSON.parse(`"${k[1]}"`) as string) : (k[2] ?? k[3] ?? ''));
    at = re.lastIndex;
  }
  return parts;
}

/**
 * Removes every `[mcp_servers.mso]` and `[mcp_servers.mso.*]` table from the text, keeping every other line (and so
 * the user's comments and layout). Lines inside multi-line strings are never taken for headers.
 */
function stripCodexTables(text: string): string {
  const out: string[] = [];
  let dropping = false;
  let inString: '"""' | "'''" | null = null;
  for (const line of text.split('\n')) {
    if (inString === null) {
      const path = headerPath(line);
      if (path) dropping = path[0] === 'mcp_servers' && path[1] === MCP_SERVER_NAME;
    }
    if (!dropping) out.push(line);
    for (const m of line.matchAll(/"""|'''/g)) {
      const d = m[0] as '"""' | "'''";
      if (inString === null) inString = d;
      else if (inString === d) inString = null;
    }
  }
  return out.join('\n');
}

const withoutMso = (doc: Doc): Doc => {
  const servers = doc['mcp_servers'];
  if (!isObject(servers) || !(MCP_SERVER_NAME in servers)) return doc;
  const { [MCP_SERVER_NAME]: _m, ...rest } = servers;
  const { mcp_servers: _s, ...others } = doc;
  return Object.keys(rest).length > 0 ? { ...doc, mcp_servers: rest } : others;
};

/** The text without mso's tables, checked by parsing: everything else must be exactly what it was. */
function codexWithoutMso(file: string, current: string): string {
  const before = tryToml(current);
  const stripped = stripCodexTables(current).trimEnd();
  const after = tryToml(stripped);
  if (!after.ok)
    throw new InvalidArtifactError(file, [
      {
        path: '(file)',
        message: `is not valid TOML: ${before.ok ? after.message : (before as { message: string }).message}`,
      },
    ]);
  const servers = after.doc['mcp_servers'];
  if (isObject(servers) && MCP_SERVER_NAME in servers)
    throw new InvalidArtifactError(file, [
      {
        path: `mcp_servers.${MCP_SERVER_NAME}`,
        message: 'is defined inline (not as a [mcp_servers.mso] table); remove it by hand, then run the command again',
      },
    ]);
  // A file that did not parse only because of mso's own duplicate tables is repaired; any other difference is a bug.
  if (before.ok && !isDeepStrictEqual(withoutMso(before.doc), after.doc))
    throw new InvalidArtifactError(file, [
      { path: '(file)', message: 'could not be edited without changing other settings' },
    ]);
  return stripped;
}

/** Replaces mso's tables in a Codex config with the given entry, keeping the rest of the text as it was; idempotent. */
export function addToCodexToml(file: string, current: string | undefined, entry: McpServerEntry): ConfigEdit {
  const rest = current === undefined ? '' : codexWithoutMso(file, current);
  const text = `${rest === '' ? '' : `${rest}\n\n`}${codexEntryText(entry)}\n`;
  const check = tryToml(text);
  const written = check.ok ? (check.doc['mcp_servers'] as Doc | undefined)?.[MCP_SERVER_NAME] : undefined;
  if (!check.ok || !isDeepStrictEqual(written, codexValue(entry)))
    throw new InvalidArtifactError(file, [
      { path: `mcp_servers.${MCP_SERVER_NAME}`, message: 'could not be written so that the file still parses' },
    ]);
  return { text, changed: text !== current };
}

/** Removes mso's tables from a Codex config (and the file, when nothing else is left). */
export function removeFromCodexToml(file: string, current: string | undefined): ConfigEdit {
  if (current === undefined) return { text: null, changed: false };
  const servers = tryToml(current);
  const present = !servers.ok || MCP_SERVER_NAME in ((servers.doc['mcp_servers'] as Doc | undefined) ?? {});
  if (!present) return { text: current, changed: false };
  const rest = codexWithoutMso(file, current);
  return { text: rest === '' ? null : `${rest}\n`, changed: true };
}
