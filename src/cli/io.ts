import { fileURLToPath } from 'node:url';
import { EXIT_WAITING_FOR_HUMAN } from '../contracts/light.js';
import { liveGroupCount, signalLiveGroups } from '../app/light.js';

/** What the CLI touches of the outside world; `nodeIo()` gives the real process, tests give buffers. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly isTTY: boolean;
  /** The terminal's size, for the live progress view (TTY only). */
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
  /** Aborted on SIGINT/SIGTERM, for commands that run until stopped (`--follow`). */
  readonly signal?: AbortSignal;
  /** How this installation is started (absolute Node binary and `bin/mso.js`), for `mso mcp install`. */
  readonly launcher?: { readonly node: string; readonly entry: string };
}

/** Exit code of a command stopped by SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** Waits `ms`, or less when `signal` aborts (a watch loop's pause: its listener goes with it, none piles up). */
export async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  const { setTimeout: delay } = await import('node:timers/promises');
  await delay(ms, undefined, signal ? { signal } : undefined).catch(() => undefined);
}

/** Exit code of a run-like outcome: 0 completed, 3 waiting for a person, 130 cancelled, 1 otherwise. */
export function runExit(status: string): number {
  if (status === 'completed') return 0;
  if (status === 'awaiting_human') return EXIT_WAITING_FOR_HUMAN;
  if (status === 'cancelled') return EXIT_INTERRUPTED;
  return 1;
}

/**
 * A process stream that goes quiet once its reader is gone: `mso audit export | head` closes the pipe, and the
 * EPIPE that follows ends the output, not the process (no stack trace; the command's own exit code stands).
 * Commands that run until stopped (`--follow`) are stopped through `onClosed`.
 */
function quietOnClose(stream: NodeJS.WriteStream, onClosed: () => void): (text: string) => void {
  let open = true;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    open = false;
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') onClosed();
  });
  return (text) => {
    if (open && !stream.destroyed) stream.write(text);
  };
}

/** The real process streams, environment and working directory. */
export function nodeIo(): CliIo {
  const controller = new AbortController();
  // The reason is what a run stopped this way records.
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts === 1) {
      // Agents still running are ended gracefully (TERM, grace, KILL) and the run recorded as cancelled: say so.
      if (liveGroupCount() > 0)
        process.stderr.write(
          '\nmso: stopping: ending the agents and recording the run (Ctrl-C again to stop at once)\n',
        );
      controller.abort('interrupted (SIGINT)');
      return;
    }
    // A second Ctrl-C while that is under way: every agent group killed now, no orphan left; the run then shows
    // `interrupted` (its coordinator is gone) and `mso resume` goes on from the audit log.
    signalLiveGroups('SIGKILL');
    process.stderr.write(
      '\nmso: stopped at once (agents killed); mso status shows the run interrupted; mso resume goes on\n',
    );
    process.exit(EXIT_INTERRUPTED);
  });
  process.once('SIGTERM', () => controller.abort('interrupted (SIGTERM)'));
  return {
    signal: controller.signal,
    stdout: quietOnClose(process.stdout, () => controller.abort('stdout closed')),
    stderr: quietOnClose(process.stderr, () => undefined),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
    // dist/cli/io.js → bin/mso.js of the same installation.
    launcher: { node: process.execPath, entry: fileURLToPath(new URL('../../bin/mso.js', import.meta.url)) },
    columns: process.stderr.columns,
    rows: process.stderr.rows,
  };
}
