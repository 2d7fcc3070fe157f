// Shared by the Function App's Redis adapters and the workload agent, so it lives with the protocol.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script sent once and then run by its SHA (sent again after a Redis restart forgets it). */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
