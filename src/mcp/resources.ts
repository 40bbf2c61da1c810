import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/server';
import type { MsoApp } from '../app/index.js';

/** Read-only resources: the run list, and per run its readme, plan, events and timeline. */
export function registerRunResources(server: McpServer, app: MsoApp): void {
  server.registerResource('runs', 'mso://runs', { title: 'Runs', mimeType: 'application/json' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(await app.runs.list()) }],
  }));
  const runResource = (
    name: string,
    suffix: string,
    read: (runId: string) => Promise<{ text: string; mimeType: string }>,
  ): void => {
    server.registerResource(
      name,
      new ResourceTemplate(`mso://runs/{run_id}/${suffix}`, {
        list: async () => ({
          resources: (await app.runs.list()).map((r) => ({
            uri: `mso://runs/${r.run_id}/${suffix}`,
            name: `${r.run_id} ${suffix}`,
          })),
        }),
      }),
      { title: `Run ${suffix}` },
      async (uri, variables) => {
        const runId = String(variables['run_id']);
        const { text, mimeType } = await read(runId);
        return { contents: [{ uri: uri.href, mimeType, text }] };
      },
    );
  };
  runResource('run-readme', 'readme', async (runId) => ({
    text: (await app.engine.readme(runId)) ?? '(no readme yet)',
    mimeType: 'text/markdown',
  }));
  runResource('run-plan', 'plan', async (runId) => ({
    text: (await app.design.show(runId, 'json')).content,
    mimeType: 'application/json',
  }));
  runResource('run-events', 'events', async (runId) => ({
    text: JSON.stringify(await app.audit.tail({ runId, limit: 500 })),
    mimeType: 'application/json',
  }));
  runResource('run-timeline', 'timeline', async (runId) => ({
    text: JSON.stringify(await app.explain.timeline(runId)),
    mimeType: 'application/json',
  }));
}
