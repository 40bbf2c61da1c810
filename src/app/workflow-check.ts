import { resolve } from 'node:path';
import { z } from 'zod';
import { InvalidArtifactError, PolicySchema, toJsonSchema, type FieldIssue } from '../contracts/index.js';
import { importWorkflow, WorkflowFileSchema } from '../design/index.js';
import type { PlatformDeps } from '../platform/index.js';
import { readWorkflowInput } from './workflow-input.js';

/** The JSON Schema (draft 2020-12) an editor uses for a file people write: a workflow or `policy.yaml`. */
export function editorSchema(kind: 'workflow' | 'policy'): Record<string, unknown> {
  if (kind === 'policy') return toJsonSchema('policy');
  const json = z.toJSONSchema(WorkflowFileSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return { ...json, $id: 'https://mso.dev/schemas/workflow.schema.json', title: 'MSO workflow file' };
}

/**
 * `mso validate --workflow FILE`: the checks `mso run --workflow` makes before anything is written (schema, ids,
 * edges, cycles), without a run: every failing field path, or the node count.
 */
export async function validateWorkflowFile(
  deps: PlatformDeps,
  cwd: string,
  file: string,
): Promise<{ file: string; valid: boolean; nodes: number; issues: FieldIssue[] }> {
  const path = resolve(cwd, file);
  const policy = PolicySchema.parse({});
  try {
    // The same reading `mso run --workflow` does: size and node limits, YAML aliases, the file named.
    const { raw } = await readWorkflowInput(deps.fs, { path }, policy.design);
    const t = importWorkflow({
      raw,
      file: path,
      runId: '19700101-msowd-validate',
      policy,
      at: deps.clock.now().toISOString(),
    });
    return { file: path, valid: true, nodes: t.nodes.length, issues: [] };
  } catch (e) {
    if (e instanceof InvalidArtifactError) return { file: path, valid: false, nodes: 0, issues: [...e.issues] };
    throw e;
  }
}
