/**
 * mso as a library: the application API and the artifact contracts.
 * Any export added here becomes public API.
 */
export { createApp, createNodeApp, resolveSettings } from './app/index.js';
export type {
  AppDeps,
  AppLogger,
  MsoApp,
  RunView,
  InitResult,
  CreateRunRequest,
  ResolvedSettings,
  SettingsInput,
  SchemaInfo,
  SchemaValidation,
} from './app/index.js';
export * from './contracts/index.js';
