import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** A file name that is markup: the dashboard must show it as text. */
export const MARKUP_NAME = '<img src=x onerror=alert(1)>.md';

/**
 * A workflow whose merge misses its quorum and waits for a person: `broken` fails its gate (with output on stderr),
 * `ok` succeeds and writes a file named like markup, `join` needs both parents.
 */
export async function writeQuorumWorkflow(dir: string, name = 'quorum'): Promise<string> {
  const out = (id: string): string => `mkdir -p outputs && echo ${id} > outputs/${id}.md`;
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      name,
      nodes: [
        { id: 'root', label: 'root', command: out('root') },
        {
          id: 'ok',
          label: 'ok',
          command: `${out('ok')} && echo '<script>alert(2)</script>' > 'outputs/${MARKUP_NAME}'`,
        },
        {
          id: 'broken',
          label: 'broken',
          command: out('broken'),
          gates: ['echo "gate says no: 3 tests failed" >&2; exit 4'],
          max_retry: 0,
        },
        { id: 'join', label: 'join', command: out('join'), merge_policy: { strategy: 'score_weighted', quorum: 2 } },
      ],
      edges: [
        { from: 'root', to: 'ok' },
        { from: 'root', to: 'broken' },
        { from: 'ok', to: 'join' },
        { from: 'broken', to: 'join' },
      ],
    }),
  );
  return file;
}

/** Debian's Chromium, driven by playwright-core (never a downloaded browser build). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
