import type { Command } from 'commander';
import { EXIT_WAITING_FOR_HUMAN, InvalidArgumentError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';
import { addDetect } from './doctor.js';

/** `mso agents list|try|health|detect`. */
export function registerAgents(program: Command, ctx: CliContext): void {
  const agents = program
    .command('agents')
    .description('agents: availability, one resilient call, circuit breaker health');
  agents
    .command('list')
    .description('every agent (built-in and policy.yaml), whether it is available and why not, and its breaker state')
    .action(async () => {
      const list = await ctx.app().agents.list();
      ctx.done({
        data: { agents: list },
        human: list.map(
          (a) =>
            `${a.name.padEnd(20)} ${a.kind.padEnd(18)} ${(a.available ? 'available' : 'unavailable').padEnd(12)} ${(a.breaker_state ?? '-').padEnd(10)} ${a.reason}`,
        ),
      });
    });
  agents
    .command('try')
    .description('run one request through the full resilience stack (breaker, retries, deadlines) and print the result')
    .argument('<name>', 'agent name')
    .requiredOption('--prompt <text>', 'the instructions (for the shell agent: the command)')
    .option('--cwd <dir>', 'working directory (default: the current one)')
    .option('--timeout <seconds>', 'total deadline in seconds', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError('--timeout', `${v} is not a positive number`);
      return n;
    })
    .action(async (name: string, opts: { prompt: string; cwd?: string; timeout?: number }) => {
      const r = await ctx.app().agents.try({ name, prompt: opts.prompt, cwd: opts.cwd, timeoutS: opts.timeout });
      const res = r.result;
      ctx.done({
        data: r,
        human: [
          `${res.agent} ${res.status}${res.errorClass ? ` (${res.errorClass})` : ''}: ${res.summary}`,
          ...(res.output && res.status === 'success' ? ['', res.output.trimEnd(), ''] : []),
          `usage in ${res.usage.input} out ${res.usage.output} cache ${res.usage.cacheRead}; cost $${res.cost.usd} (${res.cost.source}); retries ${r.retries}`,
          ...(res.changedFiles.length ? [`changed: ${res.changedFiles.join(', ')}`] : []),
          ...r.trail.map((s) => `  ${s.agent}: ${s.outcome} ${s.reason}`),
        ],
        exitCode: res.status === 'success' ? 0 : res.requiresManualConfirmation ? EXIT_WAITING_FOR_HUMAN : 1,
      });
    });
  addDetect(
    agents.command('detect').description('same as `mso doctor`: which agent CLIs are installed and can log in'),
    ctx,
  );
  agents
    .command('health')
    .description('circuit breakers: state, counters, last change, next attempt')
    .option('--reset <name>', 'reset the breaker of this agent (or <provider>/<model>) to closed')
    .action(async (opts: { reset?: string }) => {
      const h = await ctx.app().agents.health(opts.reset);
      ctx.done({
        data: h,
        human: h.breakers.length
          ? h.breakers.map(
              (b) =>
                `${b.breaker.padEnd(32)} ${b.state.padEnd(10)} total ${b.total} ok ${b.successes} fail ${b.failures} rejected ${b.rejections} consecutive ${b.consecutiveFailures}${b.nextAttempt ? ` next ${b.nextAttempt}` : ''}`,
            )
          : ['(no breakers yet)'],
      });
    });
}
