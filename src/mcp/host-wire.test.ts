import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { HostWire } from './host-wire.js';

function wire(): { w: HostWire; stdin: PassThrough; out: () => Array<Record<string, unknown>>; gone: string[] } {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString()));
  const gone: string[] = [];
  const w = new HostWire(
    stdin,
    stdout,
    (why) => gone.push(why),
    () => undefined,
  );
  const out = (): Array<Record<string, unknown>> =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { w, stdin, out, gone };
}
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const request = (id: number, token?: string): string =>
  `${JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'x', arguments: {}, ...(token ? { _meta: { progressToken: token } } : {}) },
  })}\n`;
const progress = (token: string): JSONRPCMessage =>
  ({
    jsonrpc: '2.0',
    method: 'notifications/progress',
    params: { progressToken: token, progress: 1 },
  }) as JSONRPCMessage;

describe('HostWire', () => {
  it('forwards progress only while its request is open', async () => {
    const { w, stdin, out } = wire();
    const seen: unknown[] = [];
    w.onmessage = (m) => seen.push(m);
    await w.start();
    stdin.write(request(1, 'p1'));
    await tick();
    expect(seen).toHaveLength(1);
    await w.send(progress('p1'));
    await w.send({ jsonrpc: '2.0', id: 1, result: {} } as JSONRPCMessage);
    await w.send(progress('p1'));
    await tick();
    expect(out().map((m) => m['method'] ?? m['id'])).toEqual(['notifications/progress', 1]);
  });

  it('reports the host leaving on stdin end without closing, then fails what is unanswered and refuses new requests', async () => {
    const { w, stdin, out, gone } = wire();
    let closed = false;
    w.onclose = () => (closed = true);
    w.onmessage = () => undefined;
    await w.start();
    stdin.write(request(7));
    stdin.write(request(8));
    await tick();
    expect(w.inFlight).toBe(2);
    await w.send({ jsonrpc: '2.0', id: 8, result: {} } as JSONRPCMessage);
    stdin.end();
    await tick();
    expect(gone).toEqual(['stdin closed']);
    expect(closed).toBe(false);
    w.beginStopping('host disconnected (stdin closed)');
    await w.finish(0);
    const answers = out();
    expect(answers.map((m) => m['id'])).toEqual([8, 7]);
    expect(answers[1]?.['error']).toMatchObject({ message: expect.stringMatching(/host disconnected/) });
    expect(w.inFlight).toBe(0);
    expect(closed).toBe(true);
  });

  it('answers a request that arrives while stopping with an error, without delivering it', async () => {
    const { w, stdin, out } = wire();
    const seen: unknown[] = [];
    w.onmessage = (m) => seen.push(m);
    await w.start();
    w.beginStopping('host disconnected (SIGTERM)');
    stdin.write(request(3));
    await tick();
    await tick();
    expect(seen).toEqual([]);
    expect(out()[0]).toMatchObject({ id: 3, error: { message: expect.stringMatching(/SIGTERM/) } });
  });
});
