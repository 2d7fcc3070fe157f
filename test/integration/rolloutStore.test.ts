import type { Redis } from 'ioredis';
import { RolloutStore } from '../../src/adapters/redis/rolloutStore';
import { deleteKeysWithPrefix, newTestRedis, uniquePrefix } from '../support/redis';

const app = { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg', name: 'web' };
let redis: Redis;
let prefix: string;
let store: RolloutStore;

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('store');
  store = new RolloutStore(redis, prefix);
});
afterEach(() => deleteKeysWithPrefix(redis, prefix));
afterAll(() => redis.quit());

describe('rollout bookkeeping in Redis', () => {
  it('lets one rollout hold an app and only the holder release it', async () => {
    expect(await store.claimApp(app, 'r1')).toBe(true);
    expect(await store.claimApp(app, 'r2')).toBe(false);
    expect(await store.releaseApp(app, 'r2')).toBe(false);
    expect(await store.activeRollout(app)).toBe('r1');
    expect(await store.releaseApp(app, 'r1')).toBe(true);
    expect(await store.activeRollout(app)).toBeUndefined();
  });

  it('takes an app over only from the stale holder it names', async () => {
    await store.claimApp(app, 'old');
    expect(await store.takeOverApp(app, 'other', 'new')).toBe(false);
    expect(await store.takeOverApp(app, 'old', 'new')).toBe(true);
    expect(await store.activeRollout(app)).toBe('new');
  });

  it('hands a free app to the first queued rollout, atomically', async () => {
    await store.claimApp(app, 'r1');
    await store.enqueue(app, { rolloutId: 'r2', input: { n: 2 } });
    await store.enqueue(app, { rolloutId: 'r3', input: { n: 3 } });
    expect(await store.claimNext(app)).toBeUndefined();
    await store.releaseApp(app, 'r1');
    const [a, b] = await Promise.all([store.claimNext(app), store.claimNext(app)]);
    expect([a?.rolloutId, b?.rolloutId].filter(Boolean)).toEqual(['r2']);
    expect(await store.activeRollout(app)).toBe('r2');
  });

  it('gives a claimed rollout that could not start back its place at the head of the queue', async () => {
    await store.enqueue(app, { rolloutId: 'r2', input: {} });
    await store.enqueue(app, { rolloutId: 'r3', input: {} });
    const claimed = await store.claimNext(app);
    expect(claimed?.rolloutId).toBe('r2');
    await store.unclaimNext(app, claimed!);
    expect(await store.activeRollout(app)).toBeUndefined();
    expect((await store.queued(app)).map((q) => q.rolloutId)).toEqual(['r2', 'r3']);
    // A holder that is not the claimed rollout keeps the app.
    await store.claimApp(app, 'other');
    await store.unclaimNext(app, { rolloutId: 'r9', input: {} });
    expect(await store.activeRollout(app)).toBe('other');
  });

  it('supersede replaces the queue and reports what it dropped', async () => {
    await store.enqueue(app, { rolloutId: 'r2', input: {} });
    const dropped = await store.replaceQueue(app, { rolloutId: 'r3', input: {} });
    expect(dropped.map((d) => d.rolloutId)).toEqual(['r2']);
    expect((await store.queued(app)).map((q) => q.rolloutId)).toEqual(['r3']);
  });

  it('spends an approval nonce once', async () => {
    expect(await store.spendNonce('n1', 60_000)).toBe(true);
    expect(await store.spendNonce('n1', 60_000)).toBe(false);
    expect(await store.nonceSpent('n1')).toBe(true);
  });

  it('remembers events and records every trigger in the ledger', async () => {
    expect(await store.rememberEvent('e1', 'r1')).toBeUndefined();
    expect(await store.rememberEvent('e1', 'r9')).toBe('r1');
    expect(await store.eventOutcome('e1')).toBe('r1');
    await store.recordTrigger({ at: 't', source: 'http', app: 'web', image: 'i', decision: 'started' });
    await store.recordTrigger({ at: 't', source: 'eventGrid', app: '-', image: 'j', decision: 'unmatched' });
    expect((await store.triggers()).map((t) => t.decision)).toEqual(['unmatched', 'started']);
  });
});
