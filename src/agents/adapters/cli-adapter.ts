import { costOf } from '../cost.js';
import { buildChildEnv } from '../process/environment.js';
import { gitChangedFiles, gitHead } from '../process/git-evidence.js';
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
import { newStreamState, type CliDialect } from './dialect.js';

/** An adapter for a coding-agent CLI speaking `dialect`, supervised as its own process group in the worktree. */
export function createCliAdapter(deps: AdapterDeps, spec: AgentSpec, dialect: CliDialect): AgentAdapter {
  const cfg = spec.config;
  const command = cfg.command ?? dialect.defaultCommand;
  const provider = cfg.provider ?? dialect.provider;
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
  return {
    ...identity,
    availability: () => commandAvailability(deps, command, 'found'),
    async run(req, onEvent) {
      if (req.signal?.aborted)
        return notStartedResult(
          identity,
          deps.clock.now().toISOString(),
          'cancelled',
          'cancelled',
          'cancelled before start',
        );
      const sessionId = req.sessionId ?? deps.random.uuid();
      const built = dialect.args(
        req,
        { args: cfg.args, model: cfg.model, permissionMode: cfg.permission_mode, maxTurns: cfg.max_turns },
        sessionId,
      );
      const env = buildChildEnv(deps.env, [...cfg.env_allow, ...(cfg.api_key_env ? [cfg.api_key_env] : [])], {
        ...cfg.env,
        ...built.env,
        ...req.env,
      });
      const headBefore = await gitHead(deps, req.cwd, env);
      const state = newStreamState();
      state.sessionId = sessionId;
      const exit = await superviseProcess(deps, {
        command,
        args: built.args,
        cwd: req.cwd,
        env,
        stdinText: built.stdinText,
        deadlines: effectiveDeadlines(deps, req.deadlines),
        lingerGraceMs: deps.defaults.lingerGraceMs,
        killGraceMs: deps.defaults.killGraceMs,
        signal: req.signal,
        onSpawn: (pid) => onEvent?.({ type: 'started', pid, sessionId }),
        isTerminal: (line) => dialect.isTerminal(line),
        onLine(line, stream) {
          if (stream !== 'stdout') return;
          for (const e of dialect.parseLine(line, state)) onEvent?.(e);
        },
      });
      const outcome = dialect.finalize(state, exit);
      // Not asked after a cancel: stopping must not wait on another process.
      const ask = exit.pid !== null && !dialect.versionInStream && !req.signal?.aborted;
      const cliVersion = state.cliVersion ?? (ask ? await versionOf(env, req.cwd) : null);
      const headAfter = await gitHead(deps, req.cwd, env);
      const changedFiles = await gitChangedFiles(deps, req.cwd, env, headBefore, headAfter);
      const model = outcome.model ?? req.model ?? cfg.model ?? null;
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
        retryAfterMs: null,
        requiresManualConfirmation: false,
        evidence: processEvidence(exit, { headBefore, headAfter, garbageLines: state.garbage, cliVersion }),
        transcript: exit.transcript,
      };
    },
  };
}
