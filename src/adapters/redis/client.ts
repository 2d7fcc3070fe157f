import { Redis } from 'ioredis';

/**
 * How long one command may go unanswered. A Redis that is frozen (stopped, a stalled failover, a
 * saturated link) keeps its connection open and answers nothing: without a bound every caller waits
 * forever, the way a status request or an activity would.
 */
export const redisCommandTimeoutMs = 5_000;

/** One ioredis client per process; commands queue while reconnecting, bounded so a dead Redis fails fast. */
export function createRedisClient(url: string, commandTimeoutMs = redisCommandTimeoutMs): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
