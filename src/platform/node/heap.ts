import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation at its starting size instead of letting it grow to 16 MB per semi-space under a high
 * allocation rate (`--semi-space-growth-factor=1`; V8 reads it whenever it would grow the space, so it applies when
 * set after start). A 10,000-node run allocates short-lived objects fast (events, rows, promises): the grown space
 * held ~15 MB of garbage at a time. The trade: more frequent scavenges, each smaller (`npm run bench:engine` showed
 * no CPU difference per node within its noise). Called by the composition root (`createNodeApp`), and by the engine
 * bench as mso runs.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
