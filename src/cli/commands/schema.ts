import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `mso schema list|export|validate`. */
export function registerSchema(program: Command, ctx: CliContext): void {
  const schema = program
    .command('schema')
    .description('artifact schemas: list them, export JSON Schema files, validate a file');
  schema
    .command('list')
    .description('list every artifact kind with its location')
    .action(() => {
      const list = ctx.app().schema.list();
      ctx.done({ data: { schemas: list }, human: list.map((s) => `${s.kind.padEnd(22)} ${s.title} — ${s.location}`) });
    });
  schema
    .command('export')
    .description('write one JSON Schema (draft 2020-12) file per artifact kind')
    .requiredOption('--out <dir>', 'folder to write <kind>.schema.json files into')
    .action(async (opts: { out: string }) => {
      const r = await ctx.app().schema.export(opts.out);
      ctx.done({ data: r, human: r.files.map((f) => `WROTE ${f}`) });
    });
  schema
    .command('validate')
    .description('validate FILE against the schema of KIND; names each failing field path')
    .argument('<kind>', 'artifact kind (see mso schema list)')
    .argument('<file>', 'JSON, YAML, JSONL or markdown-with-frontmatter file')
    .action(async (kind: string, file: string) => {
      const r = await ctx.app().schema.validate(kind, file);
      ctx.done({
        data: r,
        human: r.valid
          ? [`VALID ${r.kind} ${r.file}`]
          : [`INVALID ${r.kind} ${r.file}`, ...r.issues.map((i) => `  ${i.path}: ${i.message}`)],
        exitCode: r.valid ? 0 : 1,
      });
    });
  for (const kind of ['workflow', 'policy'] as const)
    schema
      .command(kind)
      .description(
        `print the JSON Schema of ${kind === 'workflow' ? 'a workflow file' : 'policy.yaml'} (for editors: yaml-language-server $schema)`,
      )
      .action(async () => {
        const s = await ctx.app().schema.editor(kind);
        ctx.done({ data: s, human: JSON.stringify(s, null, 2) });
      });
}
