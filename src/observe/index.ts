/** Observability: detectors over the audit log, callback events, and improvement proposals as JSON Patches. */
export {
  detect,
  nodeKindOf,
  type Finding,
  type FindingKind,
  type NodeKind,
  type ProposalDraft,
  type DetectorInput,
} from './detectors.js';
export { createProposalStore, type Proposal, type ProposalStore } from './proposals.js';
export { toCallbacks } from './callbacks.js';
export { applyPatch, assertPatch, pointer, type PatchOp } from './json-patch.js';
