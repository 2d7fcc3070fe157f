import type { Redis } from 'ioredis';
import { mockStream, prodLogKey } from '../../../src/protocol/flagKeys';
import type { FlagControlPlane } from '../../../src/domain/ports/flags';

export interface MeasureFlipOptions {
  control: FlagControlPlane;
  /** The production Redis, where the log is. */
  redis: Redis;
  keyPrefix: string;
  app: string;
  /** Revision to flip to. */
  to: string;
  /** Caller recorded on the change; default `measure`. */
  by?: string;
  /** Production log whose writes are timed; default `stream` (the receiver's). */
  log?: string;
  /** Give up after; default 30 s. */
  timeoutMs?: number;
}

export interface FlipMeasure {
  /** From the last production write before the flip's first by `to`, to that first write. */
  gapMs: number;
  /** From the flip call until `to` holds the lease and has written. */
  flipMs: number;
  from: string | null;
  epoch: number;
}

/**
 * Flips the app to `to` and times the switch from the production log's own entry ids (the Redis
 * server's clock, the one clock every writer shares).
 */
export async function measureFlip(options: MeasureFlipOptions): Promise<FlipMeasure> {
  const { control, redis, app, to } = options;
  const key = prodLogKey(options.keyPrefix, app, options.log ?? mockStream);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const record = await control.read(app);
  if (!record) throw new Error(`app '${app}' has no control record to flip`);
  const startedMs = await serverMs(redis);
  const flipped = await control.flip(app, to, record.epoch, options.by ?? 'measure');

  let cursor = `${startedMs}-0`;
  let first: string | undefined;
  while (!first) {
    if (Date.now() > deadline) {
      throw new Error(`${to} did not write to ${key} at epoch ${flipped.epoch} within the deadline`);
    }
    const rows = await redis.xrange(key, cursor, '+', 'COUNT', 1000);
    for (const [id, fields] of rows) {
      const f = fieldsOf(fields);
      if (f.revision === to && f.epoch === String(flipped.epoch)) {
        first = id;
        break;
      }
    }
    if (!first) {
      const last = rows.at(-1);
      if (last) cursor = `(${last[0]}`;
      else await new Promise((r) => setTimeout(r, 10));
    }
  }
  while ((await control.leaseHolder(app))?.revision !== to) {
    if (Date.now() > deadline) throw new Error(`${to} wrote but does not hold the production lease`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const firstMs = msOf(first);
  const [before] = await redis.xrevrange(key, `(${first}`, '-', 'COUNT', 1);
  return {
    gapMs: before ? firstMs - msOf(before[0]) : 0,
    flipMs: firstMs - startedMs,
    from: record.active,
    epoch: flipped.epoch,
  };
}

async function serverMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function msOf(entryId: string): number {
  return Number(entryId.split('-')[0]);
}

function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
