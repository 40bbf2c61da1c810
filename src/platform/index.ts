/** Ports for side effects (clock, randomness, filesystem, process facts) and their Node implementations. */
export type { Clock, Fs, PlatformDeps, ProcessInfo, Random } from './ports.js';
export { nodeClock, nodePlatform, nodeProcessInfo, nodeRandom } from './node/node-platform.js';
