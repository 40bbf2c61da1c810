/** Ports for side effects (clock, randomness, filesystem, process facts) and their Node implementations. */
export type {
  Clock,
  Faults,
  Fs,
  SmallFs,
  AtomicFs,
  OpenSqlite,
  ListenPostgres,
  OpenPostgres,
  PlatformDeps,
  Proc,
  ProcessInfo,
  Random,
  Redactor,
  ScriptRequest,
  ScriptResult,
  SqliteDb,
  SqlDialect,
  SqliteStatement,
} from './ports.js';
export { openSqlite } from './node/sqlite.js';
export { removeAtExit } from './node/exit-cleanup.js';
export {
  folderEntries,
  keepYoungGenerationSmall,
  nodeClock,
  nodeFaults,
  nodePlatform,
  nodeProc,
  nodeProcessInfo,
  nodeRandom,
  pathFingerprint,
} from './node/node-platform.js';
export {
  gitCommand,
  gitDirs,
  configuredDrivers,
  mayReadWorktreeConfig,
  GIT_SAFE_CONFIG,
  type GitCommand,
} from './node/git-command.js';
