// Undo after promotion and a stalled producer, measured on the local stack in real time.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { disposeServices } from '../../src/composition';
import { appKey } from '../../src/domain/flag/control';
import type { AppRef } from '../../src/domain/ports';
import { prodLogKey } from '../../src/protocol/flagKeys';
import { api, follow, type GreenlightHttp } from '../client';
import { startLocalStack, tcpWorkerFlagStrategy, tcpWorkerMockOutput } from '../stack';

const sub = '00000000-0000-0000-0000-0000000000bd';
const frameIntervalMs = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

const ref = (name: string): AppRef => ({ subscriptionId: sub, resourceGroup: 'rg-bench', name });

async function start(http: GreenlightHttp, app: string, image: string): Promise<string> {
  const res = await api(http, 'POST', '/api/rollouts', { app, image });
  const body = (await res.json()) as { id?: string };
  if (!res.ok || !body.id)
    throw new Error(`starting ${image} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

async function undo(http: GreenlightHttp, id: string): Promise<void> {
  const res = await api(http, 'POST', `/api/rollouts/${id}/undo`, { reason: 'bench' });
  if (res.status !== 202) throw new Error(`undo of ${id} answered ${res.status}: ${await res.text()}`);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Production sink entries: writer, frame id and the Redis time of the write (ms). */
async function sink(redis: Redis, flagPrefix: string, name: string) {
  const rows = await redis.xrange(prodLogKey(flagPrefix, appKey(ref(name)), 'sink'), '-', '+');
  return rows.map(([id, flat]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    return {
      at: Number(id.split('-')[0]),
      frame: Number(f.frameId),
      revision: f.revision ?? '',
      receivedAt: Date.parse(f.receivedAt ?? ''),
    };
  });
}

/**
 * Traffic: undo request → the snapshot's traffic served again (blue still active), three apps. Flag: undo
 * request → blue writing production again, three TCP workers. Stall: a green that stalls 2 s after the flip
 * (alive, leased, writing nothing) → blue processing again, with the frames held back meanwhile and the
 * sink audited for lost or doubled frames.
 */
export async function undoBench(
  redisUrl: string,
  opts: { stallOnly?: boolean } = {},
): Promise<Record<string, unknown>> {
  const keyPrefix = `greenlight-bench:${randomUUID().slice(0, 8)}:`;
  const flagPrefix = `${keyPrefix}fl:`;
  const web = opts.stallOnly ? [] : ['undo-a', 'undo-b', 'undo-c'];
  const workers = opts.stallOnly ? [] : ['undo-f1', 'undo-f2', 'undo-f3'];
  const stalls = ['stall-1', 'stall-2', 'stall-3'];
  const trafficPolicy = (name: string) => ({
    name,
    app: ref(name),
    trigger: { registry: 'bench.azurecr.io', repository: name },
    strategy: { type: 'traffic', steps: [100] },
    validation: { readiness: { timeout: 'PT1M', pollInterval: 'PT0.1S' }, smoke: [{ path: '/healthz' }] },
    approval: { required: false },
    bake: 'PT0S',
    cleanup: { deactivateAfter: 'PT10M', keepRevisions: 2 },
  });
  const flagPolicy = (name: string) => ({
    name,
    app: ref(name),
    trigger: { registry: 'bench.azurecr.io', repository: name },
    strategy: tcpWorkerFlagStrategy(flagPrefix, 'PT30S'),
    validation: {
      readiness: { timeout: 'PT1M', pollInterval: 'PT0.2S' },
      mock: { deadline: 'PT30S', minRecords: 20, maxLag: 50, ...tcpWorkerMockOutput },
    },
    approval: { required: false },
    bake: 'PT0S',
    watch: { duration: 'PT8S', interval: 'PT1S' },
    cleanup: { deactivateAfter: 'PT10M', keepRevisions: 2 },
  });
  const stack = await startLocalStack({
    redisUrl,
    keyPrefix,
    policies: [...web.map(trafficPolicy), ...[...workers, ...stalls].map(flagPolicy)],
    seed: [
      ...web.map((name) => ({ ...ref(name), image: `bench.azurecr.io/${name}:v1` })),
      ...[...workers, ...stalls].map((name) => ({
        ...ref(name),
        image: `bench.azurecr.io/${name}:v1`,
        ingress: false as const,
        workload: { kind: 'tcp' as const },
      })),
    ],
    tcpWorkers: { keyPrefix: flagPrefix, frameIntervalMs },
    emulator: { provisioningDelayMs: 100, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    dropStateOnStop: true,
  });
  const redis = new Redis(stack.redisUrl);
  const trafficMs: number[] = [];
  const flagMs: number[] = [];
  const stallMs: number[] = [];
  const delayed: number[] = [];
  const delayMs: number[] = [];
  let lost = 0;
  const holes: string[] = [];
  let doubled = 0;
  try {
    for (const name of web) {
      const before = JSON.stringify(stack.emulator.traffic(ref(name)));
      const id = await start(stack.http, name, `bench.azurecr.io/${name}:v2`);
      await follow(stack.http, id, (v) => v.phase === 'Succeeded' || v.done, {
        pollMs: 5,
        timeoutMs: 60_000,
      });
      const t0 = Date.now();
      await undo(stack.http, id);
      await until('traffic restored', () => JSON.stringify(stack.emulator.traffic(ref(name))) === before);
      trafficMs.push(Date.now() - t0);
    }
    for (const name of workers) {
      const id = await start(stack.http, name, `bench.azurecr.io/${name}:v2`);
      const ok = await follow(stack.http, id, (v) => v.phase === 'Succeeded' || v.done, {
        pollMs: 20,
        timeoutMs: 120_000,
      });
      const blue = ok.blue[0]!;
      const t0 = Date.now();
      await undo(stack.http, id);
      await until(
        'blue writing again',
        async () => (await sink(redis, flagPrefix, name)).at(-1)?.revision === blue,
      );
      flagMs.push(Date.now() - t0);
    }
    for (const name of stalls) {
      const id = await start(stack.http, name, `bench.azurecr.io/${name}:v2-stall`);
      const done = await follow(stack.http, id, (v) => v.done, { pollMs: 20, timeoutMs: 120_000 });
      if (done.outcome !== 'RolledBack')
        throw new Error(`stalled green ${id} ended ${done.outcome}: ${done.reason}`);
      const blue = done.blue[0]!;
      await until(
        'blue writing again',
        async () => (await sink(redis, flagPrefix, name)).at(-1)?.revision === blue,
      );
      const rows = await sink(redis, flagPrefix, name);
      const lastGreen = rows
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => r.revision === done.green)
        .at(-1);
      const resumed = lastGreen ? rows[lastGreen.i + 1] : undefined;
      if (!lastGreen || !resumed) throw new Error(`no stall found in ${name}'s sink`);
      stallMs.push(resumed.at - lastGreen.r.at);
      // Frames the source sent while nobody processed: received before blue resumed, written by blue after.
      const late = rows.filter((r, i) => i > lastGreen.i && r.revision === blue && r.receivedAt < resumed.at);
      delayed.push(late.length);
      delayMs.push(Math.max(0, ...late.map((r) => r.at - r.receivedAt)));
      const seen = new Map<number, number>();
      for (const r of rows) seen.set(r.frame, (seen.get(r.frame) ?? 0) + 1);
      const ids = [...seen.keys()];
      for (let f = Math.min(...ids); f <= Math.max(...ids); f++) {
        if (seen.has(f)) continue;
        lost++;
        if (seen.has(f - 1))
          holes.push(
            `${name}: from ${f} (last green ${lastGreen.r.frame}, blue resumed at ${resumed.frame})`,
          );
      }
      doubled += [...seen.values()].filter((n) => n > 1).length;
    }
  } finally {
    redis.disconnect();
    await stack.stop();
    await disposeServices();
  }
  return {
    ...(opts.stallOnly
      ? {}
      : {
          trafficUndoToRestoredMs: {
            median: median(trafficMs),
            max: Math.max(...trafficMs),
            runs: trafficMs.length,
          },
          flagUndoToBlueWritingMs: { median: median(flagMs), max: Math.max(...flagMs), runs: flagMs.length },
        }),
    stallToBlueProcessingMs: { median: median(stallMs), max: Math.max(...stallMs), runs: stallMs.length },
    stallFramesDelayedMedian: median(delayed),
    stallFrameDelayMsMax: Math.max(...delayMs),
    stallFramesLost: lost,
    ...(holes.length ? { stallHoles: holes.slice(0, 10) } : {}),
    stallFramesDoubled: doubled,
    frameIntervalMs,
  };
}
