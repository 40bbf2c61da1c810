import type { OutputType, ThetaBand } from '../contracts/index.js';

export type Position = 'root' | 'branch' | 'merge' | 'leaf' | 'inner' | 'single';

/** A named way of thinking, with where it fits and what it asks of the agent. */
export interface MentalModel {
  readonly id: string;
  readonly name: string;
  readonly bands: readonly ThetaBand[];
  readonly outputs: readonly OutputType[];
  readonly positions: readonly Position[];
  readonly personas: readonly string[];
  /** Injected into the agent's instructions. */
  readonly guidance: string;
  readonly checkpoints: {
    readonly preflight: readonly string[];
    readonly pre_h1: readonly string[];
    readonly pre_h2: readonly string[];
  };
  readonly failureSignals: readonly string[];
}

export const MENTAL_MODELS: readonly MentalModel[] = [
  {
    id: 'divergent_exploration',
    name: 'Divergent exploration',
    bands: ['wide'],
    outputs: ['memo', 'list'],
    positions: ['root', 'branch', 'single'],
    personas: ['index', 'scout', 'canvas'],
    guidance:
      'Generate several distinct options before judging any. Name at least three angles, note what each assumes, and mark open questions instead of closing them early.',
    checkpoints: {
      preflight: ['the question is stated in one sentence'],
      pre_h1: ['at least three distinct options or angles'],
      pre_h2: ['open questions are listed, not hidden'],
    },
    failureSignals: ['only one option considered', 'premature recommendation', 'options differ only in wording'],
  },
  {
    id: 'first_principles',
    name: 'First principles',
    bands: ['wide', 'moderate'],
    outputs: ['memo', 'constraint_set', 'diagram'],
    positions: ['root', 'inner', 'single'],
    personas: ['arch'],
    guidance:
      'Strip the problem to facts and hard constraints; rebuild the approach from them. Separate what is known, assumed and conventional.',
    checkpoints: {
      preflight: ['facts and assumptions are separated'],
      pre_h1: ['each constraint has a source'],
      pre_h2: ['the approach follows from the constraints'],
    },
    failureSignals: ['argument by analogy only', 'unstated assumptions', 'constraints without sources'],
  },
  {
    id: 'critical_review',
    name: 'Critical review',
    bands: ['narrow', 'moderate'],
    outputs: ['checklist', 'report'],
    positions: ['leaf', 'inner', 'merge'],
    personas: ['critic'],
    guidance:
      'Look for what is wrong, missing or over-optimistic: missing assumptions, untested paths, systemic risk (scale, cost, control). Every finding cites evidence.',
    checkpoints: {
      preflight: ['the artifact under review is named'],
      pre_h1: ['findings cite file, line or output'],
      pre_h2: ['severity is stated per finding'],
    },
    failureSignals: ['praise without evidence', 'no findings on a non-trivial change', 'findings without locations'],
  },
  {
    id: 'decision_matrix',
    name: 'Decision matrix',
    bands: ['narrow'],
    outputs: ['decision', 'recommendation', 'table'],
    positions: ['merge', 'leaf', 'single'],
    personas: ['arch', 'lens'],
    guidance:
      'Score each option against explicit, weighted criteria; pick the best and say what would change the decision. Record the rejected options and why.',
    checkpoints: {
      preflight: ['criteria and weights are explicit'],
      pre_h1: ['every option is scored on every criterion'],
      pre_h2: ['the decision and its reversal condition are stated'],
    },
    failureSignals: ['criteria chosen after scoring', 'a single option scored', 'no reversal condition'],
  },
  {
    id: 'risk_premortem',
    name: 'Risk pre-mortem',
    bands: ['moderate', 'narrow'],
    outputs: ['list', 'constraint_set', 'recommendation'],
    positions: ['inner', 'branch', 'leaf'],
    personas: ['arch', 'critic'],
    guidance:
      'Assume the plan failed six months from now; list the most likely causes, their early signals, and the cheapest mitigation for each.',
    checkpoints: {
      preflight: ['the plan under test is named'],
      pre_h1: ['each risk has an early signal'],
      pre_h2: ['each top risk has a mitigation and owner'],
    },
    failureSignals: [
      'generic risks not tied to the plan',
      'no early signals',
      'mitigations that cost more than the risk',
    ],
  },
  {
    id: 'checklist_verification',
    name: 'Checklist verification',
    bands: ['narrow'],
    outputs: ['checklist'],
    positions: ['leaf', 'inner', 'merge', 'single'],
    personas: ['critic', 'scout'],
    guidance:
      'Verify against the acceptance criteria one by one; each item is pass or fail with the command, test or file that shows it. Do not mark anything passed without evidence.',
    checkpoints: {
      preflight: ['the criteria list is complete'],
      pre_h1: ['each item has evidence'],
      pre_h2: ['failures name what to fix'],
    },
    failureSignals: ['items passed without evidence', 'criteria skipped', 'tests not actually run'],
  },
  {
    id: 'synthesis',
    name: 'Synthesis',
    bands: ['narrow', 'moderate'],
    outputs: ['decision', 'report', 'recommendation', 'memo'],
    positions: ['merge', 'leaf'],
    personas: ['quill', 'arch', 'lens'],
    guidance:
      "Combine the parents' results into one decidable structure: what they agree on, where they conflict and how that is resolved, and what remains open. Cite each parent.",
    checkpoints: {
      preflight: ['every parent output is read'],
      pre_h1: ['conflicts are listed and resolved'],
      pre_h2: ['the result is decidable without re-reading the parents'],
    },
    failureSignals: ['one parent ignored', 'conflicts averaged away', 'prose summary instead of a decision'],
  },
  {
    id: 'root_cause_analysis',
    name: 'Root-cause analysis',
    bands: ['moderate', 'narrow'],
    outputs: ['report', 'table', 'memo'],
    positions: ['inner', 'root', 'single'],
    personas: ['lens', 'scout', 'arch'],
    guidance:
      'Trace the symptom to its cause with evidence at each step (five whys); distinguish the trigger from the underlying cause and propose a fix for the cause.',
    checkpoints: {
      preflight: ['the symptom is reproduced or quoted'],
      pre_h1: ['each causal step has evidence'],
      pre_h2: ['the fix addresses the cause, not the symptom'],
    },
    failureSignals: ['stops at the first plausible cause', 'no reproduction', 'fix targets the symptom'],
  },
  {
    id: 'implementation_plan',
    name: 'Implementation plan',
    bands: ['moderate', 'narrow', 'wide'],
    outputs: ['code'],
    positions: ['inner', 'leaf', 'branch', 'root', 'single'],
    personas: ['arch', 'canvas'],
    guidance:
      'Make the smallest change that satisfies the acceptance criteria: plan the files to touch, change them, add or update tests, run them, and leave the tree committed.',
    checkpoints: {
      preflight: ['files to touch are listed'],
      pre_h1: ['tests cover the change'],
      pre_h2: ['gates pass on the committed tree'],
    },
    failureSignals: ['untested change', 'unrelated edits', 'gates skipped'],
  },
  {
    id: 'evidence_gathering',
    name: 'Evidence gathering',
    bands: ['wide', 'moderate'],
    outputs: ['table', 'list', 'report', 'memo'],
    positions: ['root', 'branch', 'inner'],
    personas: ['index', 'scout', 'lens'],
    guidance:
      'Collect sources before conclusions: each claim gets a source (file, URL, measurement) and a confidence; note gaps explicitly.',
    checkpoints: {
      preflight: ['the questions to answer are listed'],
      pre_h1: ['every claim has a source'],
      pre_h2: ['gaps and confidence are stated'],
    },
    failureSignals: ['claims without sources', 'one source for everything', 'gaps not stated'],
  },
];
