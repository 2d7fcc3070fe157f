import type { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../redis/deleteKeys';
import { mockKey, mockPrefix, mockSink, mockStream } from './keys';
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
