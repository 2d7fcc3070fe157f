#!/usr/bin/env node
/**
 * `npm run bench`: speed and memory figures as JSON (never asserted in tests: the machine is shared).
 *  - replay: orchestrator replay time per decision at history lengths 10, 100 and 1000 (median);
 *  - throughput: completed 5-activity chains per second with 50 running at once;
 *  - rollout: wall time and ARM requests of one full rollout (instant provisioning, zero waits), and the
 *    time from a failing health check to the snapshot's traffic restored;
 *  - flagFlip: for a TCP worker rolled out by flag, the processing gap during the flip (blue's last
 *    production write to green's first, from the production log's own entry ids) and the flip's duration;
 *  - arm: ARM requests of one 3-step rollout (test speed; 30 s provisioning at production poll settings),
 *    readiness and operation polls apart, and 100 rollouts of 100 apps in one subscription started within a
 *    second under ARM's token buckets: wall time, requests, 429s, peak RSS, Redis memory; the time from the
 *    end of a 5 s ARM outage (every PATCH 503) to a watch-failure rollback's traffic restored (see arm.ts);
 *  - eventFlood: 1,000 Event Grid events for one app (duplicates, supersedes): rollouts, the newest image's
 *    outcome, ledger entries (see flood.ts).
 *  - notify: a phase change (WaitingApproval, Succeeded) to its notification received on the local inbox,
 *    median and p95 over 20 rollouts (see notify.ts).
 *  - release: a coordinated release of 5 apps (instant provisioning, zero waits): wall time and ARM requests,
 *    and the time to restore all 5 after one fails its watch once every member was promoted (see release.ts).
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { Redis } from 'ioredis';
import { VirtualClock } from '../clock';
import { api, follow, type GreenlightHttp } from '../client';
import { startLocalRuntime } from '../runtime';
import { provideFunctionsCore } from '../runtime/hook';
import { ensureRedis } from '../runtime/redis';
import { startLocalStack, tcpWorkerFlagStrategy, tcpWorkerMockOutput } from '../stack';
import { prodLogKey } from '../../src/protocol/flagKeys';
import { disposeServices } from '../../src/composition';
import { deleteKeysWithPrefix } from '../../src/adapters/redis/deleteKeys';
import { appKey } from '../../src/domain/flag/control';
import { oneRolloutInstant, oneRolloutProduction, rollbackAfterOutage, scaleRun } from './arm';
import { eventFlood } from './flood';
import { gateFailFast } from './gates';
import { notifyBench } from './notify';
import { releaseBench } from './release';
import { undoBench } from './undo';

provideFunctionsCore();

// Apps are loaded as the Functions host loads them: synchronously, after the core module is provided.
const core = require('../runtime/functionsCore') as typeof import('../runtime/functionsCore');
require('./app');

const redisUrl = process.env.GREENLIGHT_REDIS_URL ?? 'redis://127.0.0.1:6379';
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const round = (n: number, d = 3): number => Number(n.toFixed(d));
const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

/** A history of `completed` finished activities of benchChain, as the host would send it. */
function chainHistory(completed: number): unknown[] {
  const at = new Date('2026-01-01T00:00:00Z').toISOString();
  const events: unknown[] = [
    { EventType: 12, EventId: -1, IsPlayed: true, Timestamp: at },
    { EventType: 0, EventId: -1, IsPlayed: true, Timestamp: at, Name: 'benchChain' },
  ];
  for (let i = 0; i < completed; i++) {
    events.push({ EventType: 4, EventId: i, IsPlayed: true, Timestamp: at, Name: 'benchStep' });
    events.push({ EventType: 13, EventId: -1, IsPlayed: true, Timestamp: at });
    events.push({ EventType: 12, EventId: -1, IsPlayed: true, Timestamp: at });
    events.push({
      EventType: 5,
      EventId: -1,
      IsPlayed: true,
      Timestamp: at,
      TaskScheduledId: i,
      Result: String(i + 1),
    });
  }
  return events;
}

async function replayBench(): Promise<Record<string, number>> {
  const fn = core.capturedFunctions().find((f) => f.name === 'benchChain');
  if (!fn) throw new Error('benchChain is not registered');
  const out: Record<string, number> = {};
  for (const target of [10, 100, 1000]) {
    const completed = Math.max(1, Math.round((target - 2) / 4));
    const history = chainHistory(completed);
    const samples: number[] = [];
    for (let i = 0; i < 60; i++) {
      const binding = {
        history: JSON.parse(JSON.stringify(history)) as unknown[],
        input: { steps: completed + 1 },
        instanceId: 'bench',
        isReplaying: true,
        upperSchemaVersion: 1,
      };
      const context = new InvocationContext({ functionName: 'benchChain', invocationId: randomUUID() });
      const t0 = process.hrtime.bigint();
      await fn.callback(binding, context);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    out[`historyEvents_${history.length}_ms`] = round(median(samples.slice(10)));
  }
  return out;
}

async function throughputBench(): Promise<Record<string, number>> {
  const redis = await ensureRedis(redisUrl, progress);
  const prefix = `greenlight-bench:${randomUUID().slice(0, 8)}:`;
  const runtime = await startLocalRuntime({
    register: () => undefined,
    redisUrl: redis.url,
    keyPrefix: prefix,
    keysFile: `.greenlight/bench-keys.json`,
    maxConcurrentActivities: 50,
  });
  const client = runtime.durableClient();
  const total = 200;
  const concurrency = 50;
  const t0 = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const id = await client.startNew('benchChain', { input: { steps: 5 } });
      for (;;) {
        const s = await client.getStatus(id);
        if (String(s.runtimeStatus) === 'Completed') break;
        if (String(s.runtimeStatus) === 'Failed')
          throw new Error(`bench orchestration failed: ${String(s.output)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (Date.now() - t0) / 1000;
  await runtime.stop();
  const r = new Redis(redis.url);
  await deleteKeysWithPrefix(r, prefix);
  r.disconnect();
  await redis.stop();
  return {
    orchestrations: total,
    concurrency,
    activitiesEach: 5,
    seconds: round(seconds),
    perSecond: round(total / seconds, 1),
  };
}

/** Starts a rollout through the API, as a person would; its id, or an error with the API's answer. */
async function startRollout(http: GreenlightHttp, app: string, image: string): Promise<string> {
  const res = await api(http, 'POST', '/api/rollouts', { app, image });
  const body = (await res.json()) as { id?: string };
  if (!res.ok || !body.id)
    throw new Error(`starting a rollout of ${image} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

async function rolloutBench(): Promise<Record<string, number | string>> {
  const sub = '00000000-0000-0000-0000-0000000000be';
  const policy = (name: string, watch: string) => ({
    name,
    app: { subscriptionId: sub, resourceGroup: 'rg-bench', name },
    trigger: { registry: 'bench.azurecr.io', repository: name },
    strategy: { type: 'traffic', steps: [100] },
    validation: { readiness: { timeout: 'PT5M', pollInterval: 'PT1S' }, smoke: [{ path: '/healthz' }] },
    approval: { required: false },
    bake: 'PT0S',
    watch: { duration: watch, interval: 'PT1M' },
    cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
  });
  const clock = new VirtualClock(Date.now());
  const stack = await startLocalStack({
    redisUrl,
    policies: [policy('fast', 'PT0S'), policy('watched', 'PT30M')],
    seed: [
      { subscriptionId: sub, resourceGroup: 'rg-bench', name: 'fast', image: 'bench.azurecr.io/fast:v1' },
      {
        subscriptionId: sub,
        resourceGroup: 'rg-bench',
        name: 'watched',
        image: 'bench.azurecr.io/watched:v1',
      },
    ],
    clock,
    emulator: { provisioningDelayMs: 0, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    dropStateOnStop: true,
  });
  try {
    stack.emulator.resetRequestLog();
    const t0 = Date.now();
    const id = await startRollout(stack.http, 'fast', 'bench.azurecr.io/fast:v2');
    const done = await follow(stack.http, id, (v) => v.done, { pollMs: 2, timeoutMs: 60_000 });
    const wallMs = Date.now() - t0;
    const armRequests = stack.emulator.requestLog.length;

    const ref = { subscriptionId: sub, resourceGroup: 'rg-bench', name: 'watched' };
    const before = JSON.stringify(stack.emulator.traffic(ref).filter((t) => t.weight > 0));
    const id2 = await startRollout(stack.http, 'watched', 'bench.azurecr.io/watched:v2');
    stack.runtime.setTimeSkipping(false);
    const watching = await follow(stack.http, id2, (v) => v.phase === 'Watching' || v.done, { pollMs: 2 });
    stack.emulator.setRevisionHealth(ref, watching.green ?? '', 'Unhealthy');
    const t1 = Date.now();
    stack.runtime.setTimeSkipping(true);
    for (;;) {
      if (JSON.stringify(stack.emulator.traffic(ref).filter((t) => t.weight > 0)) === before) break;
      if (Date.now() - t1 > 60_000) throw new Error('traffic was not restored within 60 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    const restoreMs = Date.now() - t1;
    const rolledBack = await follow(stack.http, id2, (v) => v.done, { pollMs: 5 });
    return {
      outcome: String(done.outcome),
      wallMs,
      armRequests,
      failedCheckToRestoredMs: restoreMs,
      watchOutcome: String(rolledBack.outcome),
    };
  } finally {
    await stack.stop();
    // The app's services (configuration, policies, Redis) belong to that stack; the next one builds its own.
    await disposeServices();
  }
}

/**
 * Three flag rollouts of an always-on TCP worker (frames every 5 ms), each measured from the production
 * log: the gap between blue's last write and green's first, the flip duration (the Promoting phase's
 * start to green's first production write) and the time until the flip was confirmed.
 */
async function flagFlipBench(): Promise<Record<string, number>> {
  const sub = '00000000-0000-0000-0000-0000000000bf';
  const keyPrefix = `greenlight-bench:${randomUUID().slice(0, 8)}:`;
  const flagPrefix = `${keyPrefix}fl:`;
  const names = ['flip-a', 'flip-b', 'flip-c'];
  const policy = (name: string) => ({
    name,
    app: { subscriptionId: sub, resourceGroup: 'rg-bench', name },
    trigger: { registry: 'bench.azurecr.io', repository: name },
    strategy: tcpWorkerFlagStrategy(flagPrefix, 'PT30S'),
    validation: {
      readiness: { timeout: 'PT1M', pollInterval: 'PT0.2S' },
      mock: {
        deadline: 'PT30S',
        minRecords: 20,
        maxLag: 50,
        ...tcpWorkerMockOutput,
      },
    },
    approval: { required: false },
    bake: 'PT0S',
    // The shortest watch a flag policy may have: the lease TTL (5 s) and two checks.
    watch: { duration: 'PT8S', interval: 'PT1S' },
    cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
  });
  const stack = await startLocalStack({
    redisUrl,
    keyPrefix,
    policies: names.map(policy),
    seed: names.map((name) => ({
      subscriptionId: sub,
      resourceGroup: 'rg-bench',
      name,
      image: `bench.azurecr.io/${name}:v1`,
      ingress: false as const,
      workload: { kind: 'tcp' as const },
    })),
    tcpWorkers: { keyPrefix: flagPrefix, frameIntervalMs: 5 },
    emulator: { provisioningDelayMs: 100, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    dropStateOnStop: true,
  });
  const redis = new Redis(stack.redisUrl);
  const gaps: number[] = [];
  const flips: number[] = [];
  const confirmed: number[] = [];
  try {
    for (const name of names) {
      const id = await startRollout(stack.http, name, `bench.azurecr.io/${name}:v2`);
      const done = await follow(stack.http, id, (v) => v.done, { pollMs: 20, timeoutMs: 120_000 });
      if (done.outcome !== 'Succeeded' || !done.green)
        throw new Error(`flag rollout ${id} ended ${done.outcome}: ${done.reason}`);
      const promotingAt = done.timeline.findIndex((t) => t.phase === 'Promoting');
      const promoting = Date.parse(done.timeline[promotingAt]?.at ?? '');
      // The flip is confirmed when the rollout leaves Promoting (for the watch, or to finish).
      const watched = Date.parse(done.timeline[promotingAt + 1]?.at ?? '');
      const key = prodLogKey(
        flagPrefix,
        appKey({ subscriptionId: sub, resourceGroup: 'rg-bench', name }),
        'stream',
      );
      const rows = await redis.xrange(key, '-', '+');
      const idx = rows.findIndex(([, f]) => f[f.indexOf('revision') + 1] === done.green);
      const first = rows[idx];
      const before = rows[idx - 1];
      if (!first || !before) throw new Error(`no flip found in ${key}`);
      const ms = (entryId: string): number => Number(entryId.split('-')[0]);
      gaps.push(ms(first[0]) - ms(before[0]));
      flips.push(ms(first[0]) - promoting);
      confirmed.push(watched - promoting);
      progress(`  ${name}: gap ${gaps.at(-1)} ms, first green write ${flips.at(-1)} ms after the flip`);
    }
  } finally {
    redis.disconnect();
    await stack.stop();
    // The app's services (configuration, policies, Redis) belong to that stack; the next one builds its own.
    await disposeServices();
  }
  return {
    rollouts: names.length,
    frameIntervalMs: 5,
    processingGapMsMedian: median(gaps),
    processingGapMsMax: Math.max(...gaps),
    flipToFirstGreenWriteMsMedian: median(flips),
    flipConfirmedMsMedian: median(confirmed),
  };
}

async function main(): Promise<void> {
  progress('replay time per decision…');
  const replay = await replayBench();
  progress('throughput (5-activity chains, 50 at once)…');
  const throughput = await throughputBench();
  progress('one full rollout…');
  const rollout = await rolloutBench();
  progress('flag flips of a TCP worker…');
  const flagFlip = await flagFlipBench();
  progress('ARM: one 3-step rollout (instant; 30 s provisioning at production polls), 100 rollouts at once…');
  const arm = {
    oneRollout: await oneRolloutInstant(),
    oneRolloutProduction: await oneRolloutProduction(),
    scale: await scaleRun(),
    rollbackAfterOutage: await rollbackAfterOutage(),
    rollbackAfter30sOutage: await rollbackAfterOutage(30_000),
  };
  progress('a flood of 1,000 Event Grid events for one app…');
  const flood = await eventFlood();
  progress('a failing gate with a slow sibling: failing measurement to rollback…');
  const gateFailure = await gateFailFast(redisUrl);
  progress('undo after promotion (traffic, flag) and a stalled producer flipped back…');
  const undo = await undoBench(redisUrl);
  progress('notifications: a phase change to its message on the local inbox, 20 rollouts…');
  const notifyFigures = await notifyBench(redisUrl);
  progress('a coordinated release of 5 apps, and all 5 restored after one fails…');
  const release = await releaseBench();
  const mem = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify(
      {
        node: process.version,
        replayMedianPerDecision: replay,
        throughput,
        rollout,
        flagFlip,
        arm,
        eventFlood: flood,
        gateFailFast: gateFailure,
        undo,
        notify: notifyFigures,
        release,
        memoryMiB: { rss: round(mem.rss / 2 ** 20, 1), heapUsed: round(mem.heapUsed / 2 ** 20, 1) },
      },
      null,
      2,
    )}\n`,
  );
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
