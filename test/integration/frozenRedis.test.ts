import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../../src/adapters/redis/client';
import { RolloutStore } from '../../src/adapters/redis/rolloutStore';
import { startRedisServer } from '../support/redisServer';

// A Redis that is frozen (SIGSTOP: the connection stays open, nothing answers) must not hold its callers
// forever: each command gives up after the client's bound, and once Redis answers again all is as before.
const app = { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg', name: 'web' };
let server: { url: string; process: ChildProcess };
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedisClient(server.url, 300);
});
afterAll(async () => {
  server.process.kill('SIGCONT');
  redis.disconnect();
  server.process.kill('SIGKILL');
});

describe('a frozen Redis', () => {
  it('fails each command after the bound instead of hanging, and works again once Redis resumes', async () => {
    const store = new RolloutStore(redis, 'frozen:');
    expect(await store.claimApp(app, 'r1')).toBe(true);

    server.process.kill('SIGSTOP');
    const outcome = await Promise.race([
      store.activeRollout(app).then(
        () => 'answered',
        (e: Error) => e.message,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000)),
    ]);
    expect(outcome).toMatch(/timed out/i);

    server.process.kill('SIGCONT');
    expect(await store.activeRollout(app)).toBe('r1');
    expect(await store.claimApp(app, 'r2')).toBe(false);
  });
});
