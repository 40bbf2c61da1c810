/**
 * The `mso` CLI. Start-up pattern (every command follows it; `test/e2e/startup.e2e.test.ts` holds the budget):
 *
 * - `mso --version`, `--help` and a command's `--help` load only this file, commander, `./context.js`, `./io.js`,
 *   `../contracts/light.js` (errors, exit codes, enum values; no zod), `../app/light.js` (the redactor) and the
 *   `register*` modules in `./commands/`.
 * - A command module registers its name, options and arguments at top level and imports nothing heavier than that:
 *   values from `../../contracts/light.js`, types (`import type`) from anywhere else. Choices come from the plain
 *   arrays in `contracts/enums.ts`, not from zod schemas.
 * - The work happens in the action, through `ctx.app()`. The app (`../app/index.js`, and with it zod, yaml, SQLite)
 *   is imported by the `preAction` hook below, so only a command that runs pays for it. Anything heavier that only
 *   one command needs (the MCP SDK, the AI SDK, kysely, an HTTP server) is imported with `await import()` inside
 *   that command's action or the app function it calls, as `mso mcp` does.
 * - A new command: write `commands/<name>.ts` with `register<Name>(program, ctx)` and call it in `buildProgram`.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import type { MsoApp, createNodeApp as CreateNodeAppFn } from '../app/index.js';
import { createAppRedactor } from '../app/light.js';
import {
  EXIT_CODES,
  InternalError,
  UsageError,
  isMsoError,
  storageErrorOf,
  type MsoError,
} from '../contracts/light.js';
import type { CliContext, CommandOutcome } from './context.js';
import { registerAgents } from './commands/agents.js';
import { registerAudit } from './commands/audit.js';
import { registerDesign, registerValidate } from './commands/design.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEngine } from './commands/engine.js';
import { registerObserve } from './commands/observe.js';
import { registerReplay } from './commands/replay.js';
import { registerMcp } from './commands/mcp.js';
import { registerInit } from './commands/init.js';
import { registerLogs } from './commands/logs.js';
import { registerResults } from './commands/results.js';
import { registerRuns } from './commands/runs.js';
import { registerTickets } from './commands/tickets.js';
import { registerSchema } from './commands/schema.js';
import { registerWorkspace } from './commands/workspace.js';
import { registerUi } from './commands/ui.js';
import { registerWorker } from './commands/worker.js';
import { nodeIo, type CliIo } from './io.js';

export { nodeIo, type CliIo };

/** The package version, read once from package.json. */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

interface GlobalOptions {
  workspace?: string;
  observation?: string;
  observer?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

type CreateNodeApp = typeof CreateNodeAppFn;

function buildProgram(
  ctx: CliContext,
  out: { stdout: string[]; stderr: string[] },
  loadApp: () => Promise<void>,
): Command {
  const program = new Command('mso')
    .description(
      'Multi-Swarm Orchestrator: goal -> schema-checked workflow -> agents in git worktrees, audited and improved',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .option(
      '--workspace <dir>',
      'workspace root (default $MSO_WORKSPACE_ROOT, else <git dir>/mso/workspace in a repository, else ./workspace)',
    )
    .option(
      '--observation <dir>',
      'observation root (default $MSO_OBSERVATION_ROOT, else <git dir>/mso/observation, else ./mso-observation-workspace)',
    )
    .option('--observer <id>', 'observer id (default $MSO_OBSERVER_ID, $USER or $LOGNAME)')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--quiet', 'no human logs on stderr')
    .option('--debug', 'print stack traces of internal errors')
    .showSuggestionAfterError(true)
    .hook('preAction', loadApp)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.push(s),
      writeErr: (s) => out.stderr.push(s),
      // Commander's own error lines are replaced by our single error rendering.
      outputError: () => undefined,
    });
  registerInit(program, ctx);
  registerSchema(program, ctx);
  registerRuns(program, ctx);
  registerWorkspace(program, ctx);
  registerAudit(program, ctx);
  registerAgents(program, ctx);
  registerDoctor(program, ctx);
  registerDesign(program, ctx);
  registerValidate(program, ctx);
  registerTickets(program, ctx);
  registerEngine(program, ctx);
  registerObserve(program, ctx);
  registerReplay(program, ctx);
  registerLogs(program, ctx);
  registerResults(program, ctx);
  registerMcp(program, ctx, VERSION);
  registerUi(program, ctx, VERSION);
  registerWorker(program, ctx);
  for (const cmd of allCommands(program)) {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => out.stdout.push(s),
      writeErr: (s) => out.stderr.push(s),
      outputError: () => undefined,
    });
  }
  return program;
}

/** Every command's full name and one-line purpose, for `--help --json`. */
function commandList(program: Command | undefined): Array<{ command: string; description: string }> {
  if (!program) return [];
  const name = (c: Command): string => (c.parent && c.parent !== program ? `${name(c.parent)} ${c.name()}` : c.name());
  return allCommands(program).map((c) => ({ command: name(c), description: c.description() }));
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function errorJson(e: MsoError): unknown {
  return { error: { code: e.code, message: e.message, ...e.details } };
}

/**
 * Runs the `mso` CLI on `argv` (without node and script) and returns the exit code: 0 done, 1 failed, 2 bad input,
 * 3 waiting for a human, 70 internal error. With `--json` exactly one JSON object goes to stdout.
 */
export async function runCli(argv: readonly string[], rawIo: CliIo): Promise<number> {
  // Every byte printed passes the same redactor as every byte stored (it learns the policy's secrets on open).
  const redactor = createAppRedactor(rawIo.env);
  const io: CliIo = {
    ...rawIo,
    stdout: (t) => rawIo.stdout(redactor.text(t)),
    stderr: (t) => rawIo.stderr(redactor.text(t)),
  };
  const printJson = (v: unknown): void => rawIo.stdout(`${redactor.json(v)}\n`);
  const json = argv.includes('--json');
  const quiet = argv.includes('--quiet');
  const debug = argv.includes('--debug');
  let outcome: CommandOutcome | undefined;
  let app: MsoApp | undefined;
  let createNodeApp: CreateNodeApp | undefined;
  const buffered = { stdout: [] as string[], stderr: [] as string[] };
  let program: Command | undefined;
  const ctx: CliContext = {
    io,
    json,
    quiet,
    app() {
      if (!app) {
        if (!createNodeApp) throw new InternalError('the app was used before the preAction hook loaded it');
        const g = (program?.opts() ?? {}) as GlobalOptions;
        app = createNodeApp(
          { workspace: g.workspace, observation: g.observation, observer: g.observer },
          io.env,
          io.cwd,
          {
            warn: (m) => {
              if (!quiet) io.stderr(`mso: warning: ${m}\n`);
            },
            info: (m) => {
              if (!quiet) io.stderr(`${m}\n`);
            },
          },
          VERSION,
          redactor,
        );
      }
      return app;
    },
    done(o) {
      outcome = o;
    },
    log(line) {
      if (!quiet) io.stderr(`${line}\n`);
    },
  };
  try {
    program = buildProgram(ctx, buffered, async () => {
      createNodeApp ??= (await import('../app/index.js')).createNodeApp;
    });
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) {
        // --help or --version: commander wrote them to the buffer (with --json: one object).
        const text = buffered.stdout.join('');
        if (!json) io.stdout(text);
        else if (e.code === 'commander.version') io.stdout(`${JSON.stringify({ version: VERSION })}\n`);
        else io.stdout(`${JSON.stringify({ help: text, commands: commandList(program) })}\n`);
        return 0;
      }
      const usage = new UsageError(e.message.replace(/^error: /, ''));
      if (json) printJson(errorJson(usage));
      else io.stderr(`mso: ${usage.message}\n${buffered.stderr.join('')}(see mso --help)\n`);
      return EXIT_CODES[usage.category];
    }
    // A storage failure no inner layer named (disk full, read-only) is still a clear exit 1, not an internal error.
    const err = isMsoError(e)
      ? e
      : (storageErrorOf(e, 'the workspace') ?? new InternalError((e as Error)?.message ?? String(e), { cause: e }));
    if (json) printJson(errorJson(err));
    else io.stderr(`mso: error: ${err.message}\n`);
    if (debug || !isMsoError(e)) {
      if (debug || err.category === 'internal') io.stderr(`${(e as Error)?.stack ?? String(e)}\n`);
    }
    return EXIT_CODES[err.category];
  }
  if (buffered.stdout.length > 0) io.stdout(buffered.stdout.join(''));
  if (!outcome) {
    // A command group without a subcommand: commander printed nothing; show its help.
    io.stderr('mso: missing command (see mso --help)\n');
    return 2;
  }
  if (outcome.streamed) return outcome.exitCode ?? 0;
  if (json) printJson(outcome.data);
  else {
    const text = typeof outcome.human === 'string' ? outcome.human : outcome.human.join('\n');
    if (text !== '') io.stdout(`${text}\n`);
  }
  return outcome.exitCode ?? 0;
}

/** Entry point used by bin/mso.js. */
export async function main(): Promise<number> {
  return runCli(process.argv.slice(2), nodeIo());
}

export { EXIT_INTERRUPTED } from './io.js';
