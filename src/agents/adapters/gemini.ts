import { classifyMessage, retryDelayInText } from '../classify.js';
import { GEMINI_TABLE } from '../cli-table.js';
import type { AgentEvent, ErrorClass } from '../types.js';
import {
  mainModel,
  num,
  noteRetry,
  outcomeWithoutTerminal,
  parseJsonLine,
  type CliDialect,
  type StreamState,
} from './dialect.js';

/** Gemini CLI exit codes (packages/core/src/utils/errors.ts). */
const EXIT_CLASSES: Readonly<Record<number, ErrorClass>> = {
  41: 'auth',
  42: 'bad_request',
  44: 'permission',
  52: 'bad_request',
  53: 'max_turns',
  54: 'process',
  55: 'permission',
  130: 'cancelled',
};

const PROGRESS = /"type"\s*:\s*"(message|tool_use|tool_result|result)"/;
const USER_ECHO = /"role"\s*:\s*"user"/;
const classify = (message: string) => classifyMessage(message, GEMINI_TABLE.failures);

/**
 * Gemini CLI: `gemini -o stream-json` with the prompt on stdin (headless when stdin is not a terminal; no argv
 * limit, a leading `-` is safe); an `error{severity:error}` fails the run whatever `result` says.
 */
export const geminiDialect: CliDialect = {
  table: GEMINI_TABLE,
  args(req, cfg, sessionId, modeFlags) {
    const args = ['-o', 'stream-json', ...modeFlags, '--session-id', sessionId];
    const model = req.model ?? cfg.model;
    if (model) args.push('-m', model);
    return [...args, ...cfg.args];
  },
  isTerminal: (line) => /"type"\s*:\s*"result"/.test(line),
  isProgress: (line) => PROGRESS.test(line) && !USER_ECHO.test(line),
  parseStderr(line, state) {
    // The API error gemini relays on stderr (`status: 429`, `"status": "UNAUTHENTICATED"`) while it retries.
    // "Attempt 1 failed: Resource has been exhausted" then "Suggested retry after 7s.. Retrying after 7057ms...".
    const delay = retryDelayInText(line) ?? (Number(/Retrying after (\d+)ms/.exec(line)?.[1]) || null);
    if (delay !== null && state.fatal?.cls === 'rate_limit') state.retryAfterMs ??= delay;
    const cls = classify(line);
    if (cls === 'unknown' || !/\b(status|error|failed)\b/i.test(line)) return;
    noteRetry(state, cls, line.trim().slice(0, 300), delay, Number(/Attempt (\d+)/.exec(line)?.[1] ?? 0));
  },
  parseLine(line, state: StreamState): AgentEvent[] {
    const f = parseJsonLine(line, state);
    if (!f) return [];
    const events: AgentEvent[] = [];
    switch (f['type']) {
      case 'init':
        state.sessionId = typeof f['session_id'] === 'string' ? f['session_id'] : state.sessionId;
        // `auto` is a routing choice, not a model: the real one is in the result's stats.
        if (typeof f['model'] === 'string' && f['model'] !== 'auto') state.model = f['model'];
        break;
      case 'message':
        if (f['role'] === 'assistant' && typeof f['content'] === 'string') {
          // Assistant text arrives as deltas: concatenate.
          if (f['delta'] === true && state.texts.length > 0) state.texts[state.texts.length - 1] += f['content'];
          else state.texts.push(f['content']);
          events.push({ type: 'message', text: f['content'] });
        }
        break;
      case 'tool_use':
        events.push({ type: 'tool_use', name: String(f['tool_name'] ?? 'tool'), input: f['parameters'] });
        break;
      case 'error':
        if (f['severity'] === 'error') {
          state.errors.push(String(f['message'] ?? 'error'));
          state.errorClass = classify(String(f['message'] ?? ''));
        }
        break;
      case 'result': {
        state.terminal = f;
        const s = (f['stats'] ?? {}) as Record<string, unknown>;
        state.usage = { input: num(s['input_tokens']), output: num(s['output_tokens']), cacheRead: num(s['cached']) };
        const models = s['models'];
        if (models && typeof models === 'object')
          state.model =
            mainModel(models as Record<string, Record<string, unknown>>, (u) => num(u['total_tokens'])) ?? state.model;
        events.push({ type: 'usage', usage: state.usage });
        break;
      }
      default:
        break;
    }
    return events;
  },
  finalize(state, exit) {
    const base = { usage: state.usage, reportedCostUsd: null, sessionId: state.sessionId, model: state.model };
    const output = state.texts.join('');
    const t = state.terminal;
    if (t) {
      if (t['status'] === 'success' && state.errors.length === 0)
        return { ...base, output, status: 'success', errorClass: null, errorMessage: null };
      const err = (t['error'] ?? {}) as { message?: unknown };
      const message = state.errors.at(-1) ?? String(err.message ?? 'gemini reported an error');
      const cls = state.errorClass && state.errorClass !== 'unknown' ? state.errorClass : classify(message);
      return {
        ...base,
        output,
        status: 'failure',
        errorClass: cls === 'unknown' ? 'process' : cls,
        errorMessage: message,
      };
    }
    return { ...base, output, ...outcomeWithoutTerminal(state, exit, (code) => EXIT_CLASSES[code] ?? null) };
  },
};
