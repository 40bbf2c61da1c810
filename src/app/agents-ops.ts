import { resolve } from 'node:path';
import {
  breakerKeyOf,
  chainFor,
  createAdapter,
  resolveAgentSpecs,
  runChain,
  type AdapterDeps,
  type AgentAdapter,
  type AgentResult,
  type ChainStep,
} from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import { InvalidArgumentError, NotFoundError, type Policy } from '../contracts/index.js';
import {
  createBreakerFactory,
  listBreakerKeys,
  type BreakerConfig,
  type BreakerMetrics,
  type CircuitBreaker,
} from '../resilience/index.js';
import type { Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import { detectAgents, type DoctorReport } from './doctor.js';
import { heldOrOpened } from './audit-ops.js';

/** One row of `mso agents list`. */
export interface AgentInfo {
  readonly name: string;
  readonly kind: string;
  readonly provider: string;
  readonly model: string | null;
  readonly available: boolean;
  readonly reason: string;
  readonly breaker: string | null;
  readonly breaker_state: string | null;
  readonly declared: boolean;
}

export interface TryResult {
  readonly result: Omit<AgentResult, 'transcript'>;
  readonly trail: readonly ChainStep[];
  readonly retries: number;
}

export interface AgentsOps {
  list(): Promise<AgentInfo[]>;
  try(input: {
    name: string;
    prompt: string;
    cwd?: string | undefined;
    timeoutS?: number | undefined;
    command?: string | undefined;
  }): Promise<TryResult>;
  health(reset?: string): Promise<{ breakers: BreakerMetrics[]; reset: string | null }>;
  /** `mso doctor`: the coding-agent CLIs on PATH, their versions, whether each can log in, a policy snippet. */
  detect(): Promise<DoctorReport>;
}

function envInt(env: AppDeps['env'], names: readonly string[], min: number): number | undefined {
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(name, `${JSON.stringify(raw)} is not an integer >= ${min}`);
    return n;
  }
  return undefined;
}

/** Breaker settings: policy.yaml, overridden by MSO_CIRCUIT_* (or the seed's CCO_CIRCUIT_*) environment variables. */
export function resolveBreakerConfig(policy: Policy, env: AppDeps['env']): BreakerConfig {
  const cb = policy.resilience.circuit_breaker;
  return {
    failureThreshold:
      envInt(env, ['MSO_CIRCUIT_FAILURE_THRESHOLD', 'CCO_CIRCUIT_FAILURE_THRESHOLD'], 1) ?? cb.failure_threshold,
    resetTimeoutMs: envInt(env, ['MSO_CIRCUIT_RESET_TIMEOUT', 'CCO_CIRCUIT_RESET_TIMEOUT'], 0) ?? cb.reset_timeout_ms,
    halfOpenMaxAttempts: cb.half_open_max_attempts,
  };
}

/** Adapter dependencies from the app's ports and the workspace policy. */
export function adapterDeps(deps: AppDeps, policy: Policy): AdapterDeps {
  const r = policy.resilience;
  return {
    proc: deps.proc,
    clock: deps.clock,
    random: deps.random,
    env: deps.env,
    fs: deps.fs,
    prices: policy.prices,
    defaults: {
      deadlines: {
        firstOutputMs: r.deadlines.first_output_ms,
        inactivityMs: r.deadlines.inactivity_ms,
        totalMs: r.deadlines.total_ms,
      },
      lingerGraceMs: r.linger_grace_ms,
      killGraceMs: r.kill_grace_ms,
    },
  };
}

/** Everything needed to call agents resiliently in one workspace; close() releases the audit handle. */
export interface AgentRuntime {
  readonly log: AuditLog;
  readonly adapters: ReadonlyMap<string, AgentAdapter>;
  readonly breaker: (key: string) => CircuitBreaker;
  adapter(name: string): AgentAdapter;
  chain(persona: string | undefined): AgentAdapter[];
  close(): void;
}

/** `held`: an audit log the caller keeps open and closes (close() then leaves it open). */
export function openAgentRuntime(deps: AppDeps, ws: Workspace, held?: AuditLog): AgentRuntime {
  const { log, release } = heldOrOpened(deps, ws, held);
  const specs = resolveAgentSpecs(ws.policy);
  // Output past the transcript's head and tail goes whole to blobs, so `mso logs --full` can show all of it.
  const ad: AdapterDeps = {
    ...adapterDeps(deps, ws.policy),
    spill: () => log.openBlobStream('application/octet-stream'),
  };
  const adapters = new Map([...specs.values()].map((s) => [s.name, createAdapter(ad, s)]));
  const breaker = createBreakerFactory(log, deps.clock, resolveBreakerConfig(ws.policy, deps.env));
  const adapter = (name: string): AgentAdapter => {
    const a = adapters.get(name);
    if (!a) throw new NotFoundError('agent', `${name} (known: ${[...adapters.keys()].join(', ')})`);
    return a;
  };
  return {
    log,
    adapters,
    breaker,
    adapter,
    chain: (persona) => chainFor(ws.policy, specs, persona).map(adapter),
    close: release,
  };
}

/** Agent use cases: list with availability and breaker state, try one call, breaker health. */
export function createAgentsOps(deps: AppDeps, cwd: string, open: (create?: boolean) => Promise<Workspace>): AgentsOps {
  return {
    async list() {
      const ws = await open(true);
      const rt = openAgentRuntime(deps, ws);
      try {
        const out: AgentInfo[] = [];
        for (const a of rt.adapters.values()) {
          const av = await a.availability();
          const key = breakerKeyOf(a);
          out.push({
            name: a.name,
            kind: a.kind,
            provider: a.provider,
            model: a.model,
            available: av.available,
            reason: av.reason,
            breaker: key,
            breaker_state: key ? rt.breaker(key).metrics().state : null,
            declared: Object.hasOwn(ws.policy.agents, a.name),
          });
        }
        return out;
      } finally {
        rt.close();
      }
    },
    async try(input) {
      if (input.timeoutS !== undefined && !(input.timeoutS > 0))
        throw new InvalidArgumentError('--timeout', 'must be a positive number of seconds');
      const ws = await open(true);
      const rt = openAgentRuntime(deps, ws);
      try {
        const adapter = rt.adapter(input.name);
        const runId = `agents-try-${deps.clock.now().toISOString().slice(0, 10)}`;
        const totalMs = input.timeoutS !== undefined ? Math.round(input.timeoutS * 1000) : undefined;
        const { result, trail, retries } = await runChain(
          { clock: deps.clock, random: deps.random, breaker: rt.breaker, retry: retryPolicy(ws.policy), audit: rt.log },
          [adapter],
          {
            runId,
            instructions: input.prompt,
            command: input.command ?? (adapter.kind === 'shell' ? input.prompt : undefined),
            cwd: resolve(cwd, input.cwd ?? '.'),
            ...(totalMs !== undefined
              ? {
                  deadlines: {
                    totalMs,
                    firstOutputMs: Math.min(totalMs, ws.policy.resilience.deadlines.first_output_ms),
                  },
                }
              : {}),
          },
        );
        const { transcript: _t, ...rest } = result;
        return { result: rest, trail, retries };
      } finally {
        rt.close();
      }
    },
    detect: () => detectAgents(deps, cwd),
    async health(reset) {
      const ws = await open(true);
      const rt = openAgentRuntime(deps, ws);
      try {
        if (reset !== undefined) {
          const key = reset.includes('/')
            ? reset
            : (() => {
                const a = rt.adapter(reset);
                const k = breakerKeyOf(a);
                if (!k) throw new InvalidArgumentError('--reset', `${reset} is a local agent without a breaker`);
                return k;
              })();
          rt.breaker(key).reset();
        }
        return { breakers: listBreakerKeys(rt.log).map((k) => rt.breaker(k).metrics()), reset: reset ?? null };
      } finally {
        rt.close();
      }
    },
  };
}

/** The retry policy of a workspace. */
export function retryPolicy(policy: Policy) {
  const r = policy.resilience.retry;
  return {
    maxRetries: r.max_retries,
    initialDelayMs: r.initial_delay_ms,
    maxDelayMs: r.max_delay_ms,
    multiplier: r.multiplier,
    jitter: r.jitter,
  };
}
