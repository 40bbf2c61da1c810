/** Design: goal → topology ⇄ mental models → execution plan; heuristic and LLM planners; workflow import. */
export { planHeuristic, classifyTopology } from './heuristic-planner.js';
export {
  planWithLlm,
  validateDecomposition,
  extractJson,
  SubtaskSchema,
  type AskModel,
  type PlannerRecord,
  type Subtask,
} from './llm-planner.js';
export { importWorkflow, leavesWorktree, WorkflowFileSchema, type WorkflowFile } from './import-workflow.js';
export { buildBundle, applyFeedback, chooseModel } from './mental-models.js';
export { MENTAL_MODELS, type MentalModel } from './mental-model-library.js';
export { buildPlan, DEFAULT_FALLBACK_RULES } from './plan.js';
export { toMermaid, toText } from './render.js';
export { assignPersona, type PersonaChoice } from './personas.js';
export { hasKeyword, splitGoal } from './text.js';
export { adjacency, topoSort, describeCycle, type GraphEdge } from './graph.js';
export type { Risk } from './topology-builder.js';
