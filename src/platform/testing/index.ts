/** Test fakes for the platform ports. Not part of the public API. */
export { fakeClock, seededRandom, type FakeClock } from './fakes.js';
