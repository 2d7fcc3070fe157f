import type { Redis } from 'ioredis';
import { RedisEmergencyStopStore } from '../../src/adapters/redis/emergencyStops';
import {
  admission,
  mayChangeProduction,
  newEmergencyStop,
  type StopScope,
} from '../../src/domain/changeControl';
import { deleteKeysWithPrefix, newTestRedis, uniquePrefix } from '../support/redis';

const app = { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'RG', name: 'web' };
const other = { ...app, name: 'api' };
let redis: Redis;
let prefix: string;
let store: RedisEmergencyStopStore;

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('stops');
  store = new RedisEmergencyStopStore(redis, prefix);
});
afterEach(() => deleteKeysWithPrefix(redis, prefix));
afterAll(() => redis.quit());

function stop(scope: StopScope, reason: string, by: string, at = '2026-06-10T12:00:00Z') {
  const parsed = newEmergencyStop(scope, { reason }, by, new Date(at));
  if (!parsed.ok) throw new Error(parsed.problems.join());
  return parsed.stop;
}

describe('emergency stops in Redis', () => {
  it('an app stop holds that app only, and lifting it opens production again', async () => {
    const now = new Date('2026-06-10T12:05:00Z');
    const engaged = await store.engage(
      stop({ kind: 'app', app: '00000000-0000-0000-0000-000000000001/rg/web' }, 'INC-1 bad config', 'oncall'),
    );
    expect(engaged.engaged).toBe(true);
    expect(admission(now, undefined, undefined, { stops: await store.inForce(app) }).verdict).toBe('reject');
    expect(mayChangeProduction(now, undefined, undefined, { stops: await store.inForce(app) }).verdict).toBe(
      'pause',
    );
    expect(await store.inForce(other)).toEqual([]);
    const lifted = await store.lift(
      { kind: 'app', app: '00000000-0000-0000-0000-000000000001/rg/web' },
      'lead',
      now.toISOString(),
    );
    expect(lifted?.reason).toBe('INC-1 bad config');
    expect(mayChangeProduction(now, undefined, undefined, { stops: await store.inForce(app) }).allowed).toBe(
      true,
    );
  });

  it('a global stop holds every app; engaging again keeps the first stop', async () => {
    await store.engage(stop({ kind: 'global' }, 'INC-2 region outage', 'alice'));
    const again = await store.engage(stop({ kind: 'global' }, 'second thoughts', 'bob'));
    expect(again).toMatchObject({ engaged: false, stop: { by: 'alice', reason: 'INC-2 region outage' } });
    expect(await store.inForce(other)).toEqual([expect.objectContaining({ scope: { kind: 'global' } })]);
    expect(await store.list()).toHaveLength(1);
  });

  it('keeps an audit trail of engage and lift, newest first; lifting nothing is a no-op', async () => {
    await store.engage(stop({ kind: 'global' }, 'INC-3 failover', 'alice'));
    await store.lift({ kind: 'global' }, 'bob', '2026-06-10T13:00:00Z');
    expect(await store.lift({ kind: 'global' }, 'bob', '2026-06-10T13:01:00Z')).toBeUndefined();
    expect(await store.audit()).toEqual([
      { action: 'lift', scope: { kind: 'global' }, by: 'bob', at: '2026-06-10T13:00:00Z' },
      {
        action: 'engage',
        scope: { kind: 'global' },
        by: 'alice',
        at: '2026-06-10T12:00:00.000Z',
        reason: 'INC-3 failover',
      },
    ]);
    expect(await store.list()).toEqual([]);
  });
});
