import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { createProgressRenderer } from './progress.js';

const io: CliIo = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: '/', isTTY: true };
const at = '2026-11-28T10:00:00.000Z';
const ev = (type: string, node: string | null, payload: Record<string, unknown>) => ({
  run_id: 'r1',
  at,
  type,
  node,
  payload,
});

describe('the live progress view', () => {
  it('marks an item for a person as waiting, though its node was running when it came', () => {
    const persisted: string[] = [];
    const fake = Object.assign(() => undefined, { persist: (s: string) => persisted.push(s), done: () => undefined });
    const view = createProgressRenderer(io, 'live', (() => fake) as never);
    view.listener?.(ev('run.started', null, { nodes: [{ id: 'b', agent: 'shell', state: 'pending' }] }));
    view.listener?.(ev('node.state', 'b', { state: 'running' }));
    view.listener?.(ev('hitl.created', 'b', { item: 'HITL-0001', kind: 'human_gate', title: 'approve b' }));
    view.listener?.(ev('node.state', 'b', { state: 'waiting', detail: 'HITL-0001' }));
    view.stop();
    expect(persisted).toEqual([
      '⏸ waiting for a person: HITL-0001 approve b (mso approve|reject r1 HITL-0001)',
      '⏸ b waiting (shell): HITL-0001  [0/1 done]',
    ]);
  });
});
