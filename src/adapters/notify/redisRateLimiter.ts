import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChannelRateLimiter } from '../../domain/ports/notify';

/**
 * A sliding one-second log per channel: admits a request when fewer than `limit` were admitted in the last
 * 1000 ms (Redis time, so every process agrees), else answers how long until the oldest leaves the window.
 */
const slidingWindow = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms - 1000)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], ms, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 2000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + 1000 - ms)
`;

/** Requests per second per channel across every instance of the app, kept in Redis. */
export class RedisChannelRateLimiter implements ChannelRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix = 'greenlight:',
    private readonly sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  ) {}

  async acquire(channel: string, perSecond: number, maxWaitMs: number): Promise<boolean> {
    const key = `${this.keyPrefix}notify:rate:${channel}`;
    const started = Date.now();
    for (;;) {
      const wait = Number(await this.redis.eval(slidingWindow, 1, key, perSecond, randomUUID()));
      if (wait === 0) return true;
      if (Date.now() - started + wait > maxWaitMs) return false;
      await this.sleep(wait);
    }
  }
}
