import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the suite runs against (set by globalSetup). */
export function testRedisUrl(): string {
  const url = process.env.GREENLIGHT_TEST_REDIS_URL;
  if (!url)
    throw new Error('GREENLIGHT_TEST_REDIS_URL is not set: run the tests through jest (globalSetup sets it)');
  return url;
}

/** A key prefix no other test (or person) uses. */
export function uniquePrefix(label = 't'): string {
  return `greenlight-test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under the prefix: only what this test wrote. */
export { deleteKeysWithPrefix } from '../../src/adapters/redis/deleteKeys';

export function newTestRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: 2, lazyConnect: false });
}
