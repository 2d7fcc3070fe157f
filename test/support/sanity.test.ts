import { newTestRedis, uniquePrefix, deleteKeysWithPrefix } from './redis';

describe('test support', () => {
  it('reaches the suite Redis and cleans only its own keys', async () => {
    const redis = newTestRedis();
    const prefix = uniquePrefix('sanity');
    await redis.set(`${prefix}a`, '1');
    await redis.set(`${prefix}b`, '2');
    expect(await deleteKeysWithPrefix(redis, prefix)).toBe(2);
    expect(await redis.exists(`${prefix}a`)).toBe(0);
    await redis.quit();
  });
});
