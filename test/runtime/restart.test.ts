// Kill the runtime process with SIGKILL mid-timer and mid-activity; a new process on the same Redis state resumes.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { until } from '../support/until';

const root = resolve(__dirname, '../..');
const prefix = uniquePrefix('rt-kill');
const keysFile = join(tmpdir(), `${prefix.replace(/:/g, '-')}keys.json`);
const redis = newTestRedis();
const children = new Set<ChildProcess>();

interface Host {
  child: ChildProcess;
  baseUrl: string;
  systemKey: string;
  resumed: number;
}

async function startHost(): Promise<Host> {
  const child = spawn(
    process.execPath,
    ['-r', './test/support/tsRegister.cjs', 'test/runtime/crashHost.ts', testRedisUrl(), prefix, keysFile],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<Host>((ok, fail) => {
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as {
        ready?: boolean;
        baseUrl: string;
        systemKey: string;
        resumed: number;
      };
      if (msg.ready) ok({ child, baseUrl: msg.baseUrl, systemKey: msg.systemKey, resumed: msg.resumed });
    });
    child.once('exit', (code) =>
      fail(new Error(`runtime process exited (${code}) before it was ready: ${stderr}`)),
    );
  });
  return ready;
}

async function kill(host: Host): Promise<void> {
  host.child.kill('SIGKILL');
  if (host.child.exitCode === null && host.child.signalCode === null) await once(host.child, 'exit');
  children.delete(host.child);
}

async function stopGently(host: Host): Promise<void> {
  host.child.kill('SIGTERM');
  if (host.child.exitCode === null && host.child.signalCode === null) await once(host.child, 'exit');
  children.delete(host.child);
}

async function status(
  host: Host,
  id: string,
): Promise<{ runtimeStatus: string; output?: unknown; historyEvents?: { EventType: string }[] }> {
  const res = await fetch(
    `${host.baseUrl}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&code=${host.systemKey}`,
  );
  return (await res.json()) as {
    runtimeStatus: string;
    output?: unknown;
    historyEvents?: { EventType: string }[];
  };
}

async function startCrashable(
  host: Host,
  id: string,
  input: { key: string; timerMs: number; activityMs: number },
) {
  const res = await fetch(
    `${host.baseUrl}/runtime/webhooks/durabletask/orchestrators/crashable/${id}?code=${host.systemKey}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    },
  );
  expect(res.status).toBe(202);
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  rmSync(keysFile, { force: true });
});

describe('resume after SIGKILL', () => {
  it('in the middle of a durable timer', async () => {
    const key = `${prefix}timer`;
    const first = await startHost();
    await startCrashable(first, 'kill-timer', { key, timerMs: 1500, activityMs: 0 });
    await until('the timer to be created', async () => {
      const s = await status(first, 'kill-timer');
      return s.historyEvents?.some((e) => e.EventType === 'TimerCreated') ? s : undefined;
    });
    await kill(first);

    const second = await startHost();
    expect(second.resumed).toBeGreaterThanOrEqual(1);
    const done = await until('the orchestration to complete', async () => {
      const s = await status(second, 'kill-timer');
      return s.runtimeStatus === 'Completed' ? s : undefined;
    });
    expect(done.output).toEqual({ runs: 1 });
    expect(done.historyEvents?.filter((e) => e.EventType === 'TimerFired')).toHaveLength(1);
    expect(await redis.get(`${key}:started`)).toBe('1');
    await stopGently(second);
  });

  it('in the middle of an activity, which then runs again (at least once)', async () => {
    const key = `${prefix}activity`;
    const first = await startHost();
    await startCrashable(first, 'kill-activity', { key, timerMs: 0, activityMs: 4000 });
    await until('the activity to start', async () =>
      (await redis.get(`${key}:started`)) === '1' ? true : undefined,
    );
    await kill(first);
    expect(await redis.get(`${key}:finished`)).toBeNull();

    const second = await startHost();
    expect(second.resumed).toBeGreaterThanOrEqual(1);
    const done = await until('the orchestration to complete', async () => {
      const s = await status(second, 'kill-activity');
      return s.runtimeStatus === 'Completed' ? s : undefined;
    });
    // The killed run never finished; the rerun did, once.
    expect(done.output).toEqual({ runs: 1 });
    expect(await redis.get(`${key}:started`)).toBe('2');
    expect(await redis.get(`${key}:finished`)).toBe('1');
    await stopGently(second);
  });
});
