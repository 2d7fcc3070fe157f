import type { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../redis/deleteKeys';
import { mockKey, mockPrefix, mockSink, mockStream } from '../../protocol/flagKeys';
import type { MockOutputs } from '../../domain/ports/flags';

const lagCountCap = 10_000;

/** What revisions wrote in mock mode, read from (and dropped on) the temporary Redis. */
export class RedisMockOutputs implements MockOutputs {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  async records(
    app: string,
    revision: string,
    sample: number,
  ): Promise<{ count: number; sample: Record<string, string>[] }> {
    const key = mockKey(this.keyPrefix, app, revision, mockSink);
    const [count, rows] = await Promise.all([
      this.redis.xlen(key),
      sample > 0 ? this.redis.xrange(key, '-', '+', 'COUNT', sample) : Promise.resolve([]),
    ]);
    return { count, sample: rows.map(([, fields]) => fieldsOf(fields)) };
  }

  async consumerLag(
    app: string,
    revision: string,
    group: string,
  ): Promise<{ lag: number; pending: number } | undefined> {
    const key = mockKey(this.keyPrefix, app, revision, mockStream);
    let groups: unknown[];
    try {
      groups = (await this.redis.xinfo('GROUPS', key)) as unknown[];
    } catch (e) {
      // No stream yet: nothing was written, so no group can be reading it.
      if (e instanceof Error && /no such key/i.test(e.message)) return undefined;
      throw e;
    }
    const info = groups.map((g) => fieldsOf(g as unknown[])).find((g) => g.name === group);
    if (!info) return undefined;
    const pending = Number(info.pending ?? 0);
    // Redis 7 reports `lag` (null when it cannot tell); otherwise count what lies past the last delivery,
    // up to a cap: a backlog that large fails any sensible maxLag, and reading all of it would be waste.
    const delivered = typeof info['last-delivered-id'] === 'string' ? info['last-delivered-id'] : '0-0';
    const lag =
      typeof info.lag === 'number'
        ? info.lag
        : (await this.redis.xrange(key, `(${delivered}`, '+', 'COUNT', lagCountCap)).length;
    return { lag, pending };
  }

  async sequence(
    app: string,
    revision: string,
    field: string,
    limit: number,
  ): Promise<{ ids: number[]; total: number; truncated: boolean; unreadable: number }> {
    const key = mockKey(this.keyPrefix, app, revision, mockSink);
    // Newest first, at most `limit`: a long mock phase must not turn one look into a full scan. One
    // transaction, so the length and the entries describe the same moment.
    const replies = await this.redis
      .multi()
      .xlen(key)
      .xrevrange(key, '+', '-', 'COUNT', Math.max(1, limit))
      .exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (failed) throw failed;
    const total = Number(replies?.[0]?.[1] ?? 0);
    const rows = limit > 0 ? ((replies?.[1]?.[1] ?? []) as [string, string[]][]) : [];
    const ids: number[] = [];
    let unreadable = 0;
    for (let i = rows.length - 1; i >= 0; i--) {
      const raw = fieldsOf(rows[i]![1])[field];
      const id = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
      if (Number.isSafeInteger(id)) ids.push(id);
      else unreadable += 1;
    }
    return { ids, total, truncated: total > rows.length, unreadable };
  }

  drop(app: string, revision: string): Promise<number> {
    return deleteKeysWithPrefix(this.redis, mockPrefix(this.keyPrefix, app, revision));
  }
}

/** Redis' flat `[field, value, ...]` replies as an object. */
function fieldsOf<T>(flat: T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1] as T;
  return out;
}
