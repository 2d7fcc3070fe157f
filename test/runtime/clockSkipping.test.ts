// The local runtime's virtual clock skips to the next durable timer when nothing is running. Requests that
// change state hold it; reads must not, or a client that polls status often enough stops every timer.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { VirtualClock } from '../../local/clock';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';

let runtime: LocalRuntime;
let client: df.DurableClient;
const clock = new VirtualClock('2026-03-01T00:00:00Z');
const prefix = uniquePrefix('rt-clock');
const keysFile = join(tmpdir(), `${prefix.replace(/:/g, '-')}keys.json`);

/** The slow endpoint's requests: when each began and was answered, on the virtual clock. */
const slow = { inFlight: 0, answered: 0, onStart: [] as (() => void)[] };

beforeAll(async () => {
  runtime = await startLocalRuntime({
    register: () => {
      df.app.orchestration('sleepAMinute', function* (context) {
        yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
        return 'woke';
      });
      app.http('slow', {
        route: 'slow',
        methods: ['GET', 'POST'],
        authLevel: 'anonymous',
        handler: async () => {
          const from = clock.now();
          slow.inFlight++;
          for (const started of slow.onStart.splice(0)) started();
          await new Promise((r) => setTimeout(r, 300));
          slow.inFlight--;
          slow.answered++;
          return { jsonBody: { from, to: clock.now() } };
        },
      });
    },
    redisUrl: testRedisUrl(),
    keyPrefix: prefix,
    clock,
    keysFile,
  });
  client = runtime.durableClient();
});

afterAll(async () => {
  await runtime.stop();
  const redis = newTestRedis();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  rmSync(keysFile, { force: true });
});

/** Calls the slow endpoint; resolves `started` once its handler runs (the request is in flight). */
function callSlow(method: 'GET' | 'POST'): {
  started: Promise<void>;
  answer: Promise<{ from: number; to: number }>;
} {
  const started = new Promise<void>((resolve) => slow.onStart.push(resolve));
  const answer = fetch(`${runtime.baseUrl}/api/slow`, { method }).then(
    async (res) => (await res.json()) as { from: number; to: number },
  );
  return { started, answer };
}

/** Sleeps a minute of virtual time, with skipping off until the caller turns it on. */
async function sleeper(): Promise<string> {
  runtime.setTimeSkipping(false);
  const id = await client.startNew('sleepAMinute');
  await runtime.whenIdle();
  expect((await client.getStatus(id)).runtimeStatus).toBe(df.OrchestrationRuntimeStatus.Running);
  return id;
}

async function until(done: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return done();
}

describe('virtual clock skipping', () => {
  it('a durable timer fires while status reads are always in flight', async () => {
    const id = await sleeper();
    // A read every 100 ms, each answered after 300 ms: at every moment some are in flight, as with many
    // clients following rollouts on a loaded machine.
    const reads: Promise<unknown>[] = [];
    const first = callSlow('GET');
    reads.push(first.answer);
    await first.started;
    const reader = setInterval(() => reads.push(callSlow('GET').answer), 100);
    await new Promise((r) => setTimeout(r, 200));
    expect(slow.inFlight).toBeGreaterThan(0);

    runtime.setTimeSkipping(true);
    const completed = await until(
      async () => (await client.getStatus(id)).runtimeStatus === df.OrchestrationRuntimeStatus.Completed,
      10_000,
    );
    const readsInFlight = slow.inFlight;
    clearInterval(reader);
    await Promise.all(reads);
    expect(completed).toBe(true);
    expect((await client.getStatus(id)).output).toBe('woke');
    // The timer fired with reads still in flight: they did not wait for a quiet moment.
    expect(readsInFlight).toBeGreaterThan(0);
  });

  it('a request that may change state holds the clock until it is answered', async () => {
    const id = await sleeper();
    const before = clock.now();
    const write = callSlow('POST');
    await write.started;
    runtime.setTimeSkipping(true);
    const { from, to } = await write.answer;
    expect(to).toBe(from);
    await runtime.whenIdle();
    expect((await client.getStatus(id)).runtimeStatus).toBe(df.OrchestrationRuntimeStatus.Completed);
    expect(clock.now()).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('whenIdle waits for a read in flight, though the read does not hold the clock', async () => {
    runtime.setTimeSkipping(true);
    await runtime.whenIdle();
    const read = callSlow('GET');
    await read.started;
    const answeredBefore = slow.answered;
    let answeredWhenIdle = -1;
    await runtime.whenIdle().then(() => (answeredWhenIdle = slow.answered));
    expect(answeredWhenIdle).toBe(answeredBefore + 1);
    await read.answer;
  });
});
