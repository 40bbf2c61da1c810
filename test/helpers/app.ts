import { join } from 'node:path';
import { createApp, resolveSettings, type MsoApp } from '../../src/app/index.js';
import { nodePlatform, type Faults } from '../../src/platform/index.js';

/**
 * The application over the real platform, in process, for the folder `dir`: workspace `dir/ws`, observation root
 * `dir/obs`, silent logger, PATH only from the environment.
 */
export function appIn(dir: string, observer = 't', faults?: Faults): MsoApp {
  const settings = resolveSettings({ workspace: join(dir, 'ws'), observation: join(dir, 'obs'), observer }, {}, dir);
  return createApp(
    {
      ...nodePlatform(),
      logger: { warn: () => {}, info: () => {} },
      env: { PATH: process.env['PATH'] },
      version: 't',
      ...(faults ? { faults } : {}),
    },
    settings,
  );
}
