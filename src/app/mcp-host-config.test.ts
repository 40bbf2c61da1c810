import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  addToClaudeJson,
  addToCodexToml,
  removeFromClaudeJson,
  removeFromCodexToml,
  type McpServerEntry,
} from './mcp-host-config.js';

const entry: McpServerEntry = {
  command: '/opt/node 24/bin/node',
  args: ['/opt/mso/bin/mso.js', 'mcp'],
  env: { MSO_WORKSPACE_ROOT: '/w "quoted"', MSO_OBSERVATION_ROOT: '/o' },
};
const other: McpServerEntry = { ...entry, command: '/usr/bin/node' };

describe('Codex config.toml', () => {
  const user = [
    '# my settings',
    'model = "o4"',
    '',
    '[mcp_servers.other]',
    'command = "x" # keep me',
    '',
    '[mcp_servers.other.env]',
    'A = "1"',
    '',
    '[profiles.fast]',
    'prompt = """',
    '[mcp_servers.mso]',
    'not a header"""',
    '',
  ].join('\n');

  it('adds one entry, keeps every other line, and replaces it on a second install', () => {
    const once = addToCodexToml('c.toml', user, entry).text as string;
    const twice = addToCodexToml('c.toml', once, other).text as string;
    for (const text of [once, twice]) {
      // One table, plus the look-alike line inside the multi-line string, which must survive.
      expect(text.match(/^\[mcp_servers\.mso\]$/gm)).toHaveLength(2);
      expect(text.match(/^\[mcp_servers\.mso\.env\]$/gm)).toHaveLength(1);
      expect(text).toContain('command = "x" # keep me');
      expect(text).toContain('# my settings');
    }
    const doc = parse(twice) as { mcp_servers: Record<string, unknown>; profiles: { fast: { prompt: string } } };
    expect(doc.mcp_servers['mso']).toEqual({ command: '/usr/bin/node', args: entry.args, env: entry.env });
    expect(doc.mcp_servers['other']).toEqual({ command: 'x', env: { A: '1' } });
    expect(doc.profiles.fast.prompt).toContain('[mcp_servers.mso]');
    expect(addToCodexToml('c.toml', twice, other)).toEqual({ text: twice, changed: false });
  });

  it('uninstall restores the text it started from; a file it created is removed', () => {
    const installed = addToCodexToml('c.toml', user, entry).text as string;
    expect(removeFromCodexToml('c.toml', installed)).toEqual({ text: user, changed: true });
    const fresh = addToCodexToml('c.toml', undefined, entry).text as string;
    expect(removeFromCodexToml('c.toml', fresh)).toEqual({ text: null, changed: true });
    expect(removeFromCodexToml('c.toml', user)).toEqual({ text: user, changed: false });
  });

  it('repairs the duplicate env table an older install left, and refuses a broken or inline config', () => {
    const broken = `${user}\n[mcp_servers.mso]\ncommand = "npx"\n[mcp_servers.mso.env]\nA = "1"\n[mcp_servers.mso.env]\nA = "1"\n`;
    expect(() => parse(broken)).toThrow();
    const fixed = addToCodexToml('c.toml', broken, entry).text as string;
    expect((parse(fixed) as { mcp_servers: Record<string, unknown> }).mcp_servers['mso']).toMatchObject({
      command: entry.command,
    });
    expect(() => addToCodexToml('c.toml', 'model = \n', entry)).toThrow(/c\.toml.*not valid TOML/);
    expect(() => addToCodexToml('c.toml', '[mcp_servers]\nmso = { command = "x" }\n', entry)).toThrow(/inline/);
  });
});

describe('Claude Code JSON', () => {
  const user = `${JSON.stringify({ theme: 'dark', mcpServers: { other: { command: 'x' } } }, null, 2)}\n`;

  it('adds one entry beside the others, idempotently, and uninstall restores the file', () => {
    const once = addToClaudeJson('.mcp.json', user, entry).text as string;
    const twice = addToClaudeJson('.mcp.json', once, entry);
    expect(twice).toEqual({ text: once, changed: false });
    const doc = JSON.parse(once) as { theme: string; mcpServers: Record<string, unknown> };
    expect(Object.keys(doc.mcpServers).sort()).toEqual(['mso', 'other']);
    expect(doc.mcpServers['mso']).toEqual({ type: 'stdio', command: entry.command, args: entry.args, env: entry.env });
    expect(removeFromClaudeJson('.mcp.json', once)).toEqual({ text: user, changed: true });
    const fresh = addToClaudeJson('.mcp.json', undefined, entry).text as string;
    expect(removeFromClaudeJson('.mcp.json', fresh)).toEqual({ text: null, changed: true });
    const onlyTheme = `${JSON.stringify({ theme: 'dark' }, null, 2)}\n`;
    const added = addToClaudeJson('.mcp.json', onlyTheme, entry).text as string;
    expect(removeFromClaudeJson('.mcp.json', added)).toEqual({ text: onlyTheme, changed: true });
  });

  it('refuses a file that is not a JSON object, naming it', () => {
    expect(() => addToClaudeJson('/h/.claude.json', '{ nope', entry)).toThrow(/\/h\/\.claude\.json.*not valid JSON/);
    expect(() => addToClaudeJson('/h/.claude.json', '{"mcpServers": []}', entry)).toThrow(/mcpServers/);
  });
});
