import { describe, expect, it } from 'vitest';
import type { WorkflowTopologySpec } from '../contracts/index.js';
import { mermaidText, toMermaid } from './render.js';

const hostile = ['end', 'style', 'a-b', 'graph', 'click', 'x"y', 'subgraph'];

function topology(ids: readonly string[], label: (id: string) => string): WorkflowTopologySpec {
  return {
    run_id: '20261127-msowd-x',
    topology_type: 'linear',
    nodes: ids.map((id) => ({ id, label: label(id), persona: 'p<1>', theta_gt_band: 'moderate' })),
    edges: ids.slice(1).map((id, i) => ({ from: ids[i] as string, to: id, type: 'data' })),
    execution_policy: { human_gate_nodes: ['style'] },
  } as unknown as WorkflowTopologySpec;
}

describe('toMermaid', () => {
  it('gives every node its own Mermaid id and keeps hostile ids and labels as escaped text', () => {
    const text = toMermaid(topology(hostile, (id) => `say "hi" <b>${id}</b> & #1 | \`x\`\nnext`));
    const lines = text.split('\n');
    expect(lines[0]).toBe('flowchart LR');
    const nodes = lines.filter((l) => /^ {2}n\d+\[/.test(l));
    expect(nodes).toHaveLength(hostile.length);
    // A quoted label holds no raw quote, angle bracket, pipe, backtick or newline: Mermaid reads it whole.
    for (const l of nodes) {
      const m = /^ {2}n\d+\["(.*)"\]$/.exec(l);
      expect(m, l).not.toBeNull();
      expect((m?.[1] ?? '').replace(/<br\/>/g, '')).not.toMatch(/["<>|`]/);
    }
    expect(text).toContain('end: say #quot;hi#quot; #lt;b#gt;end#lt;/b#gt; #amp; #35;1 #124; #96;x#96; next');
    // Keywords never appear as ids: edges and styles use the n<i> ids.
    for (const l of lines.filter((x) => x.includes('-->'))) expect(l).toMatch(/^ {2}n\d+ --> n\d+$/);
    expect(lines).toContain('  style n1 stroke-dasharray: 5 5');
  });

  it('escapes # first so entity codes are not escaped twice', () => {
    expect(mermaidText('#quot;')).toBe('#35;quot;');
    expect(mermaidText('"')).toBe('#quot;');
  });
});
