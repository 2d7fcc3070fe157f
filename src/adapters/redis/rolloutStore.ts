import type { Redis } from 'ioredis';
import { appKey } from '../../domain/flag/control';
import { LuaScript } from '../../protocol/luaScript';
import type { AppRef, QueuedRollout, RolloutSlots } from '../../domain/ports';

export interface TriggerRecord {
  at: string;
  source: 'eventGrid' | 'http' | 'queue';
  eventId?: string;
  app: string;
  image: string;
  digest?: string;
  decision: string;
  rolloutId?: string;
  detail?: string;
}

export interface LatestRollout {
  rolloutId: string;
  image: string;
  digest?: string;
}

export type { QueuedRollout };

// Compare-and-delete: only the rollout holding the app releases it.
const releaseScript = new LuaScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`,
);
// Compare-and-set: take the app over from a holder known to be finished.
const takeOverScript = new LuaScript(`local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end`);

// Atomically hands a free app to the first queued rollout.
const claimNextScript = new LuaScript(`if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local item = redis.call('LPOP', KEYS[2])
if not item then return false end
redis.call('SET', KEYS[1], cjson.decode(item)['rolloutId'])
return item`);

// The reverse of claimNext, for a claimed rollout that could not be started: free the app (if this
// rollout still holds it) and put the rollout back at the head of the queue, in one step.
const unclaimScript =
  new LuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1`);

/**
 * Greenlight's own bookkeeping in Redis: which rollout holds each app, what waits behind it, which
 * events were seen, which approval tokens were spent, and a ledger of every trigger.
 */
export class RolloutStore implements RolloutSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private k(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** Claims the app for a rollout; false when another rollout holds it. */
  async claimApp(app: AppRef, rolloutId: string): Promise<boolean> {
    return (await this.redis.set(this.k('app', appKey(app), 'active'), rolloutId, 'NX')) === 'OK';
  }

  async activeRollout(app: AppRef): Promise<string | undefined> {
    return (await this.redis.get(this.k('app', appKey(app), 'active'))) ?? undefined;
  }

  /** Replaces a finished holder (e.g. an instance terminated by hand) with a new rollout. */
  async takeOverApp(app: AppRef, staleRolloutId: string, rolloutId: string): Promise<boolean> {
    return (
      (await takeOverScript.run(
        this.redis,
        [this.k('app', appKey(app), 'active')],
        [staleRolloutId, rolloutId],
      )) === 1
    );
  }

  async releaseApp(app: AppRef, rolloutId: string): Promise<boolean> {
    return (await releaseScript.run(this.redis, [this.k('app', appKey(app), 'active')], [rolloutId])) === 1;
  }

  async enqueue(app: AppRef, item: QueuedRollout): Promise<number> {
    return this.redis.rpush(this.k('app', appKey(app), 'queue'), JSON.stringify(item));
  }

  /** Supersede: everything queued is dropped for the newest; returns what was dropped. */
  async replaceQueue(app: AppRef, item: QueuedRollout): Promise<QueuedRollout[]> {
    const key = this.k('app', appKey(app), 'queue');
    const res = await this.redis.multi().lrange(key, 0, -1).del(key).rpush(key, JSON.stringify(item)).exec();
    const dropped = (res?.[0]?.[1] as string[] | undefined) ?? [];
    return dropped.map((s) => JSON.parse(s) as QueuedRollout);
  }

  /** When the app is free, claims it for the first queued rollout and returns that rollout. */
  async claimNext(app: AppRef): Promise<QueuedRollout | undefined> {
    const key = appKey(app);
    const item = (await claimNextScript.run(
      this.redis,
      [this.k('app', key, 'active'), this.k('app', key, 'queue')],
      [],
    )) as string | null;
    return item ? (JSON.parse(item) as QueuedRollout) : undefined;
  }

  /** Undoes `claimNext` for a rollout that could not be started, so it is not lost. */
  async unclaimNext(app: AppRef, item: QueuedRollout): Promise<void> {
    const key = appKey(app);
    await unclaimScript.run(
      this.redis,
      [this.k('app', key, 'active'), this.k('app', key, 'queue')],
      [item.rolloutId, JSON.stringify(item)],
    );
  }

  async queued(app: AppRef): Promise<QueuedRollout[]> {
    const items = await this.redis.lrange(this.k('app', appKey(app), 'queue'), 0, -1);
    return items.map((s) => JSON.parse(s) as QueuedRollout);
  }

  /** Records an event id once; returns the rollout an earlier delivery was mapped to, if any. */
  async rememberEvent(
    eventId: string,
    value: string,
    ttlSeconds = 7 * 24 * 3600,
  ): Promise<string | undefined> {
    const key = this.k('event', eventId);
    const set = await this.redis.set(key, value, 'EX', ttlSeconds, 'NX');
    if (set === 'OK') return undefined;
    return (await this.redis.get(key)) ?? value;
  }

  async eventOutcome(eventId: string): Promise<string | undefined> {
    return (await this.redis.get(this.k('event', eventId))) ?? undefined;
  }

  /** The app's most recently admitted rollout and its image, which a repeated request is compared with. */
  async latestRollout(app: AppRef): Promise<LatestRollout | undefined> {
    const raw = await this.redis.get(this.k('app', appKey(app), 'latest'));
    return raw ? (JSON.parse(raw) as LatestRollout) : undefined;
  }

  async setLatestRollout(app: AppRef, latest: LatestRollout): Promise<void> {
    await this.redis.set(this.k('app', appKey(app), 'latest'), JSON.stringify(latest));
  }

  /** Spends an approval token nonce; false when it was already spent. */
  async spendNonce(nonce: string, ttlMs: number): Promise<boolean> {
    return (
      (await this.redis.set(this.k('approval', 'nonce', nonce), '1', 'PX', Math.max(ttlMs, 1000), 'NX')) ===
      'OK'
    );
  }

  /** Gives a spent nonce back, for a decision that could not be delivered (its caller retries). */
  async unspendNonce(nonce: string): Promise<void> {
    await this.redis.del(this.k('approval', 'nonce', nonce));
  }

  async nonceSpent(nonce: string): Promise<boolean> {
    return (await this.redis.exists(this.k('approval', 'nonce', nonce))) === 1;
  }

  async recordTrigger(record: TriggerRecord): Promise<void> {
    await this.redis.xadd(this.k('ledger'), 'MAXLEN', '~', '100000', '*', 'record', JSON.stringify(record));
  }

  async triggers(count = 100): Promise<TriggerRecord[]> {
    const rows = await this.redis.xrevrange(this.k('ledger'), '+', '-', 'COUNT', count);
    return rows.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as TriggerRecord);
  }
}
