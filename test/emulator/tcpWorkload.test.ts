import type { Redis } from 'ioredis';
import { startContainerAppsEmulator } from '../../local/containerapps-emulator';
import { checkpointKey, prodLogKey } from '../../src/protocol/flagKeys';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { RedisMockOutputs } from '../../src/adapters/flags/redisMockOutputs';
import { appKey } from '../../src/domain/flag/control';
import {
  type EmulatorFixture,
  rejectionOf,
  startEmulatorWithApp,
  waitForRevisionToSettle,
} from '../support/emulator';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

let redis: Redis;
let prefix: string;
let fx: EmulatorFixture | undefined;

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('tcp');
});
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
  await deleteKeysWithPrefix(redis, prefix);
});
afterAll(() => redis.quit());

async function startTcpApp(): Promise<EmulatorFixture> {
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
  return fx;
}

async function deploy(f: EmulatorFixture, tag: string): Promise<string> {
  const { revisionName } = await f.adapter.deployGreen(f.app, {
    image: `greenlight.azurecr.io/ingest:${tag}`,
    revisionSuffix: tag,
  });
  await waitForRevisionToSettle(f, revisionName);
  return revisionName;
}

describe('TCP-worker apps', () => {
  it('runs a receiver + processor per running revision that follows the control record', async () => {
    const f = await startTcpApp();
    const app = appKey(f.app);
    const control = new RedisControlPlane(redis, prefix);
    const mock = new RedisMockOutputs(redis, prefix);
    expect(await control.read(app)).toMatchObject({ epoch: 1, active: 'ingest--v1', updatedBy: 'bootstrap' });
    await until(
      'blue writes production',
      async () => (await control.lastWrite(app))?.revision === 'ingest--v1',
    );
    // The source publishes its newest frame: production's lag behind it is what the watch bounds.
    await until('the source position to pass the sink checkpoint', async () => {
      const [position, sink] = await Promise.all([
        control.sourcePosition(app),
        control.checkpoint(app, 'sink'),
      ]);
      return position !== undefined && sink !== undefined && position >= sink;
    });

    const green = await deploy(f, 'v2');
    await until("green's worker runs", () => f.emulator.tcpWorker(f.app, green) !== undefined);
    const worker = f.emulator.tcpWorker(f.app, green)!;
    expect(worker.agent.mode).toBe('standby');

    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, 1, 'rollout-1');
    await until(
      'green writes 20 records to its mock sink',
      async () => (await mock.records(app, green, 0)).count >= 20,
    );
    const { sample } = await mock.records(app, green, 5);
    for (const record of sample)
      expect(Object.keys(record)).toEqual(expect.arrayContaining(['frameId', 'receivedAt', 'payload']));
    expect(await mock.consumerLag(app, green, 'processor')).toEqual({
      lag: expect.any(Number),
      pending: expect.any(Number),
    });
    await until('green reports holding its mock-path lease', async () =>
      (await control.reports(app, 5_000)).some(
        (r) => r.revision === green && r.mode === 'mock' && r.holdsLease,
      ),
    );

    await control.flip(app, green, 1, 'rollout-1');
    await until('green writes production', async () => (await control.lastWrite(app))?.revision === green);
    expect(await control.leaseHolder(app)).toEqual({ revision: green, epoch: 2 });
    expect(await mock.drop(app, green)).toBeGreaterThan(0);

    await f.adapter.deactivateRevision(f.app, 'ingest--v1');
    await until("blue's worker stops", () => f.emulator.tcpWorker(f.app, 'ingest--v1') === undefined);
  });

  it('misbehaves by image tag: drops, malformed, nolease', async () => {
    const f = await startTcpApp();
    const app = appKey(f.app);
    const control = new RedisControlPlane(redis, prefix);
    const mock = new RedisMockOutputs(redis, prefix);
    const [drops, malformed, nolease] = [
      await deploy(f, 'v2-drops'),
      await deploy(f, 'v3-malformed'),
      await deploy(f, 'v4-nolease'),
    ];
    for (const rev of [drops, malformed, nolease]) {
      await until(`${rev} runs`, () => f.emulator.tcpWorker(f.app, rev) !== undefined);
      await control.setRevision(app, rev, { mode: 'mock', binding: 'temp' }, 1, 'rollout-1');
    }
    await until(
      'the faulty revisions have written',
      async () =>
        (await mock.records(app, malformed, 0)).count >= 20 &&
        (await mock.records(app, drops, 0)).count >= 20,
    );
    const { sample } = await mock.records(app, malformed, 5);
    expect(sample.every((r) => r.frameId !== undefined && r.receivedAt === undefined)).toBe(true);
    await until(
      'the dropping revision reports gaps',
      () => (f.emulator.tcpWorker(f.app, drops)?.agent.report().gaps ?? 0) > 0,
    );
    const quiet = f.emulator.tcpWorker(f.app, nolease)!.agent;
    expect(quiet.mode).toBe('mock');
    expect(quiet.report()).toMatchObject({ holdsLease: false, processing: false, writes: { temp: 0 } });
    expect((await mock.records(app, nolease, 0)).count).toBe(0);
  });

  it('starts over cleanly on a Redis an earlier run left behind', async () => {
    const first = await startTcpApp();
    const app = appKey(first.app);
    const control = new RedisControlPlane(redis, prefix);
    await until(
      'the first run writes production',
      async () => (await control.lastWrite(app))?.revision === 'ingest--v1',
    );
    // The earlier run ended on a revision this run will not have.
    await control.setRevision(app, 'ingest--v9', { mode: 'mock', binding: 'temp' }, 1, 'rollout-9');
    await control.flip(app, 'ingest--v9', 1, 'rollout-9');
    await first.stop();
    const committed = Number(await redis.get(checkpointKey(prodLogKey(prefix, app, 'sink'))));
    const published = (await control.sourcePosition(app)) ?? 0;
    expect(published).toBeGreaterThanOrEqual(committed);

    const second = await startTcpApp();
    expect(await control.read(app)).toMatchObject({ epoch: 3, active: 'ingest--v1', updatedBy: 'bootstrap' });
    await until('the second run writes production again', async () => {
      const last = await control.lastWrite(app);
      return last?.revision === 'ingest--v1' && last.epoch === 3;
    });
    await until(
      'the sink moves past the first run',
      async () => Number(await redis.get(checkpointKey(prodLogKey(prefix, app, 'sink')))) > committed,
    );
    // It numbers on after the position the first run published, which only moves forward.
    expect(second.emulator.tcpSource(second.app)!.emitted).toBeGreaterThan(published);
    expect((await control.sourcePosition(app)) ?? 0).toBeGreaterThan(published);
  });

  it('refuses a TCP-worker seed without Redis settings', async () => {
    const emulator = await startContainerAppsEmulator();
    try {
      const e = await rejectionOf(
        emulator.seedApp({
          subscriptionId: 's',
          resourceGroup: 'rg',
          name: 'ingest',
          image: 'r.io/ingest:v1',
          workload: { kind: 'tcp' },
        }),
      );
      expect(e.message).toContain('start the emulator with redis: {prodUrl, tempUrl}');
    } finally {
      await emulator.stop();
    }
  });
});
