import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server does for one request. */
export type Behavior =
  | { readonly kind: 'ok'; readonly text?: string; readonly inputTokens?: number; readonly outputTokens?: number }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly message?: string;
      readonly code?: string;
    }
  | { readonly kind: 'slow_first'; readonly delayMs: number; readonly text?: string }
  | { readonly kind: 'stall'; readonly text?: string };

export type Protocol = 'openai' | 'anthropic' | 'google';

/** A loopback HTTP server speaking OpenAI Chat Completions, Anthropic Messages and Gemini, JSON and SSE. */
export interface FakeLlmServer {
  readonly url: string;
  readonly requests: Array<{ protocol: Protocol; path: string; body: Record<string, unknown> }>;
  /** Queues behaviours for a protocol; when the queue is empty, requests succeed with a default answer. */
  script(protocol: Protocol, ...behaviors: Behavior[]): void;
  close(): Promise<void>;
}

const sse = (res: ServerResponse, lines: string[]): void => {
  for (const l of lines) res.write(l);
};

function answer(
  protocol: Protocol,
  b: Extract<Behavior, { kind: 'ok' }>,
  model: string,
  stream: boolean,
  res: ServerResponse,
): void {
  const text = b.text ?? 'hello from the fake model';
  const input = b.inputTokens ?? 12;
  const output = b.outputTokens ?? 7;
  const half = Math.ceil(text.length / 2);
  const parts = [text.slice(0, half), text.slice(half)];
  if (protocol === 'openai') {
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    sse(res, [
      chunk({ role: 'assistant', content: '' }, null),
      ...parts.map((p) => chunk({ content: p }, null)),
      chunk({}, 'stop'),
    ]);
    sse(res, [
      `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 0, model, choices: [], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } })}\n\n`,
      'data: [DONE]\n\n',
    ]);
    res.end();
  } else if (protocol === 'anthropic') {
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: input, output_tokens: output },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const ev = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    sse(res, [
      ev('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: input, output_tokens: 1 },
        },
      }),
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ...parts.map((p) =>
        ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } }),
      ),
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
      ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: output },
      }),
      ev('message_stop', { type: 'message_stop' }),
    ]);
    res.end();
  } else {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const usageMetadata = { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output };
    sse(res, [
      `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: parts[0] }], role: 'model' }, index: 0 }], usageMetadata })}\n\n`,
      `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: parts[1] }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata })}\n\n`,
    ]);
    res.end();
  }
}

function errorBody(protocol: Protocol, status: number, message: string, code?: string): string {
  if (protocol === 'anthropic') {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 401
          ? 'authentication_error'
          : status >= 500
            ? 'api_error'
            : 'invalid_request_error';
    return JSON.stringify({ type: 'error', error: { type, message } });
  }
  if (protocol === 'google') return JSON.stringify({ error: { code: status, message, status: 'ERROR' } });
  return JSON.stringify({ error: { message, type: code ?? 'server_error', code: code ?? null } });
}

function protocolOf(path: string): Protocol | null {
  if (path.endsWith('/chat/completions')) return 'openai';
  if (path.endsWith('/messages')) return 'anthropic';
  if (path.includes(':streamGenerateContent') || path.includes(':generateContent')) return 'google';
  return null;
}

/** Starts the server on 127.0.0.1 with a random port. */
export async function startFakeLlmServer(): Promise<FakeLlmServer> {
  const queues: Record<Protocol, Behavior[]> = { openai: [], anthropic: [], google: [] };
  const requests: FakeLlmServer['requests'] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method === 'GET' && path.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
        return;
      }
      const protocol = protocolOf(path);
      if (!protocol) {
        res.writeHead(404).end('{}');
        return;
      }
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      requests.push({ protocol, path, body });
      const model = String(body['model'] ?? path.split('/models/')[1]?.split(':')[0] ?? 'fake');
      const stream = protocol === 'google' ? path.includes('stream') : body['stream'] === true;
      const b = queues[protocol].shift() ?? { kind: 'ok' };
      open.add(res);
      res.on('close', () => open.delete(res));
      if (b.kind === 'ok') answer(protocol, b, model, stream, res);
      else if (b.kind === 'status')
        res
          .writeHead(b.status, { 'content-type': 'application/json', ...b.headers })
          .end(errorBody(protocol, b.status, b.message ?? `status ${b.status}`, b.code));
      else if (b.kind === 'slow_first')
        setTimeout(
          () => answer(protocol, { kind: 'ok', ...(b.text ? { text: b.text } : {}) }, model, stream, res),
          b.delayMs,
        );
      else {
        // Send the start of an answer, then nothing: a stalled stream.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (protocol === 'openai')
          res.write(
            `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: { role: 'assistant', content: b.text ?? 'partial ' }, finish_reason: null }] })}\n\n`,
          );
        else if (protocol === 'anthropic') {
          res.write(
            `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } })}\n\n`,
          );
          res.write(
            `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
          );
          res.write(
            `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: b.text ?? 'partial ' } })}\n\n`,
          );
        } else
          res.write(
            `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: b.text ?? 'partial ' }], role: 'model' }, index: 0 }] })}\n\n`,
          );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (protocol, ...b) => queues[protocol].push(...b),
    close: async () => {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
