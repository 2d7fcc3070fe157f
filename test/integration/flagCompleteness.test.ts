// Completeness and progress against real Redis and the real TCP workload: the mock outputs adapter reads
// back the ids green wrote, observeMock judges them (the `drops` image fails with its holes named), and
// observeProgress sees a green that stalls after the flip while keeping its lease.
import type { Redis } from 'ioredis';
import { TcpFrameSource } from '../../local/workloads/tcp/source';
import { SequencedAppender, WorkloadAgent } from '../../src/agent';
import { TcpWorker, type TcpFaults } from '../../local/workloads/tcp/worker';
import { flagActivities, sequenceWindow } from '../../src/activities/flags';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { RedisMockOutputs } from '../../src/adapters/flags/redisMockOutputs';
import { appKey } from '../../src/domain/flag/control';
import { assessProgress } from '../../src/domain/flag/progress';
import { assessMock, type MockSpec } from '../../src/domain/flag/validation';
import type { RolloutPorts } from '../../src/domain/ports';
import type { FlagActivityInput, FlagStrategyPlan } from '../../src/domain/rollout/types';
import { checkpointKey, mockKey, mockSink, prodLogKey, sourceKey } from '../../src/protocol/flagKeys';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

const appRef = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'ingest' };
const app = appKey(appRef);
const fast = { rereadIntervalMs: 100, heartbeatIntervalMs: 100, leaseTtlMs: 1_000 };

let redis: Redis;
let prefix: string;
const running: { stop(): Promise<void> }[] = [];

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('complete');
});
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
  await deleteKeysWithPrefix(redis, prefix);
});
afterAll(() => redis.quit());

describe('RedisMockOutputs.sequence and RedisControlPlane.checkpoint', () => {
  it('reads back the ids of the newest records, oldest first, and says when it read only part', async () => {
    const mock = new RedisMockOutputs(redis, prefix);
    const key = mockKey(prefix, app, 'green', mockSink);
    for (const id of [1, 2, 3, 5, 4, 4]) await redis.xadd(key, '*', 'frameId', String(id), 'payload', 'x');
    await redis.xadd(key, '*', 'payload', 'no id');
    await redis.xadd(key, '*', 'frameId', 'seven');
    await redis.xadd(key, '*', 'frameId', '8');

    expect(await mock.sequence(app, 'green', 'frameId', 100)).toEqual({
      ids: [1, 2, 3, 5, 4, 4, 8],
      total: 9,
      truncated: false,
      unreadable: 2,
    });
    expect(await mock.sequence(app, 'green', 'frameId', 3)).toEqual({
      ids: [8],
      total: 9,
      truncated: true,
      unreadable: 2,
    });
    expect(await mock.sequence(app, 'nobody', 'frameId', 10)).toEqual({
      ids: [],
      total: 0,
      truncated: false,
      unreadable: 0,
    });

    const control = new RedisControlPlane(redis, prefix);
    expect(await control.checkpoint(app, 'sink')).toBeUndefined();
    await redis.set(checkpointKey(prodLogKey(prefix, app, 'sink')), '41');
    expect(await control.checkpoint(app, 'sink')).toBe(41);
  });
});

describe('flag activities on the TCP workload', () => {
  const mockSpec: MockSpec = {
    deadlineMs: 30_000,
    minRecords: 60,
    requiredFields: ['frameId', 'receivedAt', 'payload'],
    consumerGroup: 'processor',
    maxLag: 50,
    maxErrors: 0,
    sequenceField: 'frameId',
    maxGap: 0,
  };

  async function setUp(greenFaults: TcpFaults): Promise<{
    handlers: ReturnType<typeof flagActivities>;
    input: FlagActivityInput;
    control: RedisControlPlane;
    source: TcpFrameSource;
  }> {
    const control = new RedisControlPlane(redis, prefix);
    const mock = new RedisMockOutputs(redis, prefix);
    const strategy: FlagStrategyPlan = {
      type: 'flag',
      prodUrlSetting: 'PROD_REDIS_URL',
      tempUrlSetting: 'TEMP_REDIS_URL',
      keyPrefix: prefix,
      flipDeadlineMs: 10_000,
      mock: mockSpec,
      progress: { log: 'sink', maxLagFrames: 1000 },
    };
    // Only the flag ports: these activities reach nothing else.
    const ports = { flags: () => ({ control, mock }), now: () => new Date() } as unknown as RolloutPorts;
    const source = new TcpFrameSource({ frameIntervalMs: 5 });
    const at = await source.listen();
    running.push({ stop: () => source.close() });
    await control.ensure(app, 'blue', 'bootstrap');
    const worker = (revision: string, faults: TcpFaults = {}): TcpWorker =>
      new TcpWorker({
        app,
        revision,
        source: at,
        prodUrl: testRedisUrl(),
        tempUrl: testRedisUrl(),
        keyPrefix: prefix,
        faults,
        agent: fast,
      });
    for (const w of [worker('blue'), worker('green', greenFaults)]) running.push(await w.start());
    const record = await control.setRevision(app, 'green', { mode: 'mock', binding: 'temp' }, 1, 'r1');
    expect(record.epoch).toBe(1);
    return {
      handlers: flagActivities(ports),
      input: { app: appRef, strategy, rolloutId: 'r1' },
      control,
      source,
    };
  }

  it('fails the `drops` green in mock validation, naming the lost frames', async () => {
    const { handlers, input } = await setUp({ drops: true });
    const mock = new RedisMockOutputs(redis, prefix);
    await until('green to write in mock mode', async () => (await mock.records(app, 'green', 0)).count >= 60);
    const obs = await handlers.observeMock({ ...input, revision: 'green' }, { startRollout: jest.fn() });
    expect(obs.completeness).toMatchObject({ verdict: 'fail', truncated: false, duplicates: { count: 0 } });
    const holes = obs.completeness!.holes.examples;
    expect(holes.length).toBeGreaterThan(0);
    expect(holes.every((id) => id % 10 === 0)).toBe(true);
    const report = assessMock(mockSpec, obs, new Date().toISOString());
    expect(report.verdict).toBe('fail');
    expect(report.message).toMatch(
      new RegExp(
        `output is incomplete: \\d+ of ids \\d+-\\d+ missing \\(e\\.g\\. ${holes.join(', ')}; longest run 1`,
      ),
    );
    expect(report.holes?.count).toBeGreaterThanOrEqual(5);
    expect(sequenceWindow).toBe(10_000);
  }, 30_000);

  it('passes a healthy green with every frame id once', async () => {
    const { handlers, input } = await setUp({});
    const spec = mockSpec;
    const report = await until(
      'green to pass mock validation',
      async () => {
        const obs = await handlers.observeMock({ ...input, revision: 'green' }, { startRollout: jest.fn() });
        const r = assessMock(spec, obs, new Date().toISOString());
        expect(r.verdict).not.toBe('fail');
        return r.verdict === 'pass' ? r : undefined;
      },
      20_000,
      200,
    );
    expect(report.message).toMatch(/ids \d+-\d+ all written once/);
    expect(report.holes).toEqual({ count: 0, examples: [] });
  }, 30_000);

  it('sees the `stall` green stop committing after the flip while it keeps its lease and heartbeat', async () => {
    const { handlers, input, control } = await setUp({ stallAfterMs: 1_000 });
    const mock = new RedisMockOutputs(redis, prefix);
    await until('green to write in mock mode', async () => (await mock.records(app, 'green', 0)).count >= 20);
    const flipped = await control.flip(app, 'green', 1, 'r1');
    const spec = { active: 'green', epoch: flipped.epoch, maxLagFrames: 1000 };
    const invocation = { startRollout: jest.fn() };

    // While it writes: progress between two looks.
    const first = await until('green to write production', async () => {
      const o = await handlers.observeProgress(input, invocation);
      return o.lastWrite?.revision === 'green' ? o : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    const second = await handlers.observeProgress(input, invocation);
    expect(assessProgress(first, second, spec)).toMatchObject({ verdict: 'pass' });

    // After it stalls: alive, leased, not writing.
    await new Promise((r) => setTimeout(r, 1_500));
    const third = await handlers.observeProgress(input, invocation);
    await new Promise((r) => setTimeout(r, 1_000));
    const fourth = await handlers.observeProgress(input, invocation);
    expect(fourth.lease).toEqual({ revision: 'green', epoch: flipped.epoch });
    expect(fourth.reports.find((r) => r.revision === 'green')).toBeDefined();
    const verdict = assessProgress(third, fourth, spec);
    expect(verdict).toMatchObject({ verdict: 'fail', advanced: 0 });
    expect(verdict.message).toMatch(
      /green is stalled: alive and holding the lease, but its checkpoint stayed at \d+/,
    );
  }, 30_000);
});

describe('lag behind the source position', () => {
  function portsFor(control: RedisControlPlane): RolloutPorts {
    const mock = new RedisMockOutputs(redis, prefix);
    return { flags: () => ({ control, mock }), now: () => new Date() } as unknown as RolloutPorts;
  }

  it('a source that reaches Redis publishes the id of its newest frame, never moving it back', async () => {
    const key = sourceKey(prefix, app);
    await redis.set(key, '5000');
    const source = new TcpFrameSource({ frameIntervalMs: 5, position: { redis, key } });
    await source.listen();
    running.push({ stop: () => source.close() });
    // Numbered below what is published: the position stays where it was.
    await new Promise((r) => setTimeout(r, 100));
    expect(await redis.get(key)).toBe('5000');
    await source.close();

    await redis.del(key);
    const fresh = new TcpFrameSource({ frameIntervalMs: 5, position: { redis, key } });
    await fresh.listen();
    running.push({ stop: () => fresh.close() });
    await until('the position to follow the source', async () => Number(await redis.get(key)) >= 20);
    fresh.pause();
    await until(
      'the last frame sent to be published',
      async () => Number(await redis.get(key)) === fresh.emitted,
    );
  });

  it('observeProgress reads the position receivers publish; a green that commits but stays behind fails', async () => {
    const control = new RedisControlPlane(redis, prefix);
    const handlers = flagActivities(portsFor(control));
    const input: FlagActivityInput = {
      app: appRef,
      rolloutId: 'r1',
      strategy: {
        type: 'flag',
        prodUrlSetting: 'PROD_REDIS_URL',
        tempUrlSetting: 'TEMP_REDIS_URL',
        keyPrefix: prefix,
        flipDeadlineMs: 10_000,
        mock: { deadlineMs: 1, minRecords: 1, requiredFields: [], maxLag: 0, maxErrors: 0, maxGap: 0 },
        progress: { log: 'sink', maxLagFrames: 50 },
      },
    };
    await control.ensure(app, 'blue', 'bootstrap');
    const { epoch } = await control.flip(app, 'green', 1, 'r1');
    const agentOf = async (revision: string): Promise<WorkloadAgent> => {
      const agent = new WorkloadAgent({
        app,
        revision,
        replica: 'r1',
        keyPrefix: prefix,
        prodUrl: testRedisUrl(),
        ...fast,
      });
      running.push(agent);
      return agent.start();
    };
    const green = await agentOf('green');
    const blue = await agentOf('blue');
    await until('green to process production', () => green.processing);
    // Blue, in standby, receives every frame of the source too: what it saw is the source's position.
    const receiver = new SequencedAppender(blue, 'stream');
    running.push({ stop: async () => receiver.close() });
    let committed = 0;
    const commit = async (upTo: number): Promise<void> => {
      while (committed < upTo) {
        committed += 1;
        await green.append('sink', committed, { frameId: String(committed) });
      }
    };
    const receive = async (upTo: number): Promise<void> => {
      for (let id = 1; id <= upTo; id++) receiver.push(id, { frameId: String(id) });
      await until('the position to be published', async () => (await control.sourcePosition(app)) === upTo);
    };
    const invocation = { startRollout: jest.fn() };
    const spec = { active: 'green', epoch, maxLagFrames: 50 };

    await commit(10);
    await receive(100);
    const first = await handlers.observeProgress(input, invocation);
    expect(first).toMatchObject({ checkpoint: 10, source: 100 });
    expect(assessProgress(undefined, first, spec)).toMatchObject({ verdict: 'pending', lag: 90 });

    // It commits, but is still further behind than allowed a check later: not keeping up.
    await commit(20);
    await receive(200);
    const second = await handlers.observeProgress(input, invocation);
    expect(assessProgress(first, second, spec)).toMatchObject({
      verdict: 'fail',
      lag: 180,
      advanced: 10,
      message: expect.stringMatching(
        /^green is 180 frames behind the source at 200 \(at most 50\), and was 90 behind [\d.]+s before: it is not keeping up$/,
      ),
    });

    // A receiver that saw less (green itself, say) never moves the position back.
    green.noteSourcePosition(20);
    await new Promise((r) => setTimeout(r, 300));
    expect(await control.sourcePosition(app)).toBe(200);

    // Caught up by the next check: in step again.
    await commit(195);
    const third = await handlers.observeProgress(input, invocation);
    expect(assessProgress(second, third, spec)).toMatchObject({ verdict: 'pass', lag: 5, advanced: 175 });
  }, 30_000);
});
