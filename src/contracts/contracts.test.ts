import { describe, expect, it } from 'vitest';
import {
  EXIT_CODES,
  PolicySchema,
  SCHEMA_KINDS,
  TicketFrontmatterSchema,
  WorkflowTopologySpecSchema,
  parseArtifact,
  toJsonSchema,
} from './index.js';

describe('contracts', () => {
  it('exports a draft 2020-12 JSON Schema for every artifact kind', () => {
    for (const kind of SCHEMA_KINDS) {
      const schema = toJsonSchema(kind);
      expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema['title']).toBeTypeOf('string');
    }
    expect(SCHEMA_KINDS).toEqual(
      expect.arrayContaining([
        'topology',
        'mental-model',
        'execution-plan',
        'ticket',
        'handoff',
        'collaboration',
        'audit-payload',
        'callback',
        'manifest',
        'manifest-index-record',
        'policy',
        'anchor',
      ]),
    );
  });
  it('requires rsv_total on a topology (CC-01), unlike the v0.0.3 schema', () => {
    const r = WorkflowTopologySpecSchema.safeParse({
      run_id: '20261121-msowd-x',
      topology_type: 'linear',
      nodes: [{ id: 'T1', label: 'one', theta_gt_band: 'wide' }],
      edges: [],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain('rsv_total');
  });
  it('requires a ticket title and names a bad dependency by its path', () => {
    expect(() =>
      parseArtifact(
        TicketFrontmatterSchema,
        {
          id: 'TKT-0001',
          task_context_id: 'TKT-0001',
          status: 'todo',
          owner: 'agent',
          due_by: '2026-11-28',
          created: '2026-11-21',
          updated: '2026-11-21',
          dependencies: ['TKT-0002-foo'],
        },
        'TKT-0001.md',
      ),
    ).toThrow(/title: .*dependencies\[0\]: must be a ticket id/);
  });
  it('fills every policy default and refuses unknown keys', () => {
    const p = PolicySchema.parse({});
    expect(p.run_policy.max_active_runs).toBe(10);
    expect(p.relocation_policy.on_peer_missing).toBe('warn_and_continue');
    expect(() => parseArtifact(PolicySchema, { run_policy: { max_actve_runs: 3 } }, 'policy.yaml')).toThrow(
      /policy.yaml: run_policy.max_actve_runs: unknown key/,
    );
  });
  it('maps every error category to the documented exit code', () => {
    expect(EXIT_CODES).toEqual({
      invalid: 2,
      not_found: 2,
      conflict: 1,
      unavailable: 1,
      failed: 1,
      busy: 3,
      internal: 70,
    });
  });
});
