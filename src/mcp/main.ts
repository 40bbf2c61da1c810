import type { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { MsoApp } from '../app/index.js';
import { BackgroundRuns } from './background.js';
import { HostWire } from './host-wire.js';
import { createMcpServer } from './server.js';

/** How long the server waits for its runs to record their end, by default (MSO_MCP_STOP_GRACE_MS overrides). */
const DEFAULT_STOP_GRACE_MS = 10_000;
/** How long requests in flight get to be answered once the runs have stopped. */
const ANSWER_GRACE_MS = 2_000;

function graceFrom(env: NodeJS.ProcessEnv, log: (line: string) => void): number {
  const raw = env['MSO_MCP_STOP_GRACE_MS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_STOP_GRACE_MS;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 0) return n;
  log(`mso mcp: MSO_MCP_STOP_GRACE_MS=${JSON.stringify(raw)} is not an integer >= 0; using ${DEFAULT_STOP_GRACE_MS}`);
  return DEFAULT_STOP_GRACE_MS;
}

/**
 * Every message the server sends (tool results, resources, errors) passes the app's redactor on its way to the
 * transport: the MCP edge of "secrets never reach an output".
 */
function redactOutgoing(server: McpServer, app: MsoApp): McpServer {
  const connect = server.connect.bind(server);
  server.connect = (transport) => {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => send(app.redactor.value(message), options);
    return connect(transport);
  };
  return server;
}

/**
 * Serves mso over MCP on stdio until the host leaves: stdin ends or closes, the transport closes, or SIGTERM/SIGINT
 * arrives. Then it cancels the runs it started (each recorded as cancelled with the reason `host disconnected (…)`,
 * agents' process groups ended, resumable later), answers or fails every request in flight, and returns within a
 * bounded grace; a watchdog exits the process if anything still hangs. Nothing but JSON-RPC goes to stdout.
 * Returns the exit code: 0 when the host closed the connection, 130 on SIGINT, 143 on SIGTERM.
 */
export async function serveMcp(app: MsoApp, version: string): Promise<number> {
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const grace = graceFrom(process.env, log);
  const background = new BackgroundRuns(log);
  let gone: (why: string) => void = () => undefined;
  const left = new Promise<string>((resolve) => {
    let once = false;
    gone = (why) => {
      if (once) return;
      once = true;
      resolve(why);
    };
  });
  const wire = new HostWire(process.stdin, process.stdout, (why) => gone(why), log);
  const onSignal = (signal: NodeJS.Signals): void => gone(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const handle = serveStdio(() => redactOutgoing(createMcpServer(app, version, background), app), {
    transport: wire,
    onerror: (e) => log(`mso mcp: ${e.message}`),
  });
  const why = await left;
  const reason = `host disconnected (${why})`;
  // Whatever happens below, the process ends: a run or request that does not stop in time must not orphan us.
  const watchdog = setTimeout(
    () => {
      log(`mso mcp: did not stop within ${grace + ANSWER_GRACE_MS + 3_000} ms; exiting`);
      process.exit(1);
    },
    grace + ANSWER_GRACE_MS + 3_000,
  );
  watchdog.unref();
  wire.beginStopping(reason);
  const live = background.live;
  if (live > 0) log(`mso mcp: ${reason}: cancelling ${live} run(s) started here (resumable with mso resume)`);
  if (!(await background.stopAll(reason, grace)))
    log(`mso mcp: some runs did not record their end within ${grace} ms; mso resume will reclaim them`);
  await wire.finish(ANSWER_GRACE_MS);
  await handle.close();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return why === 'SIGINT' ? 130 : why === 'SIGTERM' ? 143 : 0;
}
