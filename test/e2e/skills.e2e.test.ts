import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runMso } from '../helpers/cli.js';

const SKILLS = join(REPO_ROOT, 'skills');
const help = async (args: string[]): Promise<string[]> => {
  const r = await runMso([...args, '--help'], { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] } });
  expect(r.code, `mso ${args.join(' ')} --help`).toBe(0);
  const commands = r.stdout.split('Commands:')[1] ?? '';
  return [...commands.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] ?? '');
};

describe('skills/', () => {
  it('ships the six skills, each with front matter naming it, and every mso command they cite exists', async () => {
    const folders = (await readdir(SKILLS, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.sort()).toEqual([
      'mso-audit',
      'mso-collaboration',
      'mso-design',
      'mso-governance',
      'mso-observability',
      'mso-task-context',
    ]);
    const cited = new Set<string>();
    for (const f of folders) {
      const text = await readFile(join(SKILLS, f, 'SKILL.md'), 'utf8');
      const front = parse(/^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '') as { name?: string; description?: string };
      expect(front.name, f).toBe(f);
      expect(front.description?.length ?? 0, f).toBeGreaterThan(40);
      for (const m of text.matchAll(/npx mso ([a-z-]+)(?: ([a-z-]+))?/g)) cited.add(`${m[1]} ${m[2] ?? ''}`.trim());
    }
    const top = await help([]);
    const subs = new Map<string, string[]>();
    for (const c of cited) {
      const [cmd, sub] = c.split(' ') as [string, string | undefined];
      expect(top, `mso ${cmd}`).toContain(cmd);
      if (!subs.has(cmd)) subs.set(cmd, await help([cmd]));
      const children = subs.get(cmd) ?? [];
      if (sub && children.length) expect(children, `mso ${c}`).toContain(sub);
    }
    expect(cited.size).toBeGreaterThan(20);
  });
});
