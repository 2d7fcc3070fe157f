// The emulator's `stall` image: after the flip it writes production for a moment, then stops while its
// agent keeps the lease and heartbeat; blue, in standby, keeps buffering, so a flip back loses nothing.
import type { Redis } from 'ioredis';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { appKey } from '../../src/domain/flag/control';
import { prodLogKey } from '../../src/protocol/flagKeys';
import { type EmulatorFixture, startEmulatorWithApp, waitForRevisionToSettle } from '../support/emulator';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

let redis: Redis;
let prefix: string;
let fx: EmulatorFixture | undefined;

beforeAll(() => {
  redis = newTestRedis();
  prefix = uniquePrefix('stall');
});
afterAll(async () => {
  await fx?.stop();
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

it('a `stall` revision stops committing after the flip but keeps its lease and heartbeat', async () => {
  fx = await startEmulatorWithApp({
    app: {
      name: 'ingest',
      image: 'greenlight.azurecr.io/ingest:v1',
      ingress: false,
      workload: { kind: 'tcp' },
    },
    emulator: {
      redis: { prodUrl: testRedisUrl(), tempUrl: testRedisUrl(), keyPrefix: prefix },
      tcp: {
        frameIntervalMs: 5,
        agent: { rereadIntervalMs: 200, heartbeatIntervalMs: 200, leaseTtlMs: 2_000 },
      },
    },
  });
  const f = fx;
  const app = appKey(f.app);
  const control = new RedisControlPlane(redis, prefix);
  await until(
    'blue writes production',
    async () => (await control.lastWrite(app))?.revision === 'ingest--v1',
  );
  const { revisionName: green } = await f.adapter.deployGreen(f.app, {
    image: 'greenlight.azurecr.io/ingest:v2-stall',
    revisionSuffix: 'v2-stall',
  });
  await waitForRevisionToSettle(f, green);
  await until("green's worker runs", () => f.emulator.tcpWorker(f.app, green) !== undefined);

  await control.flip(app, green, 1, 'rollout-1');
  await until('green writes production', async () => (await control.lastWrite(app))?.revision === green);
  const worker = f.emulator.tcpWorker(f.app, green)!;
  await until('green stalls', () => worker.framesIgnored > 0, 10_000);
  const settled = await until('the checkpoint to stop moving', async () => {
    const a = await control.checkpoint(app, 'sink');
    await new Promise((r) => setTimeout(r, 500));
    const b = await control.checkpoint(app, 'sink');
    return a !== undefined && a === b ? b : undefined;
  });
  await new Promise((r) => setTimeout(r, 2_500)); // longer than the lease TTL: it is renewed, not lapsing
  expect(await control.checkpoint(app, 'sink')).toBe(settled);
  expect(await control.leaseHolder(app)).toEqual({ revision: green, epoch: 2 });
  expect((await control.reports(app, 1_000)).find((r) => r.revision === green)).toMatchObject({
    mode: 'prod',
    holdsLease: true,
  });
  expect(f.emulator.tcpSource(f.app)!.emitted).toBeGreaterThan(settled + 100);

  // Flipping back: blue resumes from the checkpoint out of its own buffer.
  await control.flip(app, 'ingest--v1', 2, 'rollout-1:back');
  await until(
    'blue commits again',
    async () => ((await control.checkpoint(app, 'sink')) ?? 0) > settled + 50,
    10_000,
  );
  // Nothing lost or doubled across the stall and the flip back.
  const last = (await control.checkpoint(app, 'sink'))!;
  const ids = (await redis.xrange(prodLogKey(prefix, app, 'sink'), '-', '+'))
    .map(([, flat]) => Number(flat[flat.indexOf('frameId') + 1]))
    .filter((id) => id <= last);
  const first = Math.min(...ids);
  expect(ids).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
}, 60_000);
