import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePlatform } from '../platform/node/node-platform.js';
import type { AppDeps } from './create-app.js';
import { ARTIFACT_PATHS, planNodeIds } from './run-artifacts.js';

const deps = {
  ...nodePlatform(),
  logger: { warn: () => undefined, info: () => undefined },
  env: {},
  version: 'test',
} as AppDeps;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-artifacts-'));
  await mkdir(join(dir, '30_execution'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const plan = (text: string): Promise<void> => writeFile(join(dir, ARTIFACT_PATHS.plan), text);

describe('planNodeIds', () => {
  it("lists a plan's node ids without checking the rest of it", async () => {
    await plan(JSON.stringify({ execution_graph: { a: { type: 'commit' }, b: {} }, anything: 1 }));
    expect(await planNodeIds(deps, dir)).toEqual(['a', 'b']);
  });
  it('is null for a run with no plan, or a file that is not a plan', async () => {
    expect(await planNodeIds(deps, dir)).toBeNull();
    await mkdir(join(dir, ARTIFACT_PATHS.plan));
    expect(await planNodeIds(deps, dir), 'a folder').toBeNull();
    await rm(join(dir, ARTIFACT_PATHS.plan), { recursive: true });
    for (const text of ['{ not json', 'null', '[]', '{"execution_graph": []}', '{"execution_graph": "x"}']) {
      await plan(text);
      expect(await planNodeIds(deps, dir), text).toBeNull();
    }
  });
});
