import type { Redis } from 'ioredis';
import type { NotifyPorts } from '../../domain/ports/notify';
import { FetchWebhookPoster } from './fetchPoster';
import { RedisDeliveryLedger } from './redisDeliveryLedger';
import { RedisChannelRateLimiter } from './redisRateLimiter';
import { EnvSettings } from './settings';

export { FetchWebhookPoster } from './fetchPoster';
export { RedisDeliveryLedger } from './redisDeliveryLedger';
export { RedisChannelRateLimiter } from './redisRateLimiter';
export { EnvSettings } from './settings';

/** The notification ports of the running app: fetch, Redis (ledger and rate limits) and app settings. */
export function createNotifyPorts(options: {
  redis: Redis;
  keyPrefix?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}): NotifyPorts {
  const prefix = options.keyPrefix ?? 'greenlight:';
  return {
    poster: new FetchWebhookPoster(),
    ledger: new RedisDeliveryLedger(options.redis, prefix),
    rateLimiter: new RedisChannelRateLimiter(options.redis, prefix),
    settings: new EnvSettings(options.env),
    clock: {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: () => Math.random(),
    },
    ...(options.log ? { log: options.log } : {}),
  };
}
