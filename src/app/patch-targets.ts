import type { Document } from 'yaml';
import type { PatchOp, Proposal } from '../observe/index.js';
import { ARTIFACT_PATHS } from './run-artifacts.js';

/** A proposal that changes a run's design artifact rather than policy.yaml. */
export type DesignProposal = Proposal & { readonly target: Exclude<Proposal['target'], 'policy'> };

export const isDesignProposal = (p: Proposal): p is DesignProposal => p.target !== 'policy';

/** The run artifact a design proposal patches, relative to the run's folder. */
export function proposalArtifactPath(target: DesignProposal['target']): string {
  return ARTIFACT_PATHS[target === 'topology' ? 'topology' : target === 'mental_model' ? 'bundle' : 'plan'];
}

/**
 * Applies JSON Patch ops (already checked against the parsed document) to a YAML document in place, one setIn or
 * deleteIn per op, so the user's comments and layout survive.
 */
export function patchYamlDocument(doc: Document, ops: readonly PatchOp[]): void {
  for (const op of ops) {
    if (op.op === 'test') continue;
    const path = op.path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (op.op === 'remove') doc.deleteIn(path);
    else doc.setIn(path, doc.createNode(op.value));
  }
}
