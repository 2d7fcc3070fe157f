import type { Redis } from 'ioredis';
import {
  checkpointKey,
  flagKeys,
  mockKey,
  prodLogKey,
  reportMember,
  sourceKey,
} from '../../src/protocol/flagKeys';
import { advanceSourcePosition } from '../../src/protocol/sourcePosition';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { RedisMockOutputs } from '../../src/adapters/flags/redisMockOutputs';
import { acquireLease, fencedAppend, type Guard, writeHeartbeat } from '../../src/agent/scripts';
import type { ControlRecord, RevisionReport } from '../../src/domain/flag/control';
import { EpochConflictError, isEpochConflict } from '../../src/domain/flag/errors';
import { errorCode } from '../../src/domain/errors';
import { rejectionOf } from '../support/emulator';
import { deleteKeysWithPrefix, newTestRedis, uniquePrefix } from '../support/redis';

const app = '00000000-0000-0000-0000-000000000001/rg/ingest';
const blue = 'ingest--v1';
const green = 'ingest--v2';
let redis: Redis;
let prefix: string;
let control: RedisControlPlane;

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('flags');
  control = new RedisControlPlane(redis, prefix);
});
afterEach(() => deleteKeysWithPrefix(redis, prefix));
afterAll(() => redis.quit());

/** Blue in production at epoch 1, green in mock mode on the temporary Redis. */
async function blueAndGreenInMock(): Promise<ControlRecord> {
  const r = await control.ensure(app, blue, 'bootstrap');
  return control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, r.epoch, 'rollout-1');
}

function prodGuard(revision: string, epoch: number, replica = 'r1'): Guard {
  const keys = flagKeys(prefix, app);
  return {
    kind: 'prod',
    recordKey: keys.record,
    leaseKey: keys.lease,
    epoch,
    revision,
    token: `${revision}|${epoch}|${replica}`,
  };
}

function appendTarget(log: string) {
  const key = prodLogKey(prefix, app, log);
  return { log: key, checkpoint: checkpointKey(key), lastWrite: flagKeys(prefix, app).lastWrite };
}

describe('control record changes', () => {
  it('creates the record once, with the production revision active at epoch 1', async () => {
    const first = await control.ensure(app, blue, 'bootstrap');
    expect(first).toMatchObject({ app, epoch: 1, active: blue, updatedBy: 'bootstrap' });
    expect(first.revisions).toEqual({ [blue]: { mode: 'prod', binding: 'prod' } });
    const again = await control.ensure(app, green, 'rollout-2');
    expect(again).toEqual(first);
    expect(await control.read(app)).toEqual(first);
  });

  it('sets a revision to mock at the same epoch and publishes every change', async () => {
    const subscriber = redis.duplicate();
    const messages: ControlRecord[] = [];
    subscriber.on('message', (_channel: string, body: string) => messages.push(JSON.parse(body)));
    await subscriber.subscribe(flagKeys(prefix, app).changed);
    try {
      const record = await blueAndGreenInMock();
      expect(record.epoch).toBe(1);
      expect(record.revisions[green]).toEqual({ mode: 'mock', binding: 'temp' });
      await waitFor(() => messages.length >= 2);
      expect(messages.map((m) => m.updatedBy)).toEqual(['bootstrap', 'rollout-1']);
    } finally {
      await subscriber.quit();
    }
  });

  it('refuses a change against another epoch with a typed, actionable error', async () => {
    await blueAndGreenInMock();
    const e = await rejectionOf(
      control.setRevision(app, green, { mode: 'standby', binding: 'prod' }, 7, 'other'),
    );
    expect(e).toBeInstanceOf(EpochConflictError);
    expect(isEpochConflict(e)).toBe(true);
    expect(e.message).toMatch(
      /^\[ControlPlaneConflict\] control record of '.*' is at epoch 1 .* not the expected epoch 7/,
    );
    // The code survives the durable boundary, where only the message crosses.
    expect(isEpochConflict(new Error(e.message))).toBe(true);
  });

  it('treats a retried change by the same caller as done', async () => {
    const record = await blueAndGreenInMock();
    const retried = await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, 1, 'rollout-1');
    expect(retried).toEqual(record);
    const flipped = await control.flip(app, green, 1, 'rollout-1');
    const flippedAgain = await control.flip(app, green, 1, 'rollout-1');
    expect(flippedAgain).toEqual(flipped);
    expect(flippedAgain.epoch).toBe(2);
    expect(isEpochConflict(await rejectionOf(control.flip(app, green, 1, 'rollout-9')))).toBe(true);
  });

  it('flips in one step: epoch + 1, the target active in prod, the old production revision standby', async () => {
    await blueAndGreenInMock();
    const flipped = await control.flip(app, green, 1, 'rollout-1');
    expect(flipped).toMatchObject({ epoch: 2, active: green, updatedBy: 'rollout-1' });
    expect(flipped.revisions).toEqual({
      [blue]: { mode: 'standby', binding: 'prod' },
      [green]: { mode: 'prod', binding: 'prod' },
    });
  });

  it('lets exactly one of two concurrent flips at the same epoch win', async () => {
    await blueAndGreenInMock();
    const results = await Promise.allSettled([
      control.flip(app, green, 1, 'rollout-a'),
      control.flip(app, green, 1, 'rollout-b'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected');
    expect(isEpochConflict(loser?.status === 'rejected' ? loser.reason : undefined)).toBe(true);
    expect((await control.read(app))?.epoch).toBe(2);
  });

  it('loses no update when two revisions change at the same epoch concurrently', async () => {
    const base = await control.ensure(app, blue, 'bootstrap');
    const names = ['ingest--a', 'ingest--b', 'ingest--c', 'ingest--d'];
    await Promise.all(
      names.map((n) => control.setRevision(app, n, { mode: 'mock', binding: 'temp' }, base.epoch, `r-${n}`)),
    );
    const record = await control.read(app);
    expect(Object.keys(record?.revisions ?? {}).sort()).toEqual([blue, ...names].sort());
    expect(record?.epoch).toBe(1);
  });

  it('restores a snapshot with a higher epoch, dropping revisions it did not have', async () => {
    const snapshot = await control.ensure(app, blue, 'bootstrap');
    await control.setRevision(app, green, { mode: 'mock', binding: 'temp' }, 1, 'rollout-1');
    await control.flip(app, green, 1, 'rollout-1');
    const restored = await control.restore(app, snapshot, 2, 'rollout-1:restore');
    expect(restored).toMatchObject({ epoch: 3, active: blue, revisions: snapshot.revisions });
    expect(await control.restore(app, snapshot, 2, 'rollout-1:restore')).toEqual(restored);
    // A retry that read the record again (epoch 3) is a no-op too.
    expect(await control.restore(app, snapshot, 3, 'rollout-1:restore')).toEqual(restored);
    // Fencing only moves forward, even when nothing else changes.
    const again = await control.restore(app, snapshot, 3, 'operator');
    expect(again.epoch).toBe(4);
  });

  it('refuses to demote or remove the active revision outside a flip or restore', async () => {
    await blueAndGreenInMock();
    const demote = await rejectionOf(
      control.setRevision(app, blue, { mode: 'standby', binding: 'prod' }, 1, 'x'),
    );
    expect(errorCode(demote)).toBe('Conflict');
    expect(demote.message).toContain('flip to another revision or restore a snapshot');
    expect(errorCode(await rejectionOf(control.removeRevision(app, blue, 1, 'x')))).toBe('Conflict');
  });

  it('removes a revision at the same epoch, idempotently', async () => {
    await blueAndGreenInMock();
    const removed = await control.removeRevision(app, green, 1, 'rollout-1');
    expect(removed.revisions).toEqual({ [blue]: { mode: 'prod', binding: 'prod' } });
    expect(await control.removeRevision(app, green, 1, 'rollout-1')).toEqual(removed);
  });

  it('names the missing record instead of inventing one', async () => {
    const e = await rejectionOf(control.flip(app, green, 1, 'rollout-1'));
    expect(errorCode(e)).toBe('NotFound');
    expect(e.message).toContain('ensure(app');
  });
});

describe('fenced production writes and the lease', () => {
  it('rejects a write stamped with a stale epoch, in the script, and records the accepted ones', async () => {
    await blueAndGreenInMock();
    expect(await acquireLease(redis, prodGuard(blue, 1), 5_000)).toBeUndefined();
    const target = appendTarget('stream');
    const ok = await fencedAppend(redis, prodGuard(blue, 1), target, 1, ['frameId', '1'], false);
    expect(ok).toMatchObject({ status: 'written' });
    expect(await control.lastWrite(app)).toMatchObject({ revision: blue, epoch: 1 });

    await control.flip(app, green, 1, 'rollout-1');
    const late = await fencedAppend(redis, prodGuard(blue, 1), target, 2, ['frameId', '2'], false);
    expect(late).toEqual({ refused: 'epoch', epoch: 2, active: green });
    // Green is active at epoch 2 but the stamp still says 1: refused as well.
    expect(await fencedAppend(redis, prodGuard(green, 1), target, 2, ['frameId', '2'], false)).toMatchObject({
      refused: 'epoch',
    });
    expect(await redis.xlen(target.log)).toBe(1);
  });

  it('refuses a production write from a replica that does not hold the lease', async () => {
    await blueAndGreenInMock();
    await acquireLease(redis, prodGuard(blue, 1, 'r1'), 5_000);
    const reply = await fencedAppend(
      redis,
      prodGuard(blue, 1, 'r2'),
      appendTarget('stream'),
      1,
      ['a', 'b'],
      false,
    );
    expect(reply).toEqual({ refused: 'lease', holder: `${blue}|1|r1` });
  });

  it('writes each id once and in order', async () => {
    await control.ensure(app, blue, 'bootstrap');
    await acquireLease(redis, prodGuard(blue, 1), 5_000);
    const t = appendTarget('stream');
    const g = prodGuard(blue, 1);
    expect(await fencedAppend(redis, g, t, 10, ['n', '10'], false)).toMatchObject({ status: 'written' });
    expect(await fencedAppend(redis, g, t, 10, ['n', '10'], false)).toEqual({
      status: 'duplicate',
      checkpoint: 10,
    });
    expect(await fencedAppend(redis, g, t, 12, ['n', '12'], false)).toEqual({
      status: 'gap',
      checkpoint: 10,
    });
    expect(await fencedAppend(redis, g, t, 11, ['n', '11'], false)).toMatchObject({
      status: 'written',
      previous: 10,
    });
    expect(await fencedAppend(redis, g, t, 13, ['n', '13'], true)).toMatchObject({
      status: 'written',
      previous: 11,
    });
    const ids = (await redis.xrange(t.log, '-', '+')).map(([, f]) => Number(f[1]));
    expect(ids).toEqual([10, 11, 13]);
  });

  it('gives the production lease to one replica, and to the new active revision at once after a flip', async () => {
    await blueAndGreenInMock();
    const [a, b] = await Promise.all([
      acquireLease(redis, prodGuard(blue, 1, 'r1'), 5_000),
      acquireLease(redis, prodGuard(blue, 1, 'r2'), 5_000),
    ]);
    expect([a, b].filter((r) => r === undefined)).toHaveLength(1);
    expect(await control.leaseHolder(app)).toEqual({ revision: blue, epoch: 1 });
    // Green is not active yet: the fence refuses it the lease.
    expect(await acquireLease(redis, prodGuard(green, 1), 5_000)).toMatchObject({ refused: 'epoch' });
    await control.flip(app, green, 1, 'rollout-1');
    expect(await acquireLease(redis, prodGuard(green, 2), 5_000)).toBeUndefined();
    expect(await control.leaseHolder(app)).toEqual({ revision: green, epoch: 2 });
    // ...and the fenced-out holder cannot take it back.
    expect(await acquireLease(redis, prodGuard(blue, 1, 'r1'), 5_000)).toMatchObject({ refused: 'epoch' });
  });
});

describe('agent reports', () => {
  function report(revision: string, over: Partial<RevisionReport> = {}): RevisionReport {
    return {
      revision,
      mode: 'mock',
      binding: 'temp',
      epoch: 1,
      holdsLease: false,
      processing: false,
      writes: { prod: 0, temp: 5, rejected: 0 },
      errors: 0,
      heartbeatAt: new Date().toISOString(),
      ...over,
    };
  }

  it('returns one report per revision, replicas summed, flags from the lease holder', async () => {
    const keys = flagKeys(prefix, app);
    const beat = (revision: string, replica: string, r: RevisionReport, ttl = 10_000) =>
      writeHeartbeat(
        redis,
        { report: keys.report(reportMember(revision, replica)), index: keys.reports },
        reportMember(revision, replica),
        JSON.stringify(r),
        ttl,
      );
    await beat(green, 'a', report(green, { holdsLease: true, processing: true, errors: 1 }));
    await beat(green, 'b', report(green, { mode: 'standby', errors: 2 }));
    await beat(
      blue,
      'a',
      report(blue, { mode: 'prod', binding: 'prod', writes: { prod: 9, temp: 0, rejected: 1 } }),
    );
    const reports = await control.reports(app, 5_000);
    const g = reports.find((r) => r.revision === green);
    expect(g).toMatchObject({ mode: 'mock', holdsLease: true, processing: true, errors: 3, replicas: 2 });
    expect(g?.writes.temp).toBe(10);
    expect(reports.find((r) => r.revision === blue)?.writes).toEqual({ prod: 9, temp: 0, rejected: 1 });
  });

  it('leaves out reports older than asked for', async () => {
    const keys = flagKeys(prefix, app);
    const member = reportMember(green, 'a');
    await writeHeartbeat(
      redis,
      { report: keys.report(member), index: keys.reports },
      member,
      JSON.stringify(report(green)),
      10_000,
    );
    await redis.zincrby(keys.reports, -60_000, member);
    expect(await control.reports(app, 5_000)).toEqual([]);
  });
});

describe('the source position', () => {
  it('is unknown until published, then moves only forward', async () => {
    expect(await control.sourcePosition(app)).toBeUndefined();
    expect(await advanceSourcePosition(redis, sourceKey(prefix, app), 120)).toBe(true);
    // A receiver that saw less (or saw it later) does not move it back.
    expect(await advanceSourcePosition(redis, sourceKey(prefix, app), 90)).toBe(false);
    expect(await advanceSourcePosition(redis, sourceKey(prefix, app), 120)).toBe(false);
    expect(await control.sourcePosition(app)).toBe(120);
    expect(await advanceSourcePosition(redis, sourceKey(prefix, app), 121)).toBe(true);
    expect(await control.sourcePosition(app)).toBe(121);
    await redis.set(sourceKey(prefix, app), 'not a number');
    expect(await control.sourcePosition(app)).toBeUndefined();
  });
});

describe('mock outputs on the temporary Redis', () => {
  it('counts and samples the mock sink, measures consumer lag, and drops every mock key', async () => {
    const mock = new RedisMockOutputs(redis, prefix);
    const stream = mockKey(prefix, app, green, 'stream');
    const sink = mockKey(prefix, app, green, 'sink');
    for (let i = 1; i <= 5; i++) await redis.xadd(stream, '*', 'frameId', String(i));
    await redis.xgroup('CREATE', stream, 'processor', '0');
    expect(await mock.consumerLag(app, green, 'processor')).toEqual({ lag: 5, pending: 0 });
    await redis.xreadgroup('GROUP', 'processor', 'c', 'COUNT', 2, 'STREAMS', stream, '>');
    expect(await mock.consumerLag(app, green, 'processor')).toEqual({ lag: 3, pending: 2 });
    expect(await mock.consumerLag(app, green, 'other')).toBeUndefined();
    expect(await mock.consumerLag(app, blue, 'processor')).toBeUndefined();

    await redis.xadd(sink, '*', 'frameId', '1', 'payload', 'x');
    await redis.xadd(sink, '*', 'frameId', '2');
    expect(await mock.records(app, green, 1)).toEqual({ count: 2, sample: [{ frameId: '1', payload: 'x' }] });

    await redis.set(mockKey(prefix, app, blue, 'stream'), 'blue keeps this');
    expect(await mock.drop(app, green)).toBe(2);
    expect(await mock.drop(app, green)).toBe(0);
    expect(await redis.exists(mockKey(prefix, app, blue, 'stream'))).toBe(1);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
