import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { MsoApp } from '../app/index.js';
import { BackgroundRuns, createMcpServer } from './server.js';

/**
 * Serves mso over MCP on stdio until the host closes stdin or sends SIGTERM/SIGINT. Nothing but JSON-RPC is written
 * to stdout: logs go to stderr. Runs still going when the host leaves are cancelled cleanly (agents stopped, state
 * recorded), so a later server resumes them with `run_resume`.
 */
export async function serveMcp(app: MsoApp, version: string): Promise<void> {
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const background = new BackgroundRuns(log);
  const handle = serveStdio(() => createMcpServer(app, version, background));
  const signals = ['SIGTERM', 'SIGINT'] as const;
  let leave = (): void => {};
  await new Promise<void>((resolve) => {
    leave = resolve;
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    for (const s of signals) process.once(s, resolve);
  });
  for (const s of signals) process.off(s, leave);
  await background.stopAll();
  await handle.close();
}
