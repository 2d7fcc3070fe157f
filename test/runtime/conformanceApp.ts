// Small orchestrations registered through the real `df.app.*` API, run by the local runtime's conformance tests.
import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { Redis } from 'ioredis';
import { anyOf } from '../../src/orchestrators/anyOf';

const counters = new Map<string, number>();
const bump = (key: string): number => {
  const n = (counters.get(key) ?? 0) + 1;
  counters.set(key, n);
  return n;
};

df.app.activity('add', { handler: (input: { a: number; b: number }) => input.a + input.b });
df.app.activity('echo', { handler: (input: unknown) => input });
df.app.activity('flaky', {
  handler: (key: string) => {
    if (bump(`flaky:${key}`) < 3)
      throw new Error(`[Flaky] attempt ${counters.get(`flaky:${key}`)} of ${key} failed`);
    return `ok after ${counters.get(`flaky:${key}`)} attempts`;
  },
});
df.app.activity('alwaysFails', {
  handler: (key: string) => {
    bump(`fails:${key}`);
    throw new Error(`[Broken] ${key} cannot work`);
  },
});
df.app.activity('attempts', { handler: (key: string) => counters.get(key) ?? 0 });
/** Sleeps (real time) and counts its runs in Redis, so a test sees re-runs across a killed process. */
df.app.activity('slowCount', {
  handler: async (input: { key: string; ms: number }, context: InvocationContext) => {
    const url = process.env.CONFORMANCE_REDIS_URL;
    if (!url) throw new Error('CONFORMANCE_REDIS_URL is not set');
    const redis = new Redis(url);
    try {
      await redis.incr(`${input.key}:started`);
      await new Promise((r) => setTimeout(r, input.ms));
      const n = await redis.incr(`${input.key}:finished`);
      context.log(`slowCount ${input.key} finished (${n})`);
      return n;
    } finally {
      redis.disconnect();
    }
  },
});

const chain: OrchestrationHandler = function* (context: OrchestrationContext) {
  const start = (context.df.getInput() as number | null) ?? 1;
  const a = (yield context.df.callActivity('add', { a: start, b: 1 })) as number;
  const b = (yield context.df.callActivity('add', { a, b: 10 })) as number;
  const c = (yield context.df.callActivity('add', { a: b, b: 100 })) as number;
  return [a, b, c];
};
df.app.orchestration('chain', chain);

df.app.orchestration('fanOut', function* (context) {
  const n = context.df.getInput() as number;
  const tasks = Array.from({ length: n }, (_, i) => context.df.callActivity('add', { a: i, b: i }));
  const results = (yield context.df.Task.all(tasks)) as number[];
  return results.reduce((s, v) => s + v, 0);
});

df.app.orchestration('approvalRace', function* (context) {
  const hours = (context.df.getInput() as number | null) ?? 24;
  context.df.setCustomStatus({ waitingFor: 'approval' });
  const deadline = new Date(context.df.currentUtcDateTime.getTime() + hours * 3_600_000);
  const timer = context.df.createTimer(deadline);
  const approval = context.df.waitForExternalEvent('approval');
  const winner = (yield context.df.Task.any([approval, timer])) as unknown;
  if (winner === approval) {
    timer.cancel();
    return { outcome: 'approved', by: approval.result };
  }
  return { outcome: 'timedOut', at: context.df.currentUtcDateTime.toISOString() };
});

df.app.orchestration('eventAfterTimer', function* (context) {
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 3_600_000));
  const value = (yield context.df.waitForExternalEvent('go')) as unknown;
  return value;
});

df.app.orchestration('retryThenSucceed', function* (context) {
  const retry = new df.RetryOptions(1000, 5);
  return (yield context.df.callActivityWithRetry('flaky', retry, context.df.getInput())) as string;
});

df.app.orchestration('retryExhausted', function* (context) {
  const retry = new df.RetryOptions(1000, 2);
  yield context.df.callActivityWithRetry('alwaysFails', retry, context.df.getInput());
  return 'unreachable';
});

df.app.orchestration('parent', function* (context) {
  const child = (yield context.df.callSubOrchestrator(
    'chain',
    5,
    `${context.df.instanceId}:child`,
  )) as number[];
  return { child };
});

df.app.orchestration('counter', function* (context) {
  const n = context.df.getInput() as number;
  if (n < 5) {
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
    context.df.continueAsNew(n + 1);
    return undefined;
  }
  return n;
});

df.app.orchestration('waitForever', function* (context) {
  context.df.setCustomStatus('waiting for a signal that never comes');
  yield context.df.waitForExternalEvent('never');
  return 'done';
});

let replays = 0;
/** Takes another path on replay: the runtime must refuse it. */
df.app.orchestration('nonDeterministic', function* (context) {
  replays++;
  const name = replays === 1 ? 'add' : 'echo';
  yield context.df.callActivity(name, { a: 1, b: 2 });
  return 'should not finish';
});

df.app.orchestration('unsupported', function* (context) {
  yield context.df.callHttp({ method: 'GET', url: 'http://127.0.0.1:1/' });
  return 'unreachable';
});

df.app.orchestration('crashable', function* (context) {
  const input = context.df.getInput() as { key: string; timerMs: number; activityMs: number };
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + input.timerMs));
  const runs = (yield context.df.callActivity('slowCount', {
    key: input.key,
    ms: input.activityMs,
  })) as number;
  return { runs };
});

app.http('hello', {
  route: 'hello/{name}',
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  handler: async (request) => ({ jsonBody: { hello: request.params.name, method: request.method } }),
});

/** Answers after a real-time pause, so a caller can hang up mid-request. */
app.http('slow', {
  route: 'slow',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => {
    await new Promise((r) => setTimeout(r, 300));
    return { jsonBody: { slow: true } };
  },
});

df.app.client.http('startChain', {
  route: 'start/{name}',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request, client) => {
    const id = await client.startNew(request.params.name ?? 'chain', {
      input: await request.json().catch(() => 1),
    });
    return client.createCheckStatusResponse(request, id);
  },
});

/** Every Event Grid event delivered, in order, so tests see batches and both schemas arrive intact. */
export const deliveredEvents: unknown[] = [];
app.eventGrid('recordEvent', {
  handler: (event) => {
    if ((event as { subject?: string }).subject === 'explode') throw new Error('[Boom] cannot handle this');
    deliveredEvents.push(event);
  },
});

/**
 * A running timer waited for again after an event, inside a new `Task.any`: as durable-js sends it, the
 * extension would schedule the timer twice (`rewaitTwice`); through `anyOf` it is sent once (`rewaitOnce`).
 */
function* rewait(
  context: OrchestrationContext,
  any: (tasks: df.Task[]) => df.Task,
): Generator<df.Task, { events: unknown[] }, unknown> {
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
  const events: unknown[] = [];
  for (;;) {
    const ping = context.df.waitForExternalEvent('ping');
    const winner = yield any([timer, ping]);
    if (winner === timer) return { events };
    events.push(ping.result);
  }
}
df.app.orchestration('rewaitTwice', function* (context) {
  return yield* rewait(context, (tasks) => context.df.Task.any(tasks));
});
df.app.orchestration('rewaitOnce', function* (context) {
  return yield* rewait(context, (tasks) => anyOf(context, tasks));
});
