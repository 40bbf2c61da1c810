import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { MSO_BIN } from './cli.js';

/** The official MCP client connected to a fresh `mso mcp` server process (stdio) with this env, in this folder. */
export async function connectMso(
  name: string,
  where: { readonly env: Record<string, string>; readonly cwd: string },
): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [MSO_BIN, 'mcp'],
      env: where.env,
      cwd: where.cwd,
      stderr: 'pipe',
    }),
  );
  return client;
}
