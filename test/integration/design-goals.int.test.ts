import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MsoApp } from '../../src/app/index.js';
import { appIn } from '../helpers/app.js';
import { DESIGN_GOALS } from '../fixtures/design-goals.js';

let dir: string;
let app: MsoApp;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-goals-'));
  await mkdir(join(dir, 'ws', '.mso-context', 'config'), { recursive: true });
  await writeFile(join(dir, 'ws', '.mso-context', 'config', 'policy.yaml'), 'run_policy:\n  max_active_runs: 100\n');
  app = appIn(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The same application calls `mso design all` and `mso validate all` make (design.e2e runs a few through the CLI).
describe('design all → validate all, in process', () => {
  it(`passes with zero findings for ${DESIGN_GOALS.length} varied goals (English and Korean)`, async () => {
    const types = new Map<string, string>();
    // Concurrently, as several users would: each design is a run folder of its own (the time is in the disk syncs).
    await Promise.all(
      DESIGN_GOALS.map(async (goal, i) => {
        const d = await app.design.all({ goal, risk: i % 3 === 0 ? 'high' : 'medium' });
        const v = await app.design.validate(d.run_id, 'all');
        expect(v.findings, `${goal}: ${JSON.stringify(v.findings)}`).toEqual([]);
        expect(v.status, goal).toBe('ok');
        types.set(goal, d.topology.topology_type);
      }),
    );
    expect([...new Set(types.values())].sort()).toEqual(['dag', 'fan_in', 'fan_out', 'linear', 'loop']);
  });
});
