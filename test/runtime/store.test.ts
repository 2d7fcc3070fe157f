import { InstanceStore, type InstanceState } from '../../local/runtime/store';
import { deleteKeysWithPrefix, newTestRedis, uniquePrefix } from '../support/redis';

const redis = newTestRedis();
const prefix = uniquePrefix('rt-store');
const store = new InstanceStore(redis, prefix);

afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

function state(id: string): InstanceState {
  return {
    instanceId: id,
    name: 'chain',
    executionId: 'e1',
    input: 1,
    runtimeStatus: 'Completed',
    createdTime: '2026-03-01T00:00:00.000Z',
    lastUpdatedTime: '2026-03-01T00:00:01.000Z',
    customStatus: { step: 3 },
    output: [2, 12, 112],
    history: [{ EventType: 12, EventId: -1, IsPlayed: true, Timestamp: '2026-03-01T00:00:00.000Z' }] as never,
    inbox: [],
    dispatched: {},
    actionLog: ['CallActivity:add'],
    replays: 4,
  };
}

describe('instance store', () => {
  it('lists from small summaries, without histories', async () => {
    await store.save(state('a'));
    const [summary] = await store.loadSummaries(['a']);
    expect(summary).toMatchObject({ instanceId: 'a', runtimeStatus: 'Completed', output: [2, 12, 112] });
    expect(summary).not.toHaveProperty('history');
    expect(summary).not.toHaveProperty('actionLog');
  });

  it('summarises state saved before summaries existed, and forgets both on delete', async () => {
    await store.save(state('legacy'));
    await redis.del(`${prefix}s:legacy`);
    expect((await store.loadSummaries(['legacy', 'absent'])).map((s) => s.instanceId)).toEqual(['legacy']);
    await store.delete('legacy');
    expect(await store.loadSummaries(['legacy'])).toEqual([]);
    expect(await store.load('legacy')).toBeUndefined();
  });
});
