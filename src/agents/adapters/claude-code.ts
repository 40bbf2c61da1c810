import { classifyHttp, classifyMessage } from '../classify.js';
import { CLAUDE_TABLE } from '../cli-table.js';
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

const PROGRESS = /"type"\s*:\s*"(assistant|user|result|stream_event)"/;

/** Claude Code headless: `claude -p --output-format stream-json --verbose`, prompt on stdin, session id set first. */
export const claudeDialect: CliDialect = {
  table: CLAUDE_TABLE,
  versionInStream: true,
  args(req, cfg, sessionId, modeFlags) {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', '--session-id', sessionId, ...modeFlags];
    args.push('--max-turns', String(req.maxTurns ?? cfg.maxTurns ?? 50));
    if (req.budgetUsd !== undefined) args.push('--max-budget-usd', String(req.budgetUsd));
    const model = req.model ?? cfg.model;
    if (model) args.push('--model', model);
    return [...args, ...cfg.args];
  },
  isTerminal: (line) => line.includes('"type":"result"') || line.includes('"type": "result"'),
  isProgress: (line) => PROGRESS.test(line),
  parseLine(line, state: StreamState): AgentEvent[] {
    const f = parseJsonLine(line, state);
    if (!f) return [];
    const events: AgentEvent[] = [];
    if (f['type'] === 'system' && f['subtype'] === 'api_retry') {
      // Claude retries by itself, even a bad key (10 tries over minutes): a certain failure ends the call now.
      const status = typeof f['error_status'] === 'number' ? f['error_status'] : undefined;
      const err = typeof f['error'] === 'string' ? f['error'] : '';
      const named = classifyMessage(err, CLAUDE_TABLE.failures);
      // No HTTP status at all: the request never got an answer (refused, dropped, DNS).
      const cls = named !== 'unknown' ? named : status !== undefined ? classifyHttp(status, err) : 'network';
      const message = `API error${status !== undefined ? ` ${status}` : ''}: ${err || 'unknown'} (retry ${num(f['attempt'])}/${num(f['max_retries'])})`;
      const delay = typeof f['retry_delay_ms'] === 'number' ? f['retry_delay_ms'] : null;
      const e = noteRetry(state, cls, message, delay, num(f['attempt']));
      if (e) events.push(e);
    } else if (f['type'] === 'system' && f['subtype'] === 'init') {
      state.sessionId = typeof f['session_id'] === 'string' ? f['session_id'] : state.sessionId;
      state.model = typeof f['model'] === 'string' ? f['model'] : state.model;
      if (typeof f['claude_code_version'] === 'string') state.cliVersion = f['claude_code_version'];
    } else if (f['type'] === 'assistant') {
      const msg = (f['message'] ?? {}) as { content?: Array<Record<string, unknown>> };
      for (const block of msg.content ?? []) {
        if (block['type'] === 'text' && typeof block['text'] === 'string') {
          state.texts.push(block['text']);
          events.push({ type: 'message', text: block['text'] });
        } else if (block['type'] === 'tool_use') {
          events.push({ type: 'tool_use', name: String(block['name'] ?? 'tool'), input: block['input'] });
        }
      }
      if (typeof f['error'] === 'string') {
        state.errorClass = classifyMessage(f['error'], CLAUDE_TABLE.failures);
        state.errors.push(f['error']);
      }
    } else if (f['type'] === 'rate_limit_event') {
      const info = (f['rate_limit_info'] ?? {}) as { status?: string };
      if (info.status === 'rejected') {
        state.errorClass = 'rate_limit';
        state.fatal ??= { cls: 'rate_limit', message: 'the rate limit was rejected' };
      }
    } else if (f['type'] === 'result') {
      state.terminal = f;
      if (typeof f['session_id'] === 'string') state.sessionId = f['session_id'];
      const modelUsage = f['modelUsage'] as Record<string, Record<string, unknown>> | undefined;
      if (modelUsage && Object.keys(modelUsage).length > 0) {
        // modelUsage includes subagents: the right field for accounting.
        let input = 0;
        let output = 0;
        let cache = 0;
        for (const u of Object.values(modelUsage)) {
          input += num(u['inputTokens']) + num(u['cacheReadInputTokens']) + num(u['cacheCreationInputTokens']);
          output += num(u['outputTokens']);
          cache += num(u['cacheReadInputTokens']);
        }
        // The model that did the work (the init frame may name an alias).
        state.model = mainModel(modelUsage, (u) => num(u['outputTokens']) + num(u['inputTokens'])) ?? state.model;
        state.usage = { input, output, cacheRead: cache };
      } else {
        const u = (f['usage'] ?? {}) as Record<string, unknown>;
        state.usage = {
          input: num(u['input_tokens']) + num(u['cache_read_input_tokens']) + num(u['cache_creation_input_tokens']),
          output: num(u['output_tokens']),
          cacheRead: num(u['cache_read_input_tokens']),
        };
      }
      events.push({ type: 'usage', usage: state.usage });
    }
    return events;
  },
  finalize(state, exit) {
    const base = {
      output: '',
      usage: state.usage,
      reportedCostUsd: null as number | null,
      sessionId: state.sessionId,
      model: state.model,
    };
    const r = state.terminal;
    if (!r) return { ...base, output: state.texts.join('\n'), ...outcomeWithoutTerminal(state, exit) };
    const text = typeof r['result'] === 'string' ? r['result'] : state.texts.join('\n');
    const cost = typeof r['total_cost_usd'] === 'number' ? r['total_cost_usd'] : null;
    if (r['subtype'] === 'success' && r['is_error'] !== true) {
      return { ...base, output: text, reportedCostUsd: cost, status: 'success', errorClass: null, errorMessage: null };
    }
    const errors = Array.isArray(r['errors']) ? (r['errors'] as unknown[]).map(String) : [];
    const message = errors[0] ?? (text || String(r['subtype']));
    let cls: ErrorClass;
    if (r['subtype'] === 'error_max_turns') cls = 'max_turns';
    else if (r['subtype'] === 'error_max_budget_usd') cls = 'budget';
    else if (typeof r['api_error_status'] === 'number') cls = classifyHttp(r['api_error_status'], message);
    else cls = state.errorClass ?? classifyMessage(message, CLAUDE_TABLE.failures);
    return {
      ...base,
      output: text,
      reportedCostUsd: cost,
      status: 'failure',
      errorClass: cls === 'unknown' ? 'process' : cls,
      errorMessage: message,
    };
  },
};
