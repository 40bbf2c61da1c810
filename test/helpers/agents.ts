import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdapter, type AdapterDeps, type AgentAdapter } from '../../src/agents/index.js';
import { AgentConfigSchema, type AgentConfig } from '../../src/contracts/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { REPO_ROOT } from './cli.js';

export const FAKE_AGENT = join(REPO_ROOT, 'test', 'fixtures', 'fake-agent.mjs');
const platform = nodePlatform();

/** Adapter deps over the real platform with short deadlines for tests. */
export function testAdapterDeps(
  over: Partial<AdapterDeps> = {},
  env: Record<string, string | undefined> = {},
): AdapterDeps {
  return {
    proc: platform.proc,
    clock: platform.clock,
    random: platform.random,
    fs: platform.fs,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    prices: {
      'fake-1': { input_per_mtok: 3, output_per_mtok: 15, cache_read_per_mtok: 0.3 },
      'gpt-test': { input_per_mtok: 1, output_per_mtok: 2, cache_read_per_mtok: 0 },
    },
    defaults: {
      deadlines: { firstOutputMs: 10_000, inactivityMs: 10_000, totalMs: 30_000 },
      lingerGraceMs: 300,
      killGraceMs: 300,
    },
    ...over,
  };
}

/** An adapter for `name` with the given config (zod defaults filled in). */
export function adapter(
  deps: AdapterDeps,
  name: string,
  config: Partial<AgentConfig> & { kind: AgentConfig['kind'] },
): AgentAdapter {
  return createAdapter(deps, { name, config: AgentConfigSchema.parse(config) });
}

/** A temporary git repository with one commit, as a worktree stand-in. */
export async function tempRepo(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mso-agent-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'base');
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Pids written to a pid file by the fake agent (itself and any child it spawned). */
export async function pidsIn(file: string): Promise<number[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
}

/** True when the process exists and is not a zombie (an orphan killed in a container may wait long for reaping). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A policy.yaml with the LLM planner on a (fake) OpenAI-compatible server and `fake-claude` as the default agent. */
export function llmPlannerPolicy(llmUrl: string, agentCommand: string = FAKE_AGENT): string {
  return [
    'agents:',
    `  planner: { kind: openai-compatible, base_url: "${llmUrl}/v1", model: planner-model }`,
    `  fake-claude: { kind: claude-code, command: ${agentCommand} }`,
    'fallback_chains:',
    '  default: [fake-claude, manual]',
    'design:',
    '  planner: llm',
    '  planner_chain: [planner]',
    'resilience:',
    '  retry: { max_retries: 0 }',
    'run_policy:',
    '  max_active_runs: 50',
    '',
  ].join('\n');
}
