/**
 * ARM figures for `npm run bench`: what one traffic rollout asks of ARM (at test speed and at production poll
 * settings with slow provisioning), and 100 rollouts of 100 apps in one subscription started within a second
 * against the emulator's ARM throttling (its documented token buckets).
 */
import { Redis } from 'ioredis';
import { VirtualClock } from '../clock';
import { api, follow } from '../client';
import type { ArmRequestLogEntry } from '../containerapps-emulator';
import { startLocalStack, type LocalStackOptions } from '../stack';
import { disposeServices } from '../../src/composition';
import type { RolloutView } from '../../src/services/rolloutView';

const sub = '00000000-0000-0000-0000-0000000000bc';
const rg = 'rg-bench-arm';
const round = (n: number, d = 1): number => Number(n.toFixed(d));
const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

function policy(name: string, readinessPoll: string): Record<string, unknown> {
  return {
    name,
    app: { subscriptionId: sub, resourceGroup: rg, name },
    allowedImages: [`bench.azurecr.io/${name}:*`],
    strategy: { type: 'traffic', steps: [10, 50, 100] },
    validation: { readiness: { timeout: 'PT10M', pollInterval: readinessPoll } },
    approval: { required: false },
    bake: 'PT0S',
    watch: { duration: 'PT0S' },
    cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
  };
}

const seedOf = (name: string) => ({
  subscriptionId: sub,
  resourceGroup: rg,
  name,
  image: `bench.azurecr.io/${name}:v1`,
});

/** ARM requests of a rollout by purpose: readiness polls and operation polls apart from the rest. */
export function classifyArmRequests(
  log: readonly ArmRequestLogEntry[],
  green: string | undefined,
): { armRequests: number; readinessPolls: number; operationPolls: number; byKind: Record<string, number> } {
  let armRequests = 0;
  let readinessPolls = 0;
  let operationPolls = 0;
  const byKind: Record<string, number> = {};
  for (const r of log) {
    let kind: string;
    if (/containerappOperation(Statuses|Results)/i.test(r.path)) {
      operationPolls++;
      kind = 'operation poll';
    } else if (
      green &&
      r.method === 'GET' &&
      r.status === 200 &&
      r.path.toLowerCase().endsWith(`/revisions/${green}`)
    ) {
      readinessPolls++;
      kind = 'readiness poll';
    } else {
      armRequests++;
      const what = /\/revisions\/[^/]+\/(activate|deactivate)$/i.test(r.path)
        ? 'revision action'
        : /\/revisions\/[^/]+$/i.test(r.path)
          ? 'revision'
          : /\/revisions$/i.test(r.path)
            ? 'revision list'
            : 'app';
      kind = `${r.method} ${what}`;
    }
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { armRequests, readinessPolls, operationPolls, byKind };
}

async function oneRollout(
  label: string,
  stackOpts: Pick<LocalStackOptions, 'emulator' | 'env' | 'clock'>,
  readinessPoll: string,
): Promise<Record<string, unknown>> {
  const name = 'one';
  const stack = await startLocalStack({
    policies: [policy(name, readinessPoll)],
    seed: [seedOf(name)],
    dropStateOnStop: true,
    ...stackOpts,
  });
  try {
    stack.emulator.resetRequestLog();
    const t0 = Date.now();
    const res = await api(stack.http, 'POST', '/api/rollouts', {
      app: name,
      image: `bench.azurecr.io/${name}:v2`,
    });
    const { id } = (await res.json()) as { id: string };
    const done = await follow(stack.http, id, (v) => v.done, { pollMs: 20, timeoutMs: 600_000 });
    const figures = classifyArmRequests(stack.emulator.requestLog, done.green);
    progress(`  ${label}: ${JSON.stringify(figures)}`);
    return {
      outcome: String(done.outcome),
      steps: 3,
      wallMs: Date.now() - t0,
      ...figures,
      total: stack.emulator.requestLog.length,
      throttled: stack.emulator.throttling()?.throttled,
    };
  } finally {
    await stack.stop();
    await disposeServices();
  }
}

/** One 3-step rollout with instant provisioning and 1 ms polls (test speed). */
export function oneRolloutInstant(): Promise<Record<string, unknown>> {
  return oneRollout(
    'one 3-step rollout, instant provisioning',
    {
      emulator: { provisioningDelayMs: 0, lroDurationMs: 0 },
      env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
      clock: new VirtualClock(Date.now()),
    },
    'PT1S',
  );
}

/**
 * One 3-step rollout at production poll settings (operation polls every 2 s unless ARM says otherwise,
 * readiness every 10 s, the policy default) while a revision takes 30 s to provision and every write's
 * operation takes 3 s; once with no `Retry-After` on operations, once with ARM asking for 3 s. Provisioning
 * and readiness run on a virtual clock; operations in real time.
 */
export async function oneRolloutProduction(): Promise<Record<string, unknown>> {
  const run = (operationRetryAfterSeconds?: number) =>
    oneRollout(
      `one 3-step rollout, 30 s provisioning, production polls, Retry-After ${operationRetryAfterSeconds ?? 'none'}`,
      {
        emulator: {
          provisioningDelayMs: 30_000,
          lroDurationMs: 3_000,
          ...(operationRetryAfterSeconds !== undefined ? { operationRetryAfterSeconds } : {}),
        },
        env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '2000', GREENLIGHT_ARM_RETRY_DELAY_MS: '800' },
        clock: new VirtualClock(Date.now()),
      },
      'PT10S',
    );
  return { noRetryAfter: await run(), retryAfter3s: await run(3) };
}

async function redisUsedMemory(url: string): Promise<number> {
  const r = new Redis(url);
  try {
    const info = await r.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    r.disconnect();
  }
}

/**
 * 100 apps in one subscription, one rollout each, all started within a second; ARM's buckets as documented
 * (reads 250 + 25/s, writes 200 + 10/s per principal). Real time: provisioning 2 s, operations 500 ms, production
 * operation polls (2 s), readiness every 2 s.
 */
export async function scaleRun(count = 100): Promise<Record<string, unknown>> {
  const names = Array.from({ length: count }, (_, i) => `scale-${String(i).padStart(3, '0')}`);
  const stack = await startLocalStack({
    policies: names.map((n) => policy(n, 'PT2S')),
    seed: names.map(seedOf),
    emulator: { provisioningDelayMs: 2_000, lroDurationMs: 500 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '2000', GREENLIGHT_ARM_RETRY_DELAY_MS: '800' },
    dropStateOnStop: true,
  });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  try {
    const redisBefore = await redisUsedMemory(stack.redisUrl);
    stack.emulator.resetRequestLog();
    stack.emulator.configureThrottling({});
    const t0 = Date.now();
    const ids = await Promise.all(
      names.map(async (name) => {
        const res = await api(stack.http, 'POST', '/api/rollouts', {
          app: name,
          image: `bench.azurecr.io/${name}:v2`,
        });
        const body = (await res.json()) as { id?: string };
        if (!body.id)
          throw new Error(`starting a rollout of ${name} answered ${res.status}: ${JSON.stringify(body)}`);
        return body.id;
      }),
    );
    const startedWithinMs = Date.now() - t0;
    let redisPeak = await redisUsedMemory(stack.redisUrl);
    const redisSampler = setInterval(() => {
      void redisUsedMemory(stack.redisUrl).then(
        (m) => (redisPeak = Math.max(redisPeak, m)),
        () => undefined,
      );
    }, 2_000);
    let views: RolloutView[];
    try {
      views = await Promise.all(
        ids.map((id) => follow(stack.http, id, (v) => v.done, { pollMs: 1_000, timeoutMs: 1_800_000 })),
      );
    } finally {
      clearInterval(redisSampler);
    }
    const wallMs = Date.now() - t0;
    const outcomes: Record<string, number> = {};
    for (const v of views) outcomes[String(v.outcome)] = (outcomes[String(v.outcome)] ?? 0) + 1;
    const failures = views
      .filter((v) => v.outcome !== 'Succeeded')
      .map((v) => `${JSON.stringify(v.app)}: ${String(v.reason)}`);
    const stats = stack.emulator.throttling();
    const sum = (r: Record<string, number> | undefined): number =>
      Object.values(r ?? {}).reduce((s, n) => s + n, 0);
    const requests = sum(stats?.allowed) + sum(stats?.throttled);
    const figures = {
      rollouts: count,
      steps: 3,
      startedWithinMs,
      wallSeconds: round(wallMs / 1000),
      outcomes,
      ...(failures.length ? { failures: failures.slice(0, 5) } : {}),
      armRequests: requests,
      armRequestsPerRollout: round(requests / count),
      armReads: sum(stats ? { a: stats.allowed.reads, b: stats.throttled.reads } : undefined),
      armWrites: sum(stats ? { a: stats.allowed.writes, b: stats.throttled.writes } : undefined),
      http429: sum(stats?.throttled),
      limits: stats ? { reads: stats.limits.reads, writes: stats.limits.writes } : undefined,
      peakRssMiB: round(peakRss / 2 ** 20),
      redisUsedMemoryMiB: { before: round(redisBefore / 2 ** 20), peak: round(redisPeak / 2 ** 20) },
    };
    progress(`  scale: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    clearInterval(sampler);
    await stack.stop();
    await disposeServices();
  }
}

/**
 * Rollback after an ARM outage: a rollout in its watch sees green turn unhealthy while every PATCH answers 503
 * for `outageMs` (real time); the figure is the real time from the outage's end to the snapshot's traffic
 * restored (durable timers, compensation backoff included, skip ahead on the virtual clock), and the outcome.
 */
export async function rollbackAfterOutage(outageMs = 5_000): Promise<Record<string, unknown>> {
  const name = 'outage';
  const ref = { subscriptionId: sub, resourceGroup: rg, name };
  const clock = new VirtualClock(Date.now());
  let pacing: NodeJS.Timeout | undefined;
  const stack = await startLocalStack({
    policies: [
      {
        ...policy(name, 'PT1S'),
        strategy: { type: 'traffic', steps: [100] },
        watch: { duration: 'PT30M', interval: 'PT1M' },
      },
    ],
    seed: [seedOf(name)],
    emulator: { provisioningDelayMs: 0, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    clock,
    dropStateOnStop: true,
  });
  const weighted = (): string => JSON.stringify(stack.emulator.traffic(ref).filter((t) => t.weight > 0));
  try {
    const before = weighted();
    const res = await api(stack.http, 'POST', '/api/rollouts', {
      app: name,
      image: `bench.azurecr.io/${name}:v2`,
    });
    const { id } = (await res.json()) as { id: string };
    stack.runtime.setTimeSkipping(false);
    const watching = await follow(stack.http, id, (v) => v.phase === 'Watching' || v.done, { pollMs: 2 });
    stack.emulator.faults.serverError({
      count: 1_000_000,
      method: 'PATCH',
      status: 503,
      code: 'ServiceUnavailable',
    });
    stack.emulator.setRevisionHealth(ref, watching.green ?? '', 'Unhealthy');
    const outageStart = Date.now();
    // Durable timers (the watch's next check) skip ahead until the rollback; the outage lasts in real time.
    stack.runtime.setTimeSkipping(true);
    await follow(stack.http, id, (v) => v.phase === 'RollingBack' || v.done, { pollMs: 1 });
    // From here timers fire at the pace of real time, as in production: skipping them would spend the
    // rollback's retry bound (an hour of backoff) within the real-time outage.
    const from = { virtual: clock.now(), real: Date.now() };
    const realTime = (): void =>
      stack.runtime.setTimeSkipping((next) => next <= from.virtual + (Date.now() - from.real));
    realTime();
    pacing = setInterval(realTime, 20);
    await new Promise((r) => setTimeout(r, Math.max(0, outageMs - (Date.now() - outageStart))));
    stack.emulator.faults.clear();
    const outageEnd = Date.now();
    let restoredMs: number | undefined;
    for (const deadline = outageEnd + 120_000; Date.now() < deadline;) {
      if (weighted() === before) {
        restoredMs = Date.now() - outageEnd;
        break;
      }
      const v = await follow(stack.http, id, () => true, { pollMs: 50 });
      if (v.done) {
        // Finished between two looks: restored by now at the latest.
        if (weighted() === before) restoredMs = Date.now() - outageEnd;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const done = await follow(stack.http, id, (v) => v.done, { pollMs: 20, timeoutMs: 300_000 });
    const figures = {
      outageMs: outageEnd - outageStart,
      outageEndToRestoredMs: restoredMs ?? null,
      outcome: String(done.outcome),
      ...(done.outcome === 'RolledBack' ? {} : { reason: String(done.reason) }),
      ...(restoredMs === undefined ? { trafficBefore: before, trafficAfter: weighted() } : {}),
    };
    progress(`  rollback after an ARM outage: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    clearInterval(pacing);
    await stack.stop();
    await disposeServices();
  }
}
