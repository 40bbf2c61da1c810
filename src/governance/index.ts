/** Governance: schema, contract (CC-01..CC-06) and structure checks over a run; the gate before dispatch. */
export { checkSchemas, checkContracts, checkStructure } from './checks.js';
export { statusOf, type Finding, type GovernanceStatus, type LoadedArtifact, type RunArtifacts } from './findings.js';
