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

describe('progress lines', () => {
  const retried = [
    ev('run.started', null, { nodes: [{ id: 'f', agent: 'shell', state: 'pending' }] }),
    ev('node.state', 'f', { state: 'running' }),
    ev('node.attempt', 'f', { agents: ['shell'] }),
    ev('node.failure', 'f', { error_class: 'process', message: 'exit 1: boom\nmore', action: 'retry' }),
    ev('node.retry', 'f', { rule: 'agent_error', retry: 1, of: 2 }),
    ev('node.attempt', 'f', { agents: ['shell'] }),
    ev('node.state', 'f', { state: 'done' }),
  ];
  it('say a node failed and is tried again, with why and which retry', () => {
    const lines: string[] = [];
    const view = createProgressRenderer({ ...io, isTTY: false, stderr: (s) => lines.push(s) }, 'lines');
    for (const e of retried) view.listener?.(e);
    expect(lines.map((l) => l.replace(/ in \d+\.\d s/, ''))).toEqual([
      'mso: run r1: 1 node(s), 0 already done\n',
      'mso: f running (shell)  [0/1 done]\n',
      'mso: f failed (shell): exit 1: boom; retry 1 of 2  [0/1 done]\n',
      'mso: f done (shell)  [1/1 done]\n',
    ]);
  });
  it('say nothing of running for a node stopped at its gate, whose ticket was blocked', () => {
    // A resume after a person rejected the node's gate: it was dispatched, its ticket blocked, and it failed unrun.
    const lines: string[] = [];
    const view = createProgressRenderer({ ...io, isTTY: false, stderr: (s) => lines.push(s) }, 'lines');
    for (const e of [
      ev('run.started', null, { nodes: [{ id: 'p', agent: 'shell', state: 'pending' }] }),
      ev('node.state', 'p', { state: 'running' }),
      ev('ticket.transition', 'p', { ticket: 'TKT-0002', from: 'todo', to: 'in_progress' }),
      ev('ticket.transition', 'p', { ticket: 'TKT-0002', from: 'in_progress', to: 'blocked' }),
      ev('node.state', 'p', { state: 'failed', detail: 'HITL-0001 rejected by ann: not today' }),
    ])
      view.listener?.(e);
    expect(lines.map((l) => l.replace(/ in \d+\.\d s/, ''))).toEqual([
      'mso: run r1: 1 node(s), 0 already done\n',
      'mso: p failed (shell): HITL-0001 rejected by ann: not today  [0/1 done]\n',
    ]);
  });
  it('give no time to a node a loop sent back to pending', () => {
    const lines: string[] = [];
    const view = createProgressRenderer({ ...io, isTTY: false, stderr: (s) => lines.push(s) }, 'lines');
    for (const e of [
      ev('run.started', null, { nodes: [{ id: 'w', agent: 'shell', state: 'pending' }] }),
      ev('node.state', 'w', { state: 'running' }),
      ev('node.attempt', 'w', { agents: ['shell'] }),
      ev('node.state', 'w', { state: 'done' }),
      ev('node.state', 'w', { state: 'pending', detail: 'loop iteration 2 of 3: exit 1' }),
    ])
      view.listener?.(e);
    expect(lines.at(-1)).toBe('mso: w pending (shell): loop iteration 2 of 3: exit 1  [0/1 done]\n');
  });
  it('keep the retry in the live view above the running nodes', () => {
    const persisted: string[] = [];
    const fake = Object.assign(() => undefined, { persist: (s: string) => persisted.push(s), done: () => undefined });
    const view = createProgressRenderer(io, 'live', (() => fake) as never);
    for (const e of retried) view.listener?.(e);
    view.stop();
    expect(persisted[0]).toBe('↻ f failed (shell): exit 1: boom; retry 1 of 2  [0/1 done]');
  });
});

describe('a chain that fell back', () => {
  it('says which agents failed and which one took the call', () => {
    const lines: string[] = [];
    const view = createProgressRenderer({ ...io, isTTY: false, stderr: (s) => lines.push(s) }, 'lines');
    view.listener?.(ev('run.started', null, { nodes: [{ id: 't', agent: 'a>b>manual', state: 'pending' }] }));
    view.listener?.(ev('node.state', 't', { state: 'running' }));
    const trail = [
      { agent: 'a', outcome: 'failure', reason: 'configuration problem (auth): bad key' },
      { agent: 'x', outcome: 'unavailable', reason: 'no model configured' },
      { agent: 'b', outcome: 'failure', reason: 'timeout' },
      { agent: 'manual', outcome: 'failure', reason: 'manual confirmation required' },
    ];
    view.listener?.(ev('agent.chain', 't', { trail, chosen: 'manual' }));
    // Agents that failed alike share one reason.
    const alike = { agent: 'b', outcome: 'failure', reason: 'configuration problem (auth): bad key' };
    view.listener?.(ev('agent.chain', 't', { trail: [trail[0], alike, trail[3]], chosen: 'manual' }));
    // A long reason is cut at a word, and says so.
    const long = {
      agent: 'g',
      outcome: 'failure',
      reason: 'configuration problem (auth): Please set an Auth method in your /home/someone/.gemini/settings.json',
    };
    view.listener?.(ev('agent.chain', 't', { trail: [trail[2], long, trail[3]], chosen: 'manual' }));
    // A chain whose first agent answered says nothing more.
    view.listener?.(ev('agent.chain', 't', { trail: [{ agent: 'a', outcome: 'success' }], chosen: 'a' }));
    expect(lines.slice(1)).toEqual([
      'mso: t running (a>b>manual)  [0/1 done]\n',
      'mso: t a (configuration problem (auth): bad key) and b (timeout) failed; went on with manual  [0/1 done]\n',
      'mso: t a and b failed (configuration problem (auth): bad key); went on with manual  [0/1 done]\n',
      'mso: t b (timeout) and g (configuration problem (auth): Please set an Auth method in your…) failed; went on with manual  [0/1 done]\n',
    ]);
  });
});
