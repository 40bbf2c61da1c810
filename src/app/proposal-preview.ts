import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { ProposalPreview } from '../contracts/index.js';
import { applyPatch, type Proposal } from '../observe/index.js';
import { readTextIfExists, type Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import { patchYamlDocument, proposalArtifactPath } from './patch-targets.js';

/**
 * The file a proposal changes, before and after its patch: policy.yaml as it is now (comments kept, as accepting it
 * would write it), or the design artifact of the run it was found in (the next run of the same design gets it).
 */
export async function previewProposal(deps: AppDeps, ws: Workspace, p: Proposal): Promise<ProposalPreview> {
  if (p.target === 'policy') {
    const before = (await readTextIfExists(deps.fs, ws.layout.policyFile)) ?? '';
    const doc = parseDocument(before);
    const patched = applyPatch(doc.toJS() ?? {}, p.patch);
    if (!patched.ok) return { file: ws.layout.policyFile, before, after: null, reason: patched.reason };
    patchYamlDocument(doc, p.patch);
    return { file: ws.layout.policyFile, before, after: doc.toString(), reason: null };
  }
  const ref = await ws.runs.get(p.run_id);
  const file = join(ref.dir, proposalArtifactPath(p.target));
  const text = await readTextIfExists(deps.fs, file);
  if (text === undefined) return { file, before: '', after: null, reason: 'the run has no such artifact' };
  const current = JSON.parse(text) as unknown;
  const before = `${JSON.stringify(current, null, 2)}\n`;
  const patched = applyPatch(current, p.patch);
  if (!patched.ok) return { file, before, after: null, reason: patched.reason };
  return { file, before, after: `${JSON.stringify(patched.doc, null, 2)}\n`, reason: null };
}
