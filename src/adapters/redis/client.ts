import { Redis } from 'ioredis';

/** One ioredis client per process; commands queue while reconnecting, bounded so a dead Redis fails fast. */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}
