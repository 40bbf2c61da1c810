import { classifyMessage } from '../classify.js';
import type { AgentEvent } from '../types.js';
import { outcomeWithoutTerminal, parseJsonLine, type CliDialect, type StreamState } from './dialect.js';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Codex CLI: `codex exec --json ... -`, prompt on stdin; only `turn.completed` counts as success. */
export const codexDialect: CliDialect = {
  defaultCommand: 'codex',
  provider: 'openai',
  args(req, cfg) {
    const args = ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-C', req.cwd];
    const model = req.model ?? cfg.model;
    if (model) args.push('-m', model);
    return { args: [...args, ...cfg.args, '-'], stdinText: req.instructions };
  },
  isTerminal: (line) => /"type"\s*:\s*"turn\.(completed|failed)"/.test(line),
  parseLine(line, state: StreamState): AgentEvent[] {
    const f = parseJsonLine(line, state);
    if (!f) return [];
    const events: AgentEvent[] = [];
    const item = (f['item'] ?? {}) as Record<string, unknown>;
    switch (f['type']) {
      case 'thread.started':
        state.sessionId = typeof f['thread_id'] === 'string' ? f['thread_id'] : state.sessionId;
        break;
      case 'item.completed':
        if (item['type'] === 'agent_message' && typeof item['text'] === 'string') {
          state.texts.push(item['text']);
          events.push({ type: 'message', text: item['text'] });
        } else if (item['type'] === 'command_execution') {
          events.push({
            type: 'tool_use',
            name: 'command',
            input: { command: item['command'], exit_code: item['exit_code'] },
          });
        } else if (item['type'] === 'file_change') {
          events.push({ type: 'tool_use', name: 'file_change', input: item['changes'] });
        }
        break;
      case 'turn.completed': {
        state.terminal = f;
        const u = (f['usage'] ?? {}) as Record<string, unknown>;
        state.usage = {
          input: num(u['input_tokens']),
          output: num(u['output_tokens']),
          cacheRead: num(u['cached_input_tokens']),
        };
        events.push({ type: 'usage', usage: state.usage });
        break;
      }
      case 'turn.failed': {
        state.terminal = f;
        const msg = String(((f['error'] ?? {}) as { message?: unknown }).message ?? 'turn failed');
        state.errors.push(msg);
        break;
      }
      case 'error':
        // Top-level errors such as "Reconnecting..." are transient unless no terminal event follows.
        state.errors.push(String(f['message'] ?? 'error'));
        break;
      default:
        break;
    }
    return events;
  },
  finalize(state, exit) {
    const base = { usage: state.usage, reportedCostUsd: null, sessionId: state.sessionId, model: null };
    const output = state.texts.at(-1) ?? '';
    const t = state.terminal;
    if (t?.['type'] === 'turn.completed')
      return { ...base, output, status: 'success', errorClass: null, errorMessage: null };
    if (t?.['type'] === 'turn.failed') {
      const message = state.errors.at(-1) ?? 'turn failed';
      const cls = classifyMessage(message);
      return {
        ...base,
        output,
        status: 'failure',
        errorClass: cls === 'unknown' ? 'process' : cls,
        errorMessage: message,
      };
    }
    if (state.errors.length > 0) state.errorClass = classifyMessage(state.errors.at(-1) ?? '');
    if (state.errorClass === 'unknown') state.errorClass = null;
    return { ...base, output, ...outcomeWithoutTerminal(state, exit) };
  },
};
