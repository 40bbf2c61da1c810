import type { Clock, Proc } from '../../platform/index.js';
import type { Deadlines } from '../types.js';
import {
  DEFAULT_OUTPUT_LIMITS,
  createBoundedTranscript,
  createLineSplitter,
  type OutputLimits,
} from './bounded-output.js';
import { createOutputSpill, type OpenOutputSpill, type SpilledOutput } from './output-spill.js';

export interface SuperviseOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The complete child environment (already allow-listed). */
  readonly env: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. Either way the child never waits on it. */
  readonly stdinText?: string | undefined;
  readonly deadlines?: Deadlines | undefined;
  /** After the terminal line, how long the process may linger before its group is ended (default 5 s). */
  readonly lingerGraceMs?: number | undefined;
  /** Between SIGTERM and SIGKILL (default 3 s). */
  readonly killGraceMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** True for the line that ends the agent's turn (a `result` frame, `turn.completed`, ...). */
  isTerminal?(line: string): boolean;
  onLine?(line: string, stream: 'stdout' | 'stderr'): void;
  /**
   * At most this many lines reach `onLine` (both streams together); past it lines are no longer decoded for it, so a
   * command's huge output costs no strings. The transcript keeps its own bounds either way.
   */
  onLineLimit?: number;
  /** Of a line read only for `onLine`, at most this many bytes are decoded (a 4 MB line costs no 4 MB string). */
  onLineMaxBytes?: number;
  /**
   * True for a stdout line that shows the agent progressing (a model or tool event). When given, only such lines
   * reset the inactivity deadline, so a CLI's retry chatter cannot keep a stuck call alive; without it, any stdout
   * output does.
   */
  isProgress?(line: string): boolean;
  /** Called once the child exists, with its pid (= its process group id). */
  onSpawn?(pid: number): void;
  /** How much output is kept in memory (default `DEFAULT_OUTPUT_LIMITS`). */
  readonly outputLimits?: OutputLimits | undefined;
  /**
   * Where the whole of an output stream goes once it outgrows the head kept in memory (a blob stream, redacted and
   * hashed as it is written). Kept only when the transcript lost something; without it, the middle is dropped.
   */
  readonly spill?: OpenOutputSpill | undefined;
}

export type StopReason = 'first_output' | 'inactivity' | 'total' | 'cancelled' | 'linger' | null;

export interface SupervisedExit {
  readonly pid: number | null;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why mso ended the process, if it did. */
  readonly stoppedBy: StopReason;
  readonly spawnError: string | null;
  readonly terminalSeen: boolean;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly firstOutputMs: number | null;
  /**
   * Stdout and stderr lines in arrival order, prefixed `1|` or `2|`: the head and the tail of the output, with one
   * `0|` line saying how many lines between them were not kept; a line longer than the limit is cut with a note.
   */
  readonly transcript: string;
  /** SHA-256 of the whole transcript as it would be with every line kept. */
  readonly transcriptSha256: string;
  readonly stderrTail: string;
  /** Each output stream that did not fit the transcript, kept whole in a blob. */
  readonly spilled: { readonly stdout?: SpilledOutput; readonly stderr?: SpilledOutput };
  /** Why the whole output could not be kept (a storage failure); the transcript is still complete in head and tail. */
  readonly spillError: string | null;
}

/**
 * Runs a child process under supervision: its own process group, stdin closed, deadlines for first output,
 * inactivity and total time (SIGTERM to the group, SIGKILL after a grace period), a lingering process ended after its
 * terminal line, and stdout/stderr split into lines tolerating CRLF, partial writes and non-UTF-8 boundaries.
 */
export function superviseProcess(
  deps: { readonly proc: Proc; readonly clock: Clock },
  o: SuperviseOptions,
): Promise<SupervisedExit> {
  const startedAt = deps.clock.now();
  const limits = o.outputLimits ?? DEFAULT_OUTPUT_LIMITS;
  const transcript = createBoundedTranscript(limits);
  const stderrLines: string[] = [];
  return new Promise((resolve) => {
    let child;
    try {
      child = deps.proc.spawn(o.command, o.args, {
        cwd: o.cwd,
        env: o.env,
        stdio: [o.stdinText === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (e) {
      resolve({
        pid: null,
        exitCode: null,
        signal: null,
        stoppedBy: null,
        spawnError: (e as Error).message,
        terminalSeen: false,
        startedAt,
        endedAt: deps.clock.now(),
        firstOutputMs: null,
        transcript: '',
        transcriptSha256: transcript.sha256(),
        stderrTail: '',
        spilled: {},
        spillError: null,
      });
      return;
    }
    const pid = child.pid ?? null;
    if (pid !== null) o.onSpawn?.(pid);
    let stoppedBy: StopReason = null;
    let spawnError: string | null = null;
    let terminalSeen = false;
    let firstOutputMs: number | null = null;
    let settled = false;
    const timers = new Set<NodeJS.Timeout>();
    const after = (ms: number, fn: () => void): NodeJS.Timeout => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
      return t;
    };
    const clear = (t: NodeJS.Timeout | undefined): void => {
      if (t) {
        clearTimeout(t);
        timers.delete(t);
      }
    };
    const killGroup = (reason: StopReason): void => {
      if (stoppedBy === null) stoppedBy = reason;
      if (pid === null) return;
      deps.proc.killGroup(pid, 'SIGTERM');
      after(o.killGraceMs ?? 3_000, () => {
        deps.proc.killGroup(pid, 'SIGKILL');
      });
    };
    const d = o.deadlines ?? {};
    let firstTimer = d.firstOutputMs ? after(d.firstOutputMs, () => killGroup('first_output')) : undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const resetIdle = (): void => {
      if (!d.inactivityMs) return;
      clear(idleTimer);
      idleTimer = after(d.inactivityMs, () => killGroup('inactivity'));
    };
    if (d.totalMs) after(d.totalMs, () => killGroup('total'));
    const onAbort = (): void => killGroup('cancelled');
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });

    let cutSeen = false;
    let linesToOnLine = 0;
    const splitter = (stream: 'stdout' | 'stderr') => {
      const spill = createOutputSpill(o.spill, stream, limits.headBytes, child[stream]);
      // Only lines someone reads become strings: a shell command's 200 MB of stdout is copied as bytes, never decoded.
      const toOnLine = (): boolean =>
        o.onLine !== undefined && (o.onLineLimit === undefined || linesToOnLine < o.onLineLimit);
      // Lines read whole (stderr's tail, terminal detection); lines only for onLine are read up to onLineMaxBytes.
      const whole = stream === 'stderr' || o.isTerminal !== undefined;
      const lines = createLineSplitter(limits.maxLineBytes, (bytes, cut) => {
        if (cut > 0) cutSeen = true;
        transcript.add(
          stream === 'stdout' ? '1|' : '2|',
          bytes,
          cut > 0 ? ` [mso: ${cut} more bytes of this line not kept]` : '',
        );
        if (whole) emit(bytes.toString('utf8'));
        else if (toOnLine()) emit(bytes.subarray(0, o.onLineMaxBytes ?? bytes.length).toString('utf8'));
      });
      const emit = (line: string): void => {
        if (stream === 'stderr') {
          stderrLines.push(line.slice(0, 4_000));
          if (stderrLines.length > 50) stderrLines.shift();
        }
        if (toOnLine()) {
          linesToOnLine++;
          o.onLine?.(line, stream);
        }
        if (stream === 'stdout' && o.isProgress?.(line)) resetIdle();
        if (stream === 'stdout' && !terminalSeen && o.isTerminal?.(line)) {
          terminalSeen = true;
          after(o.lingerGraceMs ?? 5_000, () => killGroup('linger'));
        }
      };
      return {
        push(chunk: Buffer): void {
          if (stream === 'stdout') {
            if (firstOutputMs === null) {
              firstOutputMs = deps.clock.now().getTime() - startedAt.getTime();
              clear(firstTimer);
              firstTimer = undefined;
            }
            // With a progress hook the deadline starts at the first output and only progress lines reset it.
            if (!o.isProgress || idleTimer === undefined) resetIdle();
          }
          lines.push(chunk);
          spill.push(chunk);
        },
        end(): void {
          lines.end();
        },
        spill,
      };
    };
    const out = splitter('stdout');
    const err = splitter('stderr');
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      spawnError = e.message;
    });
    if (o.stdinText !== undefined && child.stdin) {
      // A child that exits before reading stdin makes the write fail with EPIPE: that is not our error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(o.stdinText);
    }
    child.on('close', (code, sig) => {
      if (settled) return;
      settled = true;
      out.end();
      err.end();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      o.signal?.removeEventListener('abort', onAbort);
      // The leader is gone; make sure nothing of its group survives it.
      if (pid !== null) deps.proc.killGroup(pid, 'SIGKILL');
      void finish(code, sig, deps.clock.now());
    });
    const finish = async (code: number | null, sig: NodeJS.Signals | null, endedAt: Date): Promise<void> => {
      const keep = !transcript.complete() || cutSeen;
      const spilled: { stdout?: SpilledOutput; stderr?: SpilledOutput } = {};
      let spillError: string | null = null;
      for (const [name, s] of [
        ['stdout', out.spill],
        ['stderr', err.spill],
      ] as const) {
        try {
          const kept = await s.finish(keep && spillError === null);
          if (kept) spilled[name] = kept;
        } catch (e) {
          spillError = `the whole ${name} could not be kept: ${(e as Error).message}`;
        }
      }
      resolve({
        pid,
        exitCode: code,
        signal: sig,
        stoppedBy,
        spawnError,
        terminalSeen,
        startedAt,
        endedAt,
        firstOutputMs,
        transcript: transcript.text(),
        transcriptSha256: transcript.sha256(),
        stderrTail: stderrLines.slice(-20).join('\n'),
        spilled,
        spillError,
      });
    };
  });
}
