import { createServer, type Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { encodeRecord, flagKeys, mockKey, prodLogKey } from '../../src/protocol/flagKeys';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import {
  type AgentOptions,
  isStaleEpoch,
  LogProcessor,
  SequencedAppender,
  WorkloadAgent,
} from '../../src/agent';
import type { ControlRecord } from '../../src/domain/flag/control';
import { rejectionOf } from '../support/emulator';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

const app = '00000000-0000-0000-0000-000000000001/rg/ingest';
const blue = 'ingest--v1';
const green = 'ingest--v2';

let redis: Redis;
let prefix: string;
let control: RedisControlPlane;
let agents: WorkloadAgent[] = [];

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('agent');
  control = new RedisControlPlane(redis, prefix);
});
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
  await deleteKeysWithPrefix(redis, prefix);
});
afterAll(() => redis.quit());

/** An agent with quick timings; `rereadIntervalMs` long by default so only change messages move it. */
async function startAgent(revision: string, options: AgentOptions = {}): Promise<WorkloadAgent> {
  const agent = new WorkloadAgent({
    app,
    revision,
    replica: 'r1',
    keyPrefix: prefix,
    prodUrl: testRedisUrl(),
    tempUrl: testRedisUrl(),
    rereadIntervalMs: 60_000,
    heartbeatIntervalMs: 100,
    leaseTtlMs: 1_000,
    ...options,
  });
  agents.push(agent);
  return agent.start();
}

/** Writes the record as a change whose message was lost: no publish. */
async function writeSilently(record: ControlRecord): Promise<void> {
  await redis.hset(flagKeys(prefix, app).record, encodeRecord(record));
}

describe('following the control record', () => {
  it('is standby without a record, and follows changes at once through their messages', async () => {
    const agent = await startAgent(green);
    expect(agent.current).toEqual({ mode: 'standby', binding: 'prod', epoch: 0, active: null });
    expect(agent.processing).toBe(false);
    const modes: string[] = [];
    agent.on('mode', (s) => modes.push(`${s.mode}/${s.binding}@${s.epoch}`));

    const r = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, r.epoch, 'rollout-1');
    await until('green applies mock mode and holds its mock-path lease', () => agent.processing);
    expect(agent.current).toMatchObject({ mode: 'mock', binding: 'temp', epoch: 1, active: blue });
    expect(agent.key('stream')).toBe(mockKey(prefix, app, green, 'stream'));
    expect(await redis.get(mockKey(prefix, app, green, 'lease'))).toBe('r1');
    expect(modes.at(-1)).toBe('mock/temp@1');

    await control.flip(app, green, 1, 'rollout-1');
    await until(
      'green holds the production lease',
      async () => (await control.leaseHolder(app))?.revision === green,
    );
    expect(agent.current).toMatchObject({ mode: 'prod', binding: 'prod', epoch: 2, active: green });
    expect(agent.key('stream')).toBe(prodLogKey(prefix, app, 'stream'));
    // The mock-path lease went with the mode.
    expect(await redis.exists(mockKey(prefix, app, green, 'lease'))).toBe(0);
  });

  it('heals a lost change message with its periodic re-read', async () => {
    const r = await control.ensure(app, blue, 'bootstrap');
    const agent = await startAgent(green, { rereadIntervalMs: 100 });
    expect(agent.mode).toBe('standby');
    await writeSilently({ ...r, revisions: { ...r.revisions, [green]: { mode: 'mock', binding: 'temp' } } });
    await until('green applies mock mode without a message', () => agent.mode === 'mock' && agent.processing);
  });

  it('reports its state as a heartbeat the control plane reads', async () => {
    const r = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, r.epoch, 'rollout-1');
    const agent = await startAgent(green);
    await agent.append('stream', 1, { frameId: '1' });
    await until('the report shows the mock write', async () => {
      const [report] = await control.reports(app, 5_000);
      return report?.writes.temp === 1;
    });
    const [report] = await control.reports(app, 5_000);
    expect(report).toMatchObject({
      revision: green,
      mode: 'mock',
      binding: 'temp',
      holdsLease: true,
      processing: true,
    });
    await agent.stop();
    expect(await control.reports(app, 5_000)).toEqual([]);
  });
});

describe('demotion', () => {
  it('stops processing and releases the production lease when the flip moves production away', async () => {
    const r = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, r.epoch, 'rollout-1');
    const agent = await startAgent(blue);
    await until('blue processes production', () => agent.processing);
    expect(await control.leaseHolder(app)).toEqual({ revision: blue, epoch: 1 });
    const events: boolean[] = [];
    agent.on('processing', (p) => events.push(p));

    await control.flip(app, green, 1, 'rollout-1');
    await until('blue stops processing', () => !agent.processing);
    expect(events).toEqual([false]);
    expect(agent.current).toMatchObject({ mode: 'standby', epoch: 2, active: green });
    expect(await control.leaseHolder(app)).toBeUndefined();
    const e = await rejectionOf(agent.append('stream', 1, { frameId: '1' }));
    expect(isStaleEpoch(e) && e.reason).toBe('not-processing');
  });

  it('has a write it did not know was stale refused by the script, counts it, and demotes itself', async () => {
    const r = await control.ensure(app, blue, 'bootstrap');
    const agent = await startAgent(blue);
    await until('blue processes production', () => agent.processing);
    expect(await agent.append('stream', 1, { frameId: '1' })).toMatchObject({ status: 'written' });

    // Production moved to green, and the message never reached blue.
    await writeSilently({
      ...r,
      epoch: 2,
      active: green,
      revisions: { [blue]: { mode: 'standby', binding: 'prod' }, [green]: { mode: 'prod', binding: 'prod' } },
    });
    expect(agent.processing).toBe(true);
    const e = await rejectionOf(agent.append('stream', 2, { frameId: '2' }));
    expect(isStaleEpoch(e) && e.reason).toBe('epoch');
    expect(e.message).toMatch(
      /^\[StaleEpoch\] write by ingest--v1 stamped with epoch 1 refused: .* epoch 2 with active ingest--v2/,
    );
    expect(agent.processing).toBe(false);
    expect(agent.report().writes).toEqual({ prod: 1, temp: 0, rejected: 1 });
    await until('blue re-reads the record', () => agent.mode === 'standby' && agent.epoch === 2);
    expect(await redis.xlen(prodLogKey(prefix, app, 'stream'))).toBe(1);
  });

  it('gives the lease to one replica of a revision at a time, and to another when it stops', async () => {
    await control.ensure(app, blue, 'bootstrap');
    const [a, b] = await Promise.all([
      startAgent(blue, { replica: 'a', rereadIntervalMs: 100 }),
      startAgent(blue, { replica: 'b', rereadIntervalMs: 100 }),
    ]);
    await until('one replica processes', () => a.processing || b.processing);
    expect([a.processing, b.processing].filter(Boolean)).toHaveLength(1);
    const [holder, other] = a.processing ? [a, b] : [b, a];
    await holder.stop();
    await until('the other replica takes over', () => other.processing);
  });

  it('lets the new active processor take over entries the demoted one read but never acknowledged', async () => {
    const r = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'standby', binding: 'prod' }, r.epoch, 'rollout-1');
    const [b, g] = await Promise.all([startAgent(blue), startAgent(green)]);
    await until('blue processes production', () => b.processing);
    for (let id = 1; id <= 5; id++) await b.append('stream', id, { frameId: String(id) });
    // Blue takes three entries and stops (a crash, a flip) before writing any of them.
    expect(await b.read('stream', 'processor', 3)).toHaveLength(3);

    await control.flip(app, green, 1, 'rollout-1');
    await until('green processes production', () => g.processing);
    const processor = new LogProcessor(g, { from: 'stream', to: 'sink', group: 'processor' }).start();
    try {
      await until('green has moved all five frames', () => processor.processed === 5);
    } finally {
      await processor.stop();
    }
    const sink = await redis.xrange(prodLogKey(prefix, app, 'sink'), '-', '+');
    expect(sink.map(([, f]) => f[f.indexOf('frameId') + 1])).toEqual(['1', '2', '3', '4', '5']);
    expect(sink.every(([, f]) => f[f.indexOf('revision') + 1] === green)).toBe(true);
    const pending = (await redis.xpending(prodLogKey(prefix, app, 'stream'), 'processor')) as [number];
    expect(pending[0]).toBe(0);
    // Blue's stale read is refused now.
    expect(isStaleEpoch(await rejectionOf(b.read('stream', 'processor', 3)))).toBe(true);
  });
});

describe("holes in the active writer's buffer", () => {
  const frame = (id: number) => ({ frameId: String(id) });
  const streamIds = async (): Promise<{ id: number; revision: string }[]> =>
    (await redis.xrange(prodLogKey(prefix, app, 'stream'), '-', '+')).map(([, f]) => ({
      id: Number(f[f.indexOf('frameId') + 1]),
      revision: f[f.indexOf('revision') + 1]!,
    }));

  it('waits at frames another revision still holds (delayed, not skipped); that revision writes them after the flip back', async () => {
    await control.ensure(app, blue, 'bootstrap');
    await control.flip(app, green, 1, 'rollout-1');
    const [b, g] = await Promise.all([startAgent(blue), startAgent(green)]);
    const blueIn = new SequencedAppender(b, 'stream');
    const greenIn = new SequencedAppender(g, 'stream');
    try {
      await until('green processes production', () => g.processing);
      for (let id = 1; id <= 10; id++) [blueIn, greenIn].forEach((a) => a.push(id, frame(id)));
      await until('green commits 10', async () => (await g.checkpoint('stream')) === 10);
      // Green lets 11-140 go by (stuck on its connection), then receives again: blue received them all.
      for (let id = 11; id <= 140; id++) blueIn.push(id, frame(id));
      await until("blue's report says it holds them", async () =>
        (await control.reports(app, 1_000)).some((r) => r.revision === blue),
      );
      await new Promise((r) => setTimeout(r, 250)); // a heartbeat with blue's buffer
      for (const a of [blueIn, greenIn]) a.push(141, frame(141));

      // Green holds production at 11 instead of writing 141 past the hole.
      await new Promise((r) => setTimeout(r, 600));
      expect(await g.checkpoint('stream')).toBe(10);
      expect(g.report()).toMatchObject({ waitingFor: { log: 'stream', id: 11 }, gaps: 0 });
      expect(g.processing).toBe(true);

      // Flipped back, blue continues from the checkpoint green committed under the old epoch.
      await control.flip(app, blue, 2, 'rollout-1:back');
      await until('blue commits 141', async () => (await b.checkpoint('stream')) === 141, 5_000);
      const rows = await streamIds();
      expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 141 }, (_, i) => i + 1));
      expect(rows.slice(0, 10).every((r) => r.revision === green)).toBe(true);
      expect(rows.slice(10).every((r) => r.revision === blue)).toBe(true);
      // Green, demoted, can no longer write at the old epoch.
      const e = await rejectionOf(g.append('stream', 142, frame(142)));
      expect(isStaleEpoch(e)).toBe(true);
    } finally {
      blueIn.close();
      greenIn.close();
    }
  });

  it('skips, counted as gaps, frames no live standby receiver holds (a candidate in mock mode does not count)', async () => {
    const r = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, r.epoch, 'rollout-1');
    const [b, g] = await Promise.all([startAgent(blue), startAgent(green)]);
    const blueIn = new SequencedAppender(b, 'stream');
    const greenIn = new SequencedAppender(g, 'stream');
    try {
      await until('blue processes production', () => b.processing);
      for (let id = 1; id <= 8; id++) greenIn.push(id, frame(id));
      await until("green's report says it holds them", async () =>
        (await control.reports(app, 1_000)).some((x) => x.revision === green && x.mode === 'mock'),
      );
      await new Promise((res) => setTimeout(res, 250));
      for (const id of [1, 2, 3, 7, 8]) blueIn.push(id, frame(id));
      await until('blue commits 8', async () => (await b.checkpoint('stream')) === 8);
      expect((await streamIds()).map((r) => r.id)).toEqual([1, 2, 3, 7, 8]);
      expect(b.report()).toMatchObject({ gaps: 3 });
      expect(b.report().waitingFor).toBeUndefined();
    } finally {
      blueIn.close();
      greenIn.close();
    }
  });
});

describe('the processor', () => {
  it('counts and skips a record its transform throws on, and keeps moving the log', async () => {
    await control.ensure(app, blue, 'bootstrap');
    const b = await startAgent(blue);
    await until('blue processes production', () => b.processing);
    for (let id = 1; id <= 4; id++) await b.append('stream', id, { frameId: String(id) });
    const processor = new LogProcessor(b, {
      from: 'stream',
      to: 'sink',
      group: 'processor',
      transform: (f) => {
        if (f.frameId === '2') throw new Error('cannot parse frame 2');
        return f;
      },
    }).start();
    try {
      await until('the frames after the bad one are through', () => processor.processed === 3);
    } finally {
      await processor.stop();
    }
    const sink = await redis.xrange(prodLogKey(prefix, app, 'sink'), '-', '+');
    expect(sink.map(([, f]) => f[f.indexOf('frameId') + 1])).toEqual(['1', '3', '4']);
    expect(b.report().errors).toBe(1);
    const pending = (await redis.xpending(prodLogKey(prefix, app, 'stream'), 'processor')) as [number];
    expect(pending[0]).toBe(0);
  });
});

describe('stopping', () => {
  it('withdraws its report even when a heartbeat is in flight', async () => {
    await control.ensure(app, blue, 'bootstrap');
    const agent = await startAgent(blue);
    await until('blue holds the production lease', () => agent.processing);
    // A heartbeat (lease renewal, then report) already running when stop() begins.
    const beat = (agent as unknown as { heartbeat(): Promise<void> }).heartbeat();
    await agent.stop();
    await beat;
    expect(await control.reports(app, 60_000)).toEqual([]);
  });
});

describe('when Redis blips', () => {
  it('stops processing while Redis is away, resumes after, and applies a change it missed', async () => {
    const proxy = await TcpProxy.start(new URL(testRedisUrl()));
    try {
      const r = await control.ensure(app, blue, 'bootstrap');
      const agent = await startAgent(blue, {
        prodUrl: proxy.url,
        tempUrl: proxy.url,
        rereadIntervalMs: 100,
        redis: { retryStrategy: () => 50, connectTimeout: 500 },
      });
      await until('blue processes production', () => agent.processing);

      proxy.down();
      await until('blue stops processing during the outage', () => !agent.processing);
      proxy.up();
      await until('blue processes again after reconnecting', () => agent.processing);
      // The connection that carries the write may still be settling after the blip: a write refused with
      // "Connection is closed" is retried, as the appender does (a retry of a write that did land is a
      // duplicate at checkpoint 1).
      const written = await until('blue writes again', async () => {
        const r = await agent.append('stream', 1, { frameId: '1' }).catch(() => undefined);
        return r?.status === 'written' || r?.status === 'duplicate' ? r : undefined;
      });
      expect(written.status === 'written' ? written.id : 'checkpoint' in written && written.checkpoint).toBe(
        1,
      );

      proxy.down();
      await until('blue stops processing during the second outage', () => !agent.processing);
      await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, r.epoch, 'rollout-1');
      await control.flip(app, green, r.epoch, 'rollout-1');
      proxy.up();
      await until('blue applies the flip it missed', () => agent.epoch === 2 && agent.mode === 'standby');
      expect(agent.processing).toBe(false);
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
      agents = [];
      await proxy.close();
    }
  });
});

/** A TCP proxy to Redis that can drop every connection and refuse new ones, as a network blip does. */
class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private isDown = false;
  url = '';

  private constructor(target: URL) {
    this.server = createServer((client) => {
      if (this.isDown) {
        client.destroy();
        return;
      }
      const upstream = new Socket();
      upstream.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(target: URL): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.url = `redis://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  down(): void {
    this.isDown = true;
    for (const s of this.sockets) s.destroy();
  }

  up(): void {
    this.isDown = false;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
