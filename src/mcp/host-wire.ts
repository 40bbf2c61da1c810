import { PassThrough, type Readable, type Writable } from 'node:stream';
import {
  isJSONRPCNotification,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';

type RequestId = string | number;

/** A result or error response (by shape: the SDK's own guard may not count error responses). */
const responseId = (m: JSONRPCMessage): RequestId | undefined => {
  const r = m as { id?: RequestId; method?: string; result?: unknown; error?: unknown };
  return r.method === undefined && r.id !== undefined && ('result' in r || 'error' in r) ? r.id : undefined;
};

/** JSON-RPC "internal error": what a request still unanswered when the server stops is failed with. */
const SHUTTING_DOWN = -32603;

/**
 * The stdio wire of `mso mcp`, around the SDK's stdio transport. Unlike a bare stdio transport it:
 * - reports the host leaving (stdin end or close, stdout broken) instead of tearing the connection down at once, so
 *   the server can stop its runs and still answer every request in flight (`finish`);
 * - refuses requests that arrive once the server is stopping, with an error response;
 * - drops any progress notification for a request already answered (clients on the 1.x SDK fail on those).
 */
export class HostWire implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T) => void) | undefined;

  private readonly input = new PassThrough();
  private readonly inner: StdioServerTransport;
  /** Requests received and not yet answered, with their progress token. */
  private readonly open = new Map<RequestId, string | number | undefined>();
  private readonly tokens = new Set<string | number>();
  private idle: Array<() => void> = [];
  private stopping: string | null = null;

  constructor(
    private readonly stdin: Readable,
    stdout: Writable,
    /** Called once, when the host is gone: stdin ended or closed, or the transport closed under us. */
    private readonly onHostGone: (why: string) => void,
    private readonly log: (line: string) => void,
  ) {
    this.inner = new StdioServerTransport(this.input, stdout);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.input.write(chunk);
  };
  private left = false;
  /** Reports the host gone once, whatever fires first (stdin end and close both come). */
  private gone(why: string): void {
    if (this.left) return;
    this.left = true;
    this.onHostGone(why);
  }
  private readonly onEnd = (): void => this.gone('stdin closed');

  async start(): Promise<void> {
    this.inner.onerror = (e) => this.onerror?.(e);
    this.inner.onclose = () => {
      this.gone('transport closed');
      this.onclose?.();
    };
    this.inner.onmessage = (message: JSONRPCMessage) => this.receive(message);
    await this.inner.start();
    this.stdin.on('data', this.onData);
    this.stdin.once('end', this.onEnd);
    this.stdin.once('close', this.onEnd);
    if (this.stdin.readableEnded || this.stdin.destroyed) setImmediate(this.onEnd);
  }

  private receive(message: JSONRPCMessage): void {
    if (isJSONRPCRequest(message)) {
      if (this.stopping !== null) {
        void this.inner
          .send({
            jsonrpc: '2.0',
            id: message.id,
            error: { code: SHUTTING_DOWN, message: `mso mcp is stopping (${this.stopping}); start a new server` },
          })
          .catch(() => undefined);
        return;
      }
      const meta = (message.params as { _meta?: { progressToken?: string | number } } | undefined)?._meta;
      const token = meta?.progressToken;
      this.open.set(message.id, token);
      if (token !== undefined) this.tokens.add(token);
    } else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      // A cancelled request gets no response (by the protocol): it is no longer in flight.
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (id !== undefined) this.answered(id);
    }
    this.onmessage?.(message);
  }

  private answered(id: RequestId): void {
    const token = this.open.get(id);
    if (token !== undefined) this.tokens.delete(token);
    this.open.delete(id);
    if (this.open.size === 0) for (const wake of this.idle.splice(0)) wake();
  }

  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (isJSONRPCNotification(message) && message.method === 'notifications/progress') {
      const token = (message.params as { progressToken?: string | number } | undefined)?.progressToken;
      if (token === undefined || !this.tokens.has(token)) {
        this.log(`mso mcp: dropped a progress notification for a request already answered (token ${String(token)})`);
        return;
      }
    }
    // Closed before the response is written, so no progress for this request can slip in after it.
    const id = responseId(message);
    if (id !== undefined) this.answered(id);
    await this.inner.send(message);
  }

  /** Requests still unanswered. */
  get inFlight(): number {
    return this.open.size;
  }

  /** From now on, new requests are refused with an error response. */
  beginStopping(why: string): void {
    this.stopping ??= why;
  }

  /**
   * Waits (at most `graceMs`) for the requests in flight to be answered, fails the rest with an error response, then
   * closes the transport and stops reading stdin.
   */
  async finish(graceMs: number): Promise<void> {
    this.beginStopping('closing');
    if (this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.idle.push(r)),
        new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
      ]);
      clearTimeout(timer);
    }
    for (const id of [...this.open.keys()]) {
      await this.inner
        .send({
          jsonrpc: '2.0',
          id,
          error: {
            code: SHUTTING_DOWN,
            message: `mso mcp stopped (${this.stopping}) before this request was answered`,
          },
        })
        .catch(() => undefined);
      this.answered(id);
    }
    this.stdin.off('data', this.onData);
    this.stdin.off('end', this.onEnd);
    this.stdin.off('close', this.onEnd);
    this.stdin.destroy();
    await this.close();
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}
