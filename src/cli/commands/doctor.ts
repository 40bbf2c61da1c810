import type { Command } from 'commander';
import type { DoctorReport } from '../../app/index.js';
import type { CliContext } from '../context.js';

function render(r: DoctorReport): string[] {
  const lines = r.clis.map((c) => {
    const where = c.path ? `${c.version ?? 'version unknown'} at ${c.path}` : `not installed (${c.install})`;
    const auth = !c.path ? '' : c.auth.ready ? `; can log in (${c.auth.via})` : `; no login found: ${c.auth.hint}`;
    return `${c.kind.padEnd(12)} ${where}${auth}`;
  });
  lines.push('');
  if (r.snippet) lines.push('Paste into policy.yaml:', '', r.snippet);
  // The per-CLI advice is on the lines above; only the overall verdict is repeated.
  if (r.usable.length === 0) lines.push(r.advice.at(-1) ?? '');
  return lines;
}

/** The command, shared by `mso doctor` and `mso agents detect`: it only renders what the app found. */
export function addDetect(cmd: Command, ctx: CliContext): Command {
  return cmd.action(async () => {
    const r = await ctx.app().agents.detect();
    ctx.done({ data: r, human: render(r) });
  });
}

/** `mso doctor`: installed coding-agent CLIs, versions, whether each can log in, and a policy snippet. */
export function registerDoctor(program: Command, ctx: CliContext): void {
  addDetect(
    program
      .command('doctor')
      .description(
        'coding-agent CLIs on PATH with versions, whether each can log in (env and config files only), a policy snippet',
      ),
    ctx,
  );
}
