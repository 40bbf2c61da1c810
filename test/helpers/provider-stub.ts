import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback stand-in for the three providers the real agent CLIs call: Anthropic Messages (Claude Code), OpenAI
 * Responses (Codex) and Gemini streamGenerateContent (Gemini CLI), all streamed as SSE. Each case is one way a
 * provider answers: success, a tool call that writes a file, 401, 403, 429 with a retry delay, 500, a hang (the
 * request is never answered) and a dropped connection.
 */
export type StubCase = 'ok' | 'write' | '401' | '403' | '429' | '500' | 'hang' | 'drop';
export type StubProtocol = 'anthropic' | 'openai' | 'google';

export interface StubRequest {
  readonly method: string;
  readonly path: string;
  readonly model: string | null;
  readonly at: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface ProviderStub {
  readonly url: string;
  readonly requests: StubRequest[];
  /** The model requests (what the CLI asked the provider for), not its side calls. */
  modelRequests(): StubRequest[];
  setCase(c: StubCase, writePath?: string): void;
  close(): Promise<void>;
}

/** The model the stub answers as; a CLI that reports the model it used reports this (or the one it asked for). */
export const STUB_TEXT = 'stub says hello';
export const RETRY_AFTER_S = 7;

const sse = (res: ServerResponse, frames: readonly string[]): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const f of frames) res.write(f);
  res.end();
};
const ev = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const data = (d: unknown): string => `data: ${JSON.stringify(d)}\n\n`;

function isModelCall(protocol: StubProtocol, method: string, path: string): boolean {
  if (method !== 'POST') return false;
  if (protocol === 'anthropic') return path.startsWith('/v1/messages') && !path.includes('count_tokens');
  if (protocol === 'openai') return path.endsWith('/responses');
  return path.includes(':streamGenerateContent') || path.includes(':generateContent');
}

function modelOf(protocol: StubProtocol, path: string, body: string): string | null {
  if (protocol === 'google') return /\/models\/([^:/]+):/.exec(path)?.[1] ?? null;
  try {
    const m = (JSON.parse(body) as { model?: unknown }).model;
    return typeof m === 'string' ? m : null;
  } catch {
    return null;
  }
}

/** True when the request already carries the result of our tool call (the second turn). */
function hasToolResult(protocol: StubProtocol, body: string): boolean {
  if (protocol === 'anthropic') return body.includes('"tool_result"');
  if (protocol === 'openai')
    return body.includes('"function_call_output"') || body.includes('"custom_tool_call_output"');
  return body.includes('"functionResponse"');
}

function errorAnswer(protocol: StubProtocol, status: number, res: ServerResponse): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429) headers['retry-after'] = String(RETRY_AFTER_S);
  let body: unknown;
  if (protocol === 'anthropic') {
    const type = { 401: 'authentication_error', 403: 'permission_error', 429: 'rate_limit_error', 500: 'api_error' }[
      status
    ];
    body = { type: 'error', error: { type, message: `stub ${status}` } };
  } else if (protocol === 'openai') {
    const err = {
      401: { message: 'Incorrect API key provided: sk-****.', type: 'invalid_request_error', code: 'invalid_api_key' },
      403: { message: 'You are not allowed to use this model.', type: 'permission_error', code: 'forbidden' },
      429: {
        message: `Rate limit reached. Please try again in ${RETRY_AFTER_S}s.`,
        type: 'requests',
        code: 'rate_limit_exceeded',
      },
      500: { message: 'The server had an error while processing your request.', type: 'server_error', code: null },
    }[status];
    body = { error: err };
  } else {
    const status_ = { 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL' }[
      status
    ];
    const message = {
      401: 'API key not valid. Please pass a valid API key.',
      403: 'Permission denied on resource project stub.',
      429: 'Resource has been exhausted (e.g. check quota).',
      500: 'Internal error encountered.',
    }[status];
    body = {
      error: {
        code: status,
        message,
        status: status_,
        ...(status === 429
          ? { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${RETRY_AFTER_S}s` }] }
          : {}),
      },
    };
  }
  res.writeHead(status, headers).end(JSON.stringify(body));
}

function anthropicAnswer(model: string, res: ServerResponse, tool: { path: string } | null): void {
  const usage = { input_tokens: 21, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  const block = tool
    ? [
        ev('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'tool_use', id: 'toolu_stub_1', name: 'Write', input: {} },
        }),
        ev('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: {
            type: 'input_json_delta',
            partial_json: JSON.stringify({ file_path: tool.path, content: 'written by the stub\n' }),
          },
        }),
      ]
    : [
        ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        ev('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text: STUB_TEXT },
        }),
      ];
  sse(res, [
    ev('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_stub_1',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage,
      },
    }),
    ...block,
    ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
    ev('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: 5 },
    }),
    ev('message_stop', { type: 'message_stop' }),
  ]);
}

function openaiAnswer(model: string, res: ServerResponse, tool: { path: string } | null): void {
  const id = 'resp_stub_1';
  const item = tool
    ? {
        type: 'function_call',
        id: 'fc_stub_1',
        call_id: 'call_stub_1',
        name: 'exec_command',
        arguments: JSON.stringify({ cmd: `printf 'written by the stub\\n' > '${tool.path}'` }),
        status: 'completed',
      }
    : {
        type: 'message',
        id: 'msg_stub_1',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: STUB_TEXT, annotations: [] }],
      };
  sse(res, [
    ev('response.created', { type: 'response.created', response: { id, model, status: 'in_progress' } }),
    ev('response.output_item.added', { type: 'response.output_item.added', output_index: 0, item }),
    ev('response.output_item.done', { type: 'response.output_item.done', output_index: 0, item }),
    ev('response.completed', {
      type: 'response.completed',
      response: {
        id,
        model,
        status: 'completed',
        output: [item],
        usage: {
          input_tokens: 21,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 5,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 26,
        },
      },
    }),
  ]);
}

function googleAnswer(model: string, res: ServerResponse, tool: { path: string } | null, stream: boolean): void {
  const parts =
    tool && stream
      ? [{ functionCall: { name: 'write_file', args: { file_path: tool.path, content: 'written by the stub\n' } } }]
      : // Gemini's model router asks a non-streamed question first and expects JSON text back.
        [{ text: stream ? STUB_TEXT : JSON.stringify({ reasoning: 'simple', complexity_score: 10 }) }];
  const answer = {
    candidates: [{ content: { parts, role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 21, candidatesTokenCount: 5, totalTokenCount: 26 },
    modelVersion: model,
  };
  if (stream) sse(res, [data(answer)]);
  else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
}

/** Starts the stub for one protocol on 127.0.0.1 (a random port). */
export async function startProviderStub(protocol: StubProtocol, initial: StubCase = 'ok'): Promise<ProviderStub> {
  let current: StubCase = initial;
  let writePath = '';
  const requests: StubRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const model = isModelCall(protocol, req.method ?? '', path) ? modelOf(protocol, path, body) : null;
      requests.push({ method: req.method ?? '', path, model, at: Date.now(), headers: req.headers, body });
      if (!isModelCall(protocol, req.method ?? '', path)) {
        // Side calls (Claude's HEAD /api/hello, token counts, model lists): a plain empty answer.
        res.writeHead(req.method === 'HEAD' ? 200 : 404, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const m = model ?? 'stub-model';
      switch (current) {
        case 'ok':
        case 'write': {
          const tool = current === 'write' && !hasToolResult(protocol, body) ? { path: writePath } : null;
          if (protocol === 'anthropic') anthropicAnswer(m, res, tool);
          else if (protocol === 'openai') openaiAnswer(m, res, tool);
          else googleAnswer(m, res, tool, path.includes(':streamGenerateContent'));
          return;
        }
        case '401':
        case '403':
        case '429':
        case '500':
          errorAnswer(protocol, Number(current), res);
          return;
        case 'hang':
          return; // never answered; the socket stays open until the client gives up or the stub closes
        case 'drop':
          req.socket.destroy();
          return;
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    modelRequests: () => requests.filter((r) => r.model !== null),
    setCase(c, path = '') {
      current = c;
      writePath = path;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
