import { classifyMessage } from '../classify.js';
import type { AgentEvent, ErrorClass } from '../types.js';
import { outcomeWithoutTerminal, parseJsonLine, type CliDialect, type StreamState } from './dialect.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

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

/** Gemini CLI: `gemini -p PROMPT -o stream-json`; an `error{severity:error}` fails the run whatever `result` says. */
export const geminiDialect: CliDialect = {
  defaultCommand: 'gemini',
  provider: 'google',
  args(req, cfg, sessionId) {
    const args = [
      '-p',
      req.instructions,
      '-o',
      'stream-json',
      '--approval-mode',
      req.permissionMode ?? cfg.permissionMode ?? 'yolo',
      '--session-id',
      sessionId,
    ];
    const model = req.model ?? cfg.model;
    if (model) args.push('-m', model);
    return { args: [...args, ...cfg.args], stdinText: undefined, env: { GEMINI_CLI_TRUST_WORKSPACE: 'true' } };
  },
  isTerminal: (line) => /"type"\s*:\s*"result"/.test(line),
  parseLine(line, state: StreamState): AgentEvent[] {
    const f = parseJsonLine(line, state);
    if (!f) return [];
    const events: AgentEvent[] = [];
    switch (f['type']) {
      case 'init':
        state.sessionId = typeof f['session_id'] === 'string' ? f['session_id'] : state.sessionId;
        state.model = typeof f['model'] === 'string' ? f['model'] : state.model;
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
          state.errorClass = classifyMessage(String(f['message'] ?? ''));
        }
        break;
      case 'result': {
        state.terminal = f;
        const s = (f['stats'] ?? {}) as Record<string, unknown>;
        state.usage = { input: num(s['input_tokens']), output: num(s['output_tokens']), cacheRead: num(s['cached']) };
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
      const cls = state.errorClass && state.errorClass !== 'unknown' ? state.errorClass : classifyMessage(message);
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
