import type { Redis } from 'ioredis';
import { checkpointKey, flagKeys, prodLogKey } from '../../src/protocol/flagKeys';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { fencedAppend } from '../../src/agent/scripts';
import { measureFlip } from '../../local/workloads/tcp/measure';
import { payloadOf, TcpFrameSource } from '../../local/workloads/tcp/source';
import { TcpWorker } from '../../local/workloads/tcp/worker';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

const app = '00000000-0000-0000-0000-000000000001/rg/ingest';
const blue = 'ingest--v1';
const green = 'ingest--v2';
const fast = { rereadIntervalMs: 200, heartbeatIntervalMs: 200, leaseTtlMs: 2_000 };

let redis: Redis;
let prefix: string;
let source: TcpFrameSource;
let workers: TcpWorker[] = [];

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('once');
});
afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
  await source?.close();
  await deleteKeysWithPrefix(redis, prefix);
});
afterAll(() => redis.quit());

function worker(revision: string): TcpWorker {
  const w = new TcpWorker({
    app,
    revision,
    replica: 'r1',
    source: { host: source.host, port: source.port },
    prodUrl: testRedisUrl(),
    tempUrl: testRedisUrl(),
    keyPrefix: prefix,
    agent: fast,
  });
  workers.push(w);
  return w;
}

const checkpoint = async (log: string): Promise<number> =>
  Number((await redis.get(checkpointKey(prodLogKey(prefix, app, log)))) ?? 0);

interface Audit {
  count: number;
  duplicates: number;
  gaps: number;
  outOfOrder: number;
  badPayloads: number;
  writers: Record<string, number>;
}

async function serverMs(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function entryMs(id: string): number {
  return Number(id.split('-')[0]);
}

function fieldOf(flat: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

/** Reads a production log back and counts what exactly-once forbids. */
async function audit(log: string, last: number): Promise<Audit> {
  const rows = await redis.xrange(prodLogKey(prefix, app, log), '-', '+');
  const seen = new Set<number>();
  const result: Audit = {
    count: rows.length,
    duplicates: 0,
    gaps: 0,
    outOfOrder: 0,
    badPayloads: 0,
    writers: {},
  };
  let previous = 0;
  for (const [, flat] of rows) {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    const id = Number(f.frameId);
    if (seen.has(id)) result.duplicates += 1;
    seen.add(id);
    if (id <= previous) result.outOfOrder += 1;
    previous = id;
    if (f.payload !== payloadOf(id, 32)) result.badPayloads += 1;
    result.writers[f.revision ?? '?'] = (result.writers[f.revision ?? '?'] ?? 0) + 1;
  }
  for (let id = 1; id <= last; id++) if (!seen.has(id)) result.gaps += 1;
  return result;
}

describe('exactly once across a flip and a flip back', () => {
  it('lands every frame in the production sink once, contiguous, while the source never stops', async () => {
    source = new TcpFrameSource({ frameIntervalMs: 2, autoPlay: false });
    await source.listen();
    const control = new RedisControlPlane(redis, prefix);
    const record = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, record.epoch, 'rollout-1');
    const [b, g] = [worker(blue), worker(green)];
    await Promise.all([b.start(), g.start()]);
    await until('both receivers are connected', () => source.connected === 2);
    await until(
      'blue processes production and green its mock path',
      () => b.agent.processing && g.agent.processing,
    );
    source.play();

    await until('blue has put 200 frames through', async () => (await checkpoint('sink')) >= 200);
    const beforeThere = await serverMs();
    const there = await measureFlip({ control, redis, keyPrefix: prefix, app, to: green, by: 'rollout-1' });
    const afterThere = await serverMs();
    const atFlip = await checkpoint('sink');
    await until(
      'green has put 300 more frames through',
      async () => (await checkpoint('sink')) >= atFlip + 300,
    );
    const beforeBack = await serverMs();
    const back = await measureFlip({
      control,
      redis,
      keyPrefix: prefix,
      app,
      to: blue,
      by: 'rollout-1:back',
    });
    const afterBack = await serverMs();
    const atFlipBack = await checkpoint('sink');
    await until(
      'blue has put 300 more frames through',
      async () => (await checkpoint('sink')) >= atFlipBack + 300,
    );
    source.pause();
    const last = source.emitted;
    await until(`the sink holds frame ${last}`, async () => (await checkpoint('sink')) === last);

    // Blue replays the first 50 frames, as a receiver resending its buffer would: every one is refused.
    const duplicatesBefore = b.agent.report().duplicates ?? 0;
    for (let id = 1; id <= 50; id++) {
      const replay = await b.agent.append('stream', id, { frameId: String(id), payload: payloadOf(id, 32) });
      expect(replay.status).toBe('duplicate');
    }
    expect((b.agent.report().duplicates ?? 0) - duplicatesBefore).toBe(50);

    for (const log of ['stream', 'sink']) {
      const a = await audit(log, last);
      expect({ log, ...a, writers: undefined }).toEqual({
        log,
        count: last,
        duplicates: 0,
        gaps: 0,
        outOfOrder: 0,
        badPayloads: 0,
        writers: undefined,
      });
      // Both revisions wrote production: blue before and after, green in between.
      expect(Object.keys(a.writers).sort()).toEqual([blue, green].sort());
    }

    // Attempted duplicates were counted and refused (the audit above found none stored); no replica
    // had to skip an id.
    const reports = [b.agent.report(), g.agent.report()];
    expect(reports.reduce((s, r) => s + (r.duplicates ?? 0), 0)).toBeGreaterThanOrEqual(50);
    expect(reports.map((r) => r.gaps)).toEqual([0, 0]);
    expect(g.agent.report().writes.temp).toBeGreaterThan(0);
    // Each flip's figures are what the production log itself shows: the gap is the distance between the
    // new writer's first entry (at the new epoch) and the entry before it, and the flip started between the
    // calls around it (Redis server time, the clock of the entry ids).
    const flips = [
      { m: there, to: green, from: blue, epoch: 2, after: beforeThere, before: afterThere },
      { m: back, to: blue, from: green, epoch: 3, after: beforeBack, before: afterBack },
    ];
    const rows = await redis.xrange(prodLogKey(prefix, app, 'stream'), '-', '+');
    for (const { m, to, from, epoch, after, before } of flips) {
      const i = rows.findIndex(
        ([, f]) => fieldOf(f, 'revision') === to && fieldOf(f, 'epoch') === String(epoch),
      );
      expect(i).toBeGreaterThan(0);
      const firstMs = entryMs(rows[i]![0]);
      expect(m.gapMs).toBe(firstMs - entryMs(rows[i - 1]![0]));
      expect(fieldOf(rows[i - 1]![1], 'revision')).toBe(from);
      const startedMs = firstMs - m.flipMs;
      expect(startedMs).toBeGreaterThanOrEqual(after);
      expect(startedMs).toBeLessThanOrEqual(before);
      expect(m.from).toBe(from);
    }
    expect([there.epoch, back.epoch]).toEqual([2, 3]);

    // A write stamped with green's epoch (2) after the flip back (epoch 3) is refused by the script.
    const sink = prodLogKey(prefix, app, 'sink');
    const keys = flagKeys(prefix, app);
    const stale = await fencedAppend(
      redis,
      {
        kind: 'prod',
        recordKey: keys.record,
        leaseKey: keys.lease,
        epoch: 2,
        revision: green,
        token: `${green}|2|r1`,
      },
      { log: sink, checkpoint: checkpointKey(sink), lastWrite: keys.lastWrite },
      last + 1,
      ['frameId', String(last + 1)],
      false,
    );
    expect(stale).toEqual({ refused: 'epoch', epoch: 3, active: blue });
    expect(await checkpoint('sink')).toBe(last);
  });
});
