import type { MsoApp } from '../app/index.js';
import type { CliIo } from './io.js';

/** What a command returns: the JSON result, its human rendering, and the exit code (0 done, 1 failed, 3 waiting). */
export interface CommandOutcome {
  readonly data: unknown;
  readonly human: string | readonly string[];
  readonly exitCode?: number;
  /** The command already wrote its output as it went (e.g. `--follow`); print nothing more. */
  readonly streamed?: boolean;
}

/** Shared state of one CLI invocation, handed to every command's registration. */
export interface CliContext {
  readonly io: CliIo;
  /** The global `--json` and `--quiet` flags. */
  readonly json: boolean;
  readonly quiet: boolean;
  /** The app, built from the global options on first use. */
  app(): MsoApp;
  /** Records the outcome of the command that ran. */
  done(outcome: CommandOutcome): void;
  /** Writes a human log line to stderr (not with --quiet). */
  log(line: string): void;
}

/** Splits `a,b , c` into trimmed non-empty parts. */
export function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
