import { classifyMessage, CONFIGURATION_CLASSES } from '../classify.js';
import { decideMode, type CliTable } from '../cli-table.js';
import { cliLogin } from './cli-login.js';
import { costOf } from '../cost.js';
import { buildChildEnv } from '../process/environment.js';
import { gitAfter, gitHead } from '../process/git-evidence.js';
import { superviseProcess } from '../process/supervise.js';
import type { AgentAdapter, AgentKind } from '../types.js';
import {
  commandAvailability,
  effectiveDeadlines,
  notStartedResult,
  processEvidence,
  summarize,
  type AdapterDeps,
  type AgentSpec,
} from './common.js';
import { newStreamState, type CliDialect, type DialectOutcome, type StreamState } from './dialect.js';

/** The outcome when the stream made a failure certain (mso ended the call), or when a stall followed CLI retries. */
function streamOutcome(
  state: StreamState,
  outcome: DialectOutcome,
  stalled: boolean,
  ms: number | undefined,
  failures: CliTable['failures'],
): Pick<DialectOutcome, 'status' | 'errorClass' | 'errorMessage'> {
  let o: Pick<DialectOutcome, 'status' | 'errorClass' | 'errorMessage'> = outcome;
  if (state.fatal) o = { status: 'failure', errorClass: state.fatal.cls, errorMessage: state.fatal.message };
  else if (stalled && state.retrying)
    o = {
      status: 'timeout',
      errorClass: state.retrying.cls === 'unknown' ? outcome.errorClass : state.retrying.cls,
      errorMessage: `no progress for ${ms ?? '?'} ms while the CLI retried: ${state.retrying.message}`,
    };
  // A CLI that exits without a final event often says why on stderr ("cannot be used with root/sudo ...").
  if ((o.errorClass === 'process' || o.errorClass === 'protocol') && o.errorMessage) {
    const named = classifyMessage(o.errorMessage, failures);
    if (named !== 'unknown') o = { ...o, errorClass: named };
  }
  if (o.errorClass && CONFIGURATION_CLASSES.has(o.errorClass))
    o = { ...o, errorMessage: `configuration problem (${o.errorClass}): ${o.errorMessage ?? ''}` };
  return o;
}

/** An adapter for a coding-agent CLI speaking `dialect`, supervised as its own process group in the worktree. */
export function createCliAdapter(deps: AdapterDeps, spec: AgentSpec, dialect: CliDialect): AgentAdapter {
  const cfg = spec.config;
  const table = dialect.table;
  const command = cfg.command ?? table.command;
  const provider = cfg.provider ?? table.provider;
  const kind = cfg.kind as AgentKind;
  const identity = { name: spec.name, kind, provider, model: cfg.model ?? null };
  // For the record (provenance, `mso diff`): asked once per process, and only of CLIs whose stream does not say it.
  let asked: Promise<string | null> | null = null;
  const versionOf = (env: Readonly<Record<string, string>>, cwd: string): Promise<string | null> =>
    (asked ??= superviseProcess(deps, {
      command,
      args: ['--version'],
      cwd,
      env,
      deadlines: { totalMs: 10_000 },
      killGraceMs: 1_000,
    }).then((x) => {
      const line =
        x.exitCode === 0 ? x.transcript.split('\n').find((l) => l.startsWith('1|') && l.trim() !== '1|') : undefined;
      return line ? line.slice(2).trim().slice(0, 120) : null;
    }));
  const read = (path: string): Promise<string | null> =>
    deps.fs ? deps.fs.readFile(path, 'utf8').catch(() => null) : Promise.resolve(null);
  return {
    ...identity,
    async availability() {
      const found = await commandAvailability(deps, command, 'found');
      // Its login is judged only for the CLI's own command: a program the policy names is the user's to vouch for.
      if (!found.available || cfg.command !== undefined || !deps.fs) return found;
      // The agent's own environment counts (its policy `env`: CODEX_HOME, a key; its `api_key_env`), as the CLI sees it.
      const login = await cliLogin({ env: { ...deps.env, ...cfg.env }, fs: deps.fs }, table, cfg.api_key_env);
      return { ...found, login: { ready: login.ready, hint: login.hint } };
    },
    async run(req, onEvent) {
      const at = deps.clock.now().toISOString();
      if (req.signal?.aborted)
        return notStartedResult(identity, at, 'cancelled', 'cancelled', 'cancelled before start');
      const mode = decideMode(table, req.permissionMode, cfg.permission_mode);
      if (!mode.ok) return notStartedResult(identity, at, 'failure', 'bad_request', `${spec.name}: ${mode.reason}`);
      const sessionId = req.sessionId ?? deps.random.uuid();
      const args = dialect.args(
        req,
        { args: cfg.args, model: cfg.model, maxTurns: cfg.max_turns },
        sessionId,
        mode.flags,
      );
      const env = buildChildEnv(
        deps.env,
        [...table.env, ...cfg.env_allow, ...(cfg.api_key_env ? [cfg.api_key_env] : [])],
        {
          ...table.fixedEnv,
          ...cfg.env,
          ...req.env,
        },
      );
      const headBefore = req.headBefore ?? (await gitHead(deps, req.cwd, env));
      const state = newStreamState();
      state.sessionId = sessionId;
      // A failure the stream makes certain (a bad key, a rate limit) ends the call now, not at a deadline.
      const stop = new AbortController();
      const deadlines = effectiveDeadlines(deps, req.deadlines);
      const exit = await superviseProcess(deps, {
        command,
        args,
        cwd: req.cwd,
        env,
        stdinText: req.instructions,
        deadlines,
        lingerGraceMs: deps.defaults.lingerGraceMs,
        killGraceMs: deps.defaults.killGraceMs,
        signal: req.signal ? AbortSignal.any([req.signal, stop.signal]) : stop.signal,
        onSpawn: (pid) => onEvent?.({ type: 'started', pid, sessionId }),
        spill: deps.spill,
        isTerminal: (line) => dialect.isTerminal(line),
        isProgress: (line) => dialect.isProgress(line),
        onLine(line, stream) {
          if (stream === 'stdout') for (const e of dialect.parseLine(line, state)) onEvent?.(e);
          else dialect.parseStderr?.(line, state);
          if (state.fatal && !stop.signal.aborted && !state.terminal) stop.abort();
        },
      });
      const cancelled = req.signal?.aborted === true;
      if (cancelled || state.terminal) state.fatal = null;
      const finalized = dialect.finalize(state, exit);
      const stalled = exit.stoppedBy === 'inactivity' || exit.stoppedBy === 'first_output';
      const outcome = {
        ...finalized,
        ...streamOutcome(state, finalized, stalled, deadlines.inactivityMs, table.failures),
      };
      // Not asked after a cancel: stopping must not wait on another process.
      const ask = exit.pid !== null && !dialect.versionInStream && !cancelled;
      const cliVersion = state.cliVersion ?? (ask ? await versionOf(env, req.cwd) : null);
      const { headAfter, changedFiles } = await gitAfter(deps, req.cwd, env, headBefore);
      const model = outcome.model ?? req.model ?? cfg.model ?? (await dialect.configuredModel?.(env, read)) ?? null;
      if (outcome.errorClass)
        onEvent?.({ type: 'error', message: outcome.errorMessage ?? '', errorClass: outcome.errorClass });
      return {
        agent: spec.name,
        kind,
        provider,
        model,
        status: outcome.status,
        summary: summarize(
          outcome.status === 'success' ? outcome.output : (outcome.errorMessage ?? ''),
          outcome.status,
        ),
        output: outcome.output,
        changedFiles,
        usage: outcome.usage,
        cost: costOf(outcome.reportedCostUsd, model, outcome.usage, deps.prices),
        sessionId: outcome.sessionId,
        exitCode: exit.exitCode,
        errorClass: outcome.errorClass,
        errorMessage: outcome.errorMessage,
        retryAfterMs: outcome.errorClass === 'rate_limit' ? state.retryAfterMs : null,
        requiresManualConfirmation: false,
        evidence: {
          ...processEvidence(exit, { headBefore, headAfter, garbageLines: state.garbage, cliVersion }),
          mode: mode.mode,
          envNames: Object.keys(env).sort(),
        },
        transcript: exit.transcript,
      };
    },
  };
}
