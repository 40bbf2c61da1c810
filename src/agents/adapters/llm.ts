import type { LanguageModel } from 'ai';
import { classifyHttp, classifyMessage, parseRetryAfter } from '../classify.js';
import { costOf } from '../cost.js';
import type { AgentAdapter, AgentKind, ErrorClass } from '../types.js';
import { effectiveDeadlines, notStartedResult, sha256, summarize, type AdapterDeps, type AgentSpec } from './common.js';

/** Default API-key variables per kind (the first one set wins). */
const KEY_ENVS: Readonly<Record<string, readonly string[]>> = {
  openai: ['OPENAI_API_KEY'],
  anthropic: ['ANTHROPIC_API_KEY'],
  google: ['GOOGLE_GENERATIVE_AI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  'openai-compatible': [],
};

type StopReason = 'first_output' | 'inactivity' | 'total' | 'cancelled' | null;

/** An LLM API agent through the AI SDK; the SDK's own retries are off so resilience owns them. */
export function createLlmAdapter(deps: AdapterDeps, spec: AgentSpec): AgentAdapter {
  const cfg = spec.config;
  const kind = cfg.kind as AgentKind;
  const provider = cfg.provider ?? kind;
  const identity = { name: spec.name, kind, provider, model: cfg.model ?? null };
  const keyEnvs = cfg.api_key_env ? [cfg.api_key_env] : (KEY_ENVS[kind] ?? []);
  const apiKey = (): string | undefined => keyEnvs.map((n) => deps.env[n]).find((v) => v !== undefined && v !== '');
  const fetchImpl = deps.fetch ?? globalThis.fetch;

  // The AI SDK and its providers are loaded on the first call: commands and runs that never call a model API do not
  // pay their start-up time and memory (about 17 MB of resident memory).
  async function model(id: string): Promise<LanguageModel> {
    const key = apiKey();
    const base = cfg.base_url;
    switch (kind) {
      case 'openai': {
        const { createOpenAI } = await import('@ai-sdk/openai');
        return createOpenAI({ apiKey: key ?? '', ...(base ? { baseURL: base } : {}), fetch: fetchImpl }).chat(id);
      }
      case 'anthropic': {
        const { createAnthropic } = await import('@ai-sdk/anthropic');
        return createAnthropic({ apiKey: key ?? '', ...(base ? { baseURL: base } : {}), fetch: fetchImpl })(id);
      }
      case 'google': {
        const { createGoogleGenerativeAI } = await import('@ai-sdk/google');
        return createGoogleGenerativeAI({ apiKey: key ?? '', ...(base ? { baseURL: base } : {}), fetch: fetchImpl })(
          id,
        );
      }
      default: {
        const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
        return createOpenAICompatible({
          name: spec.name,
          baseURL: base ?? '',
          ...(key ? { apiKey: key } : {}),
          fetch: fetchImpl,
        }).chatModel(id);
      }
    }
  }

  return {
    ...identity,
    async availability() {
      if (!cfg.model)
        return { available: false, reason: `no model configured (set agents.${spec.name}.model in policy.yaml)` };
      if (kind === 'openai-compatible') {
        if (!cfg.base_url) return { available: false, reason: 'no base_url configured' };
        try {
          const ctl = AbortSignal.timeout(1_500);
          await fetchImpl(new URL('models', cfg.base_url.endsWith('/') ? cfg.base_url : `${cfg.base_url}/`), {
            signal: ctl,
          });
          return { available: true, reason: `${cfg.base_url} reachable` };
        } catch (e) {
          return { available: false, reason: `${cfg.base_url} not reachable: ${(e as Error).message}` };
        }
      }
      return apiKey()
        ? { available: true, reason: `${keyEnvs.find((n) => deps.env[n])} set` }
        : { available: false, reason: `${keyEnvs.join(' or ')} not set` };
    },
    async run(req, onEvent) {
      const at = deps.clock.now();
      const modelId = req.model ?? cfg.model;
      if (!modelId)
        return notStartedResult(identity, at.toISOString(), 'failure', 'unavailable', 'no model configured');
      if (req.signal?.aborted)
        return notStartedResult(identity, at.toISOString(), 'cancelled', 'cancelled', 'cancelled before start');
      const { APICallError, streamText } = await import('ai');
      const d = effectiveDeadlines(deps, req.deadlines);
      const controller = new AbortController();
      let stop: StopReason = null;
      const abort = (why: StopReason): void => {
        stop ??= why;
        controller.abort();
      };
      const timers: NodeJS.Timeout[] = [];
      let idle: NodeJS.Timeout | undefined;
      const first = d.firstOutputMs ? setTimeout(() => abort('first_output'), d.firstOutputMs) : undefined;
      if (d.totalMs) timers.push(setTimeout(() => abort('total'), d.totalMs));
      const onAbort = (): void => abort('cancelled');
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const transcript: string[] = [
        JSON.stringify({ request: { provider, model: modelId, prompt: req.instructions } }),
      ];
      let text = '';
      let firstOutputMs: number | null = null;
      let usage = { input: 0, output: 0, cacheRead: 0 };
      let errorClass: ErrorClass | null = null;
      let errorMessage: string | null = null;
      let retryAfterMs: number | null = null;
      onEvent?.({ type: 'started', pid: null, sessionId: null });
      try {
        // onError is silenced: errors surface as stream parts and are classified below, not logged by the SDK.
        const result = streamText({
          model: await model(modelId),
          prompt: req.instructions,
          maxRetries: 0,
          abortSignal: controller.signal,
          onError: () => undefined,
        });
        for await (const part of result.fullStream) {
          if (part.type === 'text-delta') {
            if (firstOutputMs === null) {
              firstOutputMs = deps.clock.now().getTime() - at.getTime();
              if (first) clearTimeout(first);
            }
            if (d.inactivityMs) {
              if (idle) clearTimeout(idle);
              idle = setTimeout(() => abort('inactivity'), d.inactivityMs);
            }
            text += part.text;
            onEvent?.({ type: 'message', text: part.text });
          } else if (part.type === 'finish') {
            const u = part.totalUsage;
            usage = {
              input: u.inputTokens ?? 0,
              output: u.outputTokens ?? 0,
              cacheRead: u.inputTokenDetails?.cacheReadTokens ?? 0,
            };
            onEvent?.({ type: 'usage', usage });
          } else if (part.type === 'error') {
            throw part.error;
          } else if (part.type === 'abort') {
            break;
          }
        }
      } catch (e) {
        if (APICallError.isInstance(e)) {
          errorClass = classifyHttp(e.statusCode, `${e.message} ${e.responseBody ?? ''}`);
          errorMessage = `HTTP ${e.statusCode ?? '?'}: ${e.message}`;
          retryAfterMs = parseRetryAfter(e.responseHeaders?.['retry-after'], deps.clock.now());
        } else if (stop === null) {
          errorMessage = (e as Error)?.message ?? String(e);
          errorClass = classifyMessage(`${errorMessage} ${String((e as { cause?: unknown }).cause ?? '')}`);
          if (errorClass === 'unknown') errorClass = 'protocol';
        }
      } finally {
        if (first) clearTimeout(first);
        if (idle) clearTimeout(idle);
        for (const t of timers) clearTimeout(t);
        req.signal?.removeEventListener('abort', onAbort);
      }
      let status: 'success' | 'failure' | 'timeout' | 'cancelled' = 'success';
      if (stop === 'cancelled') [status, errorClass, errorMessage] = ['cancelled', 'cancelled', 'cancelled'];
      else if (stop === 'inactivity')
        [status, errorClass, errorMessage] = [
          'timeout',
          'stalled_stream',
          'the response stream stalled past the inactivity deadline',
        ];
      else if (stop !== null)
        [status, errorClass, errorMessage] = ['timeout', 'timeout', `no complete answer before the ${stop} deadline`];
      else if (errorClass) status = 'failure';
      transcript.push(JSON.stringify({ response: { text, usage, error: errorMessage, error_class: errorClass } }));
      if (errorClass) onEvent?.({ type: 'error', message: errorMessage ?? '', errorClass });
      const full = transcript.join('\n');
      const endedAt = deps.clock.now().toISOString();
      return {
        agent: spec.name,
        kind,
        provider,
        model: modelId,
        status,
        summary: summarize(status === 'success' ? text : (errorMessage ?? ''), status),
        output: text,
        changedFiles: [],
        usage,
        cost: costOf(null, modelId, usage, deps.prices),
        sessionId: null,
        exitCode: null,
        errorClass,
        errorMessage,
        retryAfterMs,
        requiresManualConfirmation: false,
        evidence: {
          pid: null,
          startedAt: at.toISOString(),
          endedAt,
          transcriptSha256: sha256(full),
          headBefore: null,
          headAfter: null,
          garbageLines: 0,
          stderrTail: '',
          firstOutputMs,
          lingerKilled: false,
          cliVersion: null,
        },
        transcript: full,
      };
    },
  };
}
