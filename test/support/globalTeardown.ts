import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as Record<string, unknown>).__greenlightRedis as ChildProcess | undefined;
  child?.kill('SIGTERM');
}
