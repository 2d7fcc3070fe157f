// The source's position (`sourceKey`): written by whoever sees the source (the agent's receivers, or a
// source that can reach Redis), read by the watch to measure how far production lags behind it.
import type { Redis } from 'ioredis';
import { LuaScript } from './luaScript';

// Only forward: receivers see the same frames at slightly different times, and a late one must not
// move the position back. KEYS[1] position; ARGV[1] id.
const advanceScript = new LuaScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '')
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`);

/** Moves the published position up to `id` (a lower or equal id leaves it); true when it moved. */
export async function advanceSourcePosition(redis: Redis, key: string, id: number): Promise<boolean> {
  return (await advanceScript.run(redis, [key], [String(id)])) === 1;
}

/** The published position, or undefined when none was (or it is not a whole number). */
export async function readSourcePosition(redis: Redis, key: string): Promise<number | undefined> {
  const value = await redis.get(key);
  const id = Number(value);
  return value !== null && Number.isSafeInteger(id) ? id : undefined;
}
