import { redisAnswers, startRedisServer } from './redisServer';

// Tests share one Redis: the machine's when it answers, else a throwaway one started here.
// Every test writes under its own key prefix (see ./redis.ts) and deletes only what it wrote.
export default async function globalSetup(): Promise<void> {
  if (process.env.GREENLIGHT_TEST_REDIS_URL) return;
  if (await redisAnswers('127.0.0.1', 6379)) {
    process.env.GREENLIGHT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';
    return;
  }
  const started = await startRedisServer();
  process.env.GREENLIGHT_TEST_REDIS_URL = started.url;
  (globalThis as Record<string, unknown>).__greenlightRedis = started.process;
}
