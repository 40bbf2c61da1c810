import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * Waits until `read()` (a terminal's screen, a process's output, a file) matches `re`, or fails with what it showed.
 * The bound is generous (60 s): the machine is shared, and the test checks what shows, not how fast.
 */
export function until(read: () => string, re: RegExp, what: string): Promise<RegExpMatchArray> {
  return new Promise((done, fail) => {
    const deadline = setTimeout(() => {
      clearInterval(poll);
      fail(new Error(`never saw ${what}; saw:\n${read()}`));
    }, 60_000);
    const poll = setInterval(() => {
      const m = read().match(re);
      if (m) {
        clearInterval(poll);
        clearTimeout(deadline);
        done(m);
      }
    }, 50);
  });
}

/**
 * Writes a workflow a → b into `dir`, where b waits (at most `maxTicks` × 0.1 s) until the marker file exists, so a
 * test can watch it run, stop it, and let it finish.
 */
export async function waitingWorkflow(
  dir: string,
  name = 'watch',
  maxTicks = 600,
): Promise<{ file: string; marker: string }> {
  const marker = join(dir, 'go');
  const file = join(dir, 'wf.yaml');
  await writeFile(
    file,
    stringify({
      name,
      nodes: [
        { id: 'a', label: 'a', command: 'echo a > a.md' },
        {
          id: 'b',
          label: 'b',
          command: `i=0; while [ ! -f ${marker} ] && [ $i -lt ${maxTicks} ]; do sleep 0.1; i=$((i+1)); done; echo b > b.md`,
        },
      ],
      edges: [{ from: 'a', to: 'b' }],
    }),
  );
  return { file, marker };
}
