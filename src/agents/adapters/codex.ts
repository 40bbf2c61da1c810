import { classifyMessage, retryDelayInText } from '../classify.js';
import { CODEX_TABLE } from '../cli-table.js';
import type { AgentEvent } from '../types.js';
import { noteRetry, num, outcomeWithoutTerminal, parseJsonLine, type CliDialect, type StreamState } from './dialect.js';

const PROGRESS = /"type"\s*:\s*"(item\.(started|updated|completed)|turn\.(completed|failed))"/;
const ERROR_ITEM = /"item"\s*:\s*\{[^{}]*"type"\s*:\s*"error"/;
const RECONNECTING = /^Reconnecting\.\.\.\s*(\d+)\/(\d+)\s*\((.*)\)\s*$/s;

const classify = (message: string) => classifyMessage(message, CODEX_TABLE.failures);

/** The top-level `model` of a Codex config.toml (keys before the first table), or null. */
export function topLevelTomlString(toml: string, key: string): string | null {
  for (const raw of toml.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) return null;
    const m = new RegExp(`^${key}\\s*=\\s*("([^"\\\\]*)"|'([^']*)')\\s*(#.*)?$`).exec(line);
    if (m) return m[2] ?? m[3] ?? null;
  }
  return null;
}

/** Codex CLI: `codex exec --json ... -`, prompt on stdin; only `turn.completed` counts as success. */
export const codexDialect: CliDialect = {
  table: CODEX_TABLE,
  args(req, cfg, _sessionId, modeFlags) {
    const args = ['exec', '--json', '--skip-git-repo-check', ...modeFlags, '-C', req.cwd];
    const model = req.model ?? cfg.model;
    if (model) args.push('-m', model);
    return [...args, ...cfg.args, '-'];
  },
  async configuredModel(env, read) {
    // Codex's events never name the model: it is the one its config selects.
    const home = env['CODEX_HOME'] ?? (env['HOME'] ? `${env['HOME']}/.codex` : undefined);
    const text = home ? await read(`${home}/config.toml`) : null;
    return text ? topLevelTomlString(text, 'model') : null;
  },
  isTerminal: (line) => /"type"\s*:\s*"turn\.(completed|failed)"/.test(line),
  isProgress: (line) => PROGRESS.test(line) && !ERROR_ITEM.test(line),
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
      case 'error': {
        // "Reconnecting... 2/5 (unexpected status 401 Unauthorized: ...)": Codex retrying by itself.
        const message = String(f['message'] ?? 'error');
        state.errors.push(message);
        const r = RECONNECTING.exec(message);
        if (r) {
          const e = noteRetry(state, classify(r[3] ?? ''), message, retryDelayInText(message), Number(r[1]));
          if (e) events.push(e);
        }
        break;
      }
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
      const cls = classify(message);
      if (cls === 'rate_limit') state.retryAfterMs ??= retryDelayInText(message);
      return {
        ...base,
        output,
        status: 'failure',
        errorClass: cls === 'unknown' ? 'process' : cls,
        errorMessage: message,
      };
    }
    if (state.errors.length > 0) state.errorClass = classify(state.errors.at(-1) ?? '');
    if (state.errorClass === 'unknown') state.errorClass = null;
    return { ...base, output, ...outcomeWithoutTerminal(state, exit) };
  },
};
