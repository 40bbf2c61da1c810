import { statSync } from 'node:fs';
import { join } from 'node:path';
import { gitDirs, keepYoungGenerationSmall, nodePlatform, type Redactor } from '../platform/index.js';
import { createApp, type AppLogger, type MsoApp } from './create-app.js';
import { resolveSettings, type SettingsInput } from './settings.js';

/** The composition root: the app over the real platform, with settings from flags and environment. */
export function createNodeApp(
  input: SettingsInput,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  logger: AppLogger,
  version: string,
  redactor?: Redactor,
): MsoApp {
  keepYoungGenerationSmall();
  return createApp(
    { ...nodePlatform(env), logger, env, version, ...(redactor ? { redactor } : {}) },
    resolveSettings(input, env, cwd, {
      gitCommonDir: gitDirs(cwd)?.commonDir,
      localWorkspace: statSync(join(cwd, 'workspace', '.mso-context'), { throwIfNoEntry: false }) !== undefined,
      gitDirsOf: gitDirs,
    }),
  );
}
