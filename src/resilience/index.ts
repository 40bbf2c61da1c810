/** Provider resilience: persisted circuit breakers shared by all processes, retry backoff and one retry budget. */
export {
  createBreakerFactory,
  listBreakerKeys,
  CircuitState,
  type CircuitBreaker,
  type BreakerConfig,
  type BreakerMetrics,
  type Permit,
  type Rejection,
} from './circuit-breaker.js';
export { backoffDelay, createRetryBudget, type RetryBudget, type RetryPolicy } from './retry.js';
