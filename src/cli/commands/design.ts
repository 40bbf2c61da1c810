import { Option, type Command } from 'commander';
import { InvalidArgumentError, UsageError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';

const intArg =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(flag, `${v} is not an integer`);
    return n;
  };

function topologyOptions(cmd: Command): Command {
  return cmd
    .option('--goal <text>', 'the goal')
    .option('--goal-file <file>', 'read the goal from a file')
    .addOption(new Option('--risk <risk>', 'risk level (high adds human gates)').choices(['low', 'medium', 'high']))
    .option('--run-id <id>', 'use (or create) this run')
    .option('--case-slug <slug>', 'case slug of a new run')
    .addOption(
      new Option('--planner <planner>', 'heuristic (offline), llm (needs a usable model), or auto').choices([
        'heuristic',
        'llm',
        'auto',
      ]),
    )
    .addOption(
      new Option('--pattern <pattern>', 'parallel (one level) or hierarchical').choices(['parallel', 'hierarchical']),
    )
    .option('--max-depth <n>', 'hierarchical decomposition depth (default 3)', intArg('--max-depth'));
}

interface TopologyFlags {
  goal?: string;
  goalFile?: string;
  risk?: 'low' | 'medium' | 'high';
  runId?: string;
  caseSlug?: string;
  planner?: 'heuristic' | 'llm' | 'auto';
  pattern?: 'parallel' | 'hierarchical';
  maxDepth?: number;
}

/** `mso design topology|import|mental-model|refine|plan|all|show`. */
export function registerDesign(program: Command, ctx: CliContext): void {
  const design = program.command('design').description('design a workflow: topology ⇄ mental models → execution plan');
  topologyOptions(
    design.command('topology').description('write 10_topology/workflow_topology_spec.json for a goal'),
  ).action(async (o: TopologyFlags) => {
    const r = await ctx.app().design.topology(o);
    ctx.done({ data: r, human: `WROTE ${r.path}` });
  });
  design
    .command('import')
    .description('import a hand-written workflow (YAML or JSON: nodes with id and label, edges with from and to)')
    .requiredOption('--workflow <file>', 'the workflow file')
    .option('--run-id <id>', 'use (or create) this run')
    .addOption(new Option('--risk <risk>', 'risk level (high adds human gates)').choices(['low', 'medium', 'high']))
    .action(async (o: { workflow: string; runId?: string; risk?: 'low' | 'medium' | 'high' }) => {
      const r = await ctx.app().design.import(o);
      ctx.done({ data: r, human: `WROTE ${r.path}` });
    });
  design
    .command('mental-model')
    .description(
      'write 20_mental-model/mental_model_bundle.json (a mental model per node, with feedback for the topology)',
    )
    .requiredOption('--run-id <id>')
    .action(async (o: { runId: string }) => {
      const r = await ctx.app().design.mentalModel(o.runId);
      ctx.done({
        data: r,
        human: [`WROTE ${r.path}`, ...r.feedback.map((f) => `feedback ${f.node_id}: ${f.issue} -> ${f.suggestion}`)],
      });
    });
  design
    .command('refine')
    .description('apply the mental-model feedback to the topology and re-derive the bundle')
    .requiredOption('--run-id <id>')
    .action(async (o: { runId: string }) => {
      const r = await ctx.app().design.refine(o.runId);
      ctx.done({ data: r, human: r.applied.length ? r.applied.map((a) => `REFINED ${a}`) : ['nothing to refine'] });
    });
  design
    .command('plan')
    .description('write 30_execution/execution_plan.json (execution_graph of commit/branch/merge nodes)')
    .requiredOption('--run-id <id>')
    .action(async (o: { runId: string }) => {
      const r = await ctx.app().design.plan(o.runId);
      ctx.done({ data: r, human: `WROTE ${r.path}` });
    });
  topologyOptions(design.command('all').description('topology (or --workflow import), mental models, refine, plan'))
    .option('--workflow <file>', 'import this workflow instead of planning from a goal')
    .action(async (o: TopologyFlags & { workflow?: string }) => {
      const r = await ctx.app().design.all(o);
      ctx.done({
        data: r,
        human: [
          `WROTE ${r.topology.path}`,
          `WROTE ${r.bundle}`,
          ...r.feedback_applied.map((a) => `REFINED ${a}`),
          `WROTE ${r.plan}`,
          `run ${r.run_id}`,
        ],
      });
    });
  design
    .command('show')
    .description('render the designed graph')
    .requiredOption('--run-id <id>')
    .addOption(new Option('--format <format>').choices(['mermaid', 'json', 'text']).default('text'))
    .action(async (o: { runId: string; format: 'mermaid' | 'json' | 'text' }) => {
      const r = await ctx.app().design.show(o.runId, o.format);
      ctx.done({ data: r, human: r.content });
    });
}

/** `mso validate schemas|contracts|structure|all --run-id ID`. */
export function registerValidate(program: Command, ctx: CliContext): void {
  const validate = program
    .command('validate')
    .description(
      'governance: schemas, contracts CC-01..CC-06, structure; exit 1 on any failure (--workflow FILE: check a workflow file)',
    )
    .option('--workflow <file>', 'check a workflow file as mso run --workflow would, without creating a run')
    .action(async (o: { workflow?: string }) => {
      if (o.workflow === undefined)
        throw new UsageError('give a check (schemas, contracts, structure, all) or --workflow FILE');
      const r = await ctx.app().schema.validateWorkflow(o.workflow);
      ctx.done({
        data: r,
        human: r.valid
          ? [`VALID workflow ${r.file} (${r.nodes} nodes)`]
          : [`INVALID workflow ${r.file}`, ...r.issues.map((i) => `  ${i.path}: ${i.message}`)],
        exitCode: r.valid ? 0 : 1,
      });
    });
  for (const check of ['schemas', 'contracts', 'structure', 'all'] as const) {
    validate
      .command(check)
      .description(`run the ${check} check${check === 'all' ? 's' : ''} and write the report to 70_governance/`)
      .requiredOption('--run-id <id>')
      .action(async (o: { runId: string }) => {
        const r = await ctx.app().design.validate(o.runId, check);
        ctx.done({
          data: r,
          human: [
            `${check}: ${r.status} (${r.errors} errors, ${r.warnings} warnings)`,
            ...r.findings.map(
              (f) => `  ${f.level.toUpperCase()} ${f.rule} ${f.file ?? ''}${f.path ? ` ${f.path}` : ''}: ${f.message}`,
            ),
            `report ${r.report}`,
          ],
          exitCode: r.status === 'fail' ? 1 : 0,
        });
      });
  }
}
