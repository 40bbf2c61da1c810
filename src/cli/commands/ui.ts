import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';
import { EXIT_INTERRUPTED } from '../io.js';

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

/** `mso ui`: the live dashboard. Hono and the page load only when this command runs. */
export function registerUi(program: Command, ctx: CliContext, version: string): void {
  program
    .command('ui')
    .description('live web dashboard: runs, DAG, node diffs, human inbox, timeline, tickets, proposals (Ctrl-C stops)')
    .option('--port <n>', 'port to listen on (0: any free port)', '4317')
    .option(
      '--host <host>',
      'address to bind (a non-loopback host needs an access token: --token, or MSO_UI_TOKEN)',
      '127.0.0.1',
    )
    .option('--token <token>', 'access token (default $MSO_UI_TOKEN, else a fresh random one)')
    .option('--open', 'open the dashboard in the default browser')
    .action(async (o: { port: string; host: string; token?: string; open?: boolean }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InvalidArgumentError('--port', `${o.port} is not a port number`);
      const { startUi } = await import('../../ui/index.js');
      const app = ctx.app();
      const ui = await startUi(app, {
        port,
        host: o.host,
        token: o.token ?? ctx.io.env['MSO_UI_TOKEN'],
        version,
        log: (line) => ctx.log(`mso ui: ${line}`),
      });
      // The token travels in the fragment, which the browser never sends to a server or a log. Its key is `access`,
      // not `token`: every printed line passes the secrets redactor, which blanks any `token=` value.
      const link = `${ui.url}#access=${ui.token}`;
      ctx.io.stdout(`mso ui: ${link}\n`);
      if (o.open) openBrowser(link);
      await new Promise<void>((done) => {
        if (!ctx.io.signal || ctx.io.signal.aborted) done();
        else ctx.io.signal.addEventListener('abort', () => done(), { once: true });
      });
      await ui.close();
      ctx.done({ data: { url: ui.url }, human: '', streamed: true, exitCode: EXIT_INTERRUPTED });
    });
}
