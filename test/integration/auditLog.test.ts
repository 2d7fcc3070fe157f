import type { Redis } from 'ioredis';
import { RedisAuditLog } from '../../src/adapters/redis/auditLog';
import {
  admissionEntry,
  auditApp,
  auditId,
  rolloutAuditEntry,
  type AuditEntry,
} from '../../src/domain/audit';
import { deleteKeysWithPrefix, newTestRedis, uniquePrefix } from '../support/redis';

const web = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'web' };
const api = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'api' };
let redis: Redis;
let prefix: string;

beforeAll(() => {
  redis = newTestRedis();
});
beforeEach(() => {
  prefix = uniquePrefix('audit');
});
afterEach(() => deleteKeysWithPrefix(redis, prefix));
afterAll(() => redis.quit());

function started(n: number, ref = web, rolloutId = `${ref.name}-r${n}`): AuditEntry {
  return admissionEntry(
    {
      id: auditId('test', ref.name, n),
      at: new Date().toISOString(),
      app: auditApp(ref),
      actor: { kind: 'key', name: 'function key #0a1b2c3d' },
      source: 'http',
      image: `acr.azurecr.io/${ref.name}:v${n}`,
    },
    { kind: 'started', rolloutId },
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = (entries: AuditEntry[]) => entries.map((e) => e.id);

describe('audit log in Redis', () => {
  it('appends an entry and reads it back as it was', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 100 });
    const traffic = rolloutAuditEntry(
      {
        rolloutId: 'web-r1',
        app: web,
        at: '2026-03-02T09:00:00.000Z',
        step: 'traffic:1',
        kind: 'traffic.written',
        before: [{ revisionName: 'web--a', weight: 100, label: 'blue' }],
        after: [
          { revisionName: 'web--a', weight: 90, label: 'blue' },
          { revisionName: 'web--b', weight: 10, label: 'green' },
        ],
      },
      auditApp(web),
    );
    expect(await log.append(traffic)).toBe(true);
    expect((await log.query({ app: 'sub/rg/web', limit: 10 })).entries).toEqual([traffic]);
    expect(await redis.xlen(`${prefix}audit:app:sub/rg/web`)).toBe(1);
  });

  it('appends an id once: a retried action (after a crash) adds nothing', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 100 });
    const e = started(1);
    expect(await log.append(e)).toBe(true);
    // The retry may carry a later timestamp; the id decides.
    expect(await log.append({ ...e, at: new Date(Date.now() + 5000).toISOString() })).toBe(false);
    expect(await Promise.all([log.append(started(2)), log.append(started(2))])).toEqual(
      expect.arrayContaining([true, false]),
    );
    expect(ids((await log.query({ limit: 10 })).entries)).toEqual(ids([started(2), started(1)]));
    // The id's marker expires (a week by default): memory stays bounded.
    const ttl = await redis.pttl(`${prefix}audit:id:${e.id}`);
    expect(ttl).toBeGreaterThan(6 * 86_400_000);
    expect(ttl).toBeLessThanOrEqual(7 * 86_400_000);
  });

  it('refuses an entry outside the model and writes nothing', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 100 });
    await expect(log.append({ ...started(1), actor: { kind: 'robot' } } as never)).rejects.toThrow(
      /actor\.kind/,
    );
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it('keeps about the newest N per app, and other apps keep theirs', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 100 });
    for (let i = 0; i < 50; i++) await log.append(started(i, api));
    const pipeline = [];
    for (let i = 0; i < 1000; i++) pipeline.push(log.append(started(i)));
    await Promise.all(pipeline);
    const kept = await redis.xlen(`${prefix}audit:app:sub/rg/web`);
    // MAXLEN ~ trims whole stream nodes (100 entries by default): at least N, less than N + a node.
    expect(kept).toBeGreaterThanOrEqual(100);
    expect(kept).toBeLessThan(200);
    expect(await redis.xlen(`${prefix}audit:app:sub/rg/api`)).toBe(50);
    const newest = await log.query({ app: 'sub/rg/web', limit: 1 });
    expect(newest.entries[0]!.id).toBe(started(999).id);
  });

  it('drops entries older than the retention time on the next append', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 100, retentionMs: 300 });
    for (let i = 0; i < 5; i++) await log.append(started(i));
    expect(await redis.xlen(`${prefix}audit:app:sub/rg/web`)).toBe(5);
    await sleep(400);
    // The five are past retention by the time the next one is appended; the new one stays.
    await log.append(started(5));
    expect(ids((await log.query({ app: 'sub/rg/web', limit: 10 })).entries)).toEqual([started(5).id]);
  });

  it('queries by app, by rollout and since an instant, newest first', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 1000 });
    for (let i = 0; i < 3; i++) {
      await log.append(started(i));
      await log.append(started(i, api));
    }
    await sleep(20);
    const since = new Date();
    await sleep(20);
    await log.append(started(3, web, 'web-r1'));
    // Streams of different apps order within one millisecond by their own sequence only: the two are
    // appended a millisecond apart so "newest across apps" has one answer.
    await sleep(2);
    await log.append(started(4, api));

    const webOnly = await log.query({ app: 'sub/rg/web', limit: 10 });
    expect(ids(webOnly.entries)).toEqual(
      ids([started(3, web, 'web-r1'), started(2), started(1), started(0)]),
    );
    const everyApp = await log.query({ limit: 100 });
    expect(everyApp.entries).toHaveLength(8);
    expect(everyApp.entries[0]!.id).toBe(started(4, api).id);
    const byRollout = await log.query({ rolloutId: 'web-r1', limit: 10 });
    expect(ids(byRollout.entries)).toEqual(ids([started(3, web, 'web-r1'), started(1)]));
    const recent = await log.query({ since, limit: 10 });
    expect(ids(recent.entries)).toEqual(ids([started(4, api), started(3, web, 'web-r1')]));
    expect((await log.query({ app: 'sub/rg/nothing', limit: 10 })).entries).toEqual([]);
  });

  it('pages through every app with cursors: each entry once, in the order of one big page', async () => {
    const log = new RedisAuditLog(redis, prefix, { maxEntriesPerApp: 1000 });
    const writes = [];
    for (let i = 0; i < 40; i++) writes.push(log.append(started(i, i % 3 ? web : api)));
    await Promise.all(writes);
    const whole = ids((await log.query({ limit: 1000 })).entries);
    expect(whole).toHaveLength(40);
    for (const size of [1, 7, 40]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await log.query({ limit: size, ...(cursor ? { cursor } : {}) });
        seen.push(...ids(page.entries));
        cursor = page.next;
        pages++;
      } while (cursor && pages < 100);
      expect(seen).toEqual(whole);
      expect(pages).toBe(Math.ceil(40 / size));
    }
    // Filtered by rollout, the pages still cover the matches once each.
    const r = await log.query({ rolloutId: 'web-r5', limit: 1 });
    expect(ids(r.entries)).toEqual([started(5).id]);
    expect(r.next).toBeUndefined();
    await expect(log.query({ limit: 5, cursor: 'bogus' })).rejects.toThrow(/cursor/);
  });
});
