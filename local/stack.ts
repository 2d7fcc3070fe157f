import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import type { Clock } from './clock';
import {
  startContainerAppsEmulator,
  type ContainerAppsEmulator,
  type ContainerAppsEmulatorOptions,
  type SeedApp,
  type AppView,
  type EmulatorAppRef,
} from './containerapps-emulator';
import type { GreenlightHttp } from './client';
import { ensureRedis } from './runtime/redis';
import { startLocalRuntime, type LocalRuntime } from './runtime';
import { processorGroup } from './workloads/tcp/worker';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../src/adapters/redis/deleteKeys';

/** Deletes only keys under this stack's prefix. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    await deleteKeysWithPrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}

/** App settings through which the stack hands its Redis to TCP workers and to Greenlight. */
const tcpWorkerRedisSettings = { prod: 'PROD_REDIS_URL', temp: 'TEMP_REDIS_URL' } as const;

/**
 * The strategy of a flag policy for the stack's TCP workers: bindings by the settings the stack sets,
 * and the key prefix their agents use.
 */
export function tcpWorkerFlagStrategy(keyPrefix: string, flipDeadline: string): Record<string, unknown> {
  return {
    type: 'flag',
    bindings: {
      prod: { urlSetting: tcpWorkerRedisSettings.prod },
      temp: { urlSetting: tcpWorkerRedisSettings.temp },
    },
    keyPrefix,
    flipDeadline,
  };
}

/** What the stack's TCP workers write in mock mode: these fields, read by this consumer group, every frame id. */
export const tcpWorkerMockOutput = {
  requiredFields: ['frameId', 'receivedAt', 'payload'],
  consumerGroup: processorGroup,
  // Frames are numbered by the source: green's output must hold every one.
  sequenceField: 'frameId',
};

export interface LocalStackOptions {
  /** Redis to use; a throwaway redis-server is started when none answers there. */
  redisUrl?: string;
  /** Key prefix for everything this stack writes (runtime state and Greenlight's bookkeeping). */
  keyPrefix?: string;
  /** Rollout policies (objects, validated by the app like any policy file). */
  policies?: unknown[];
  /** Or a policy file or folder (GREENLIGHT_POLICIES_PATH). */
  policiesPath?: string;
  seed?: SeedApp[];
  emulator?: Partial<ContainerAppsEmulatorOptions>;
  clock?: Clock;
  port?: number;
  /** Registers the app; default: require the built entrypoint `dist/src/index.js`. */
  register?: () => void;
  /** Extra app settings. */
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** Host key file; default `.greenlight/host-keys.json`. */
  keysFile?: string;
  /**
   * Run TCP-worker apps (seed `workload: {kind: 'tcp'}`) on this stack's Redis, which then serves as both
   * the production and the temporary Redis (`PROD_REDIS_URL`, `TEMP_REDIS_URL`), keys under `keyPrefix`.
   */
  tcpWorkers?: { keyPrefix: string; frameIntervalMs?: number };
  /** Delete every key under the prefix on stop (a demo leaves nothing behind; `npm start` keeps its state). */
  dropStateOnStop?: boolean;
}

export interface LocalStack {
  http: GreenlightHttp;
  emulator: ContainerAppsEmulator;
  runtime: LocalRuntime;
  redisUrl: string;
  keyPrefix: string;
  stop(): Promise<void>;
}

/**
 * Redis, the Container Apps emulator and the local Functions runtime with Greenlight's app, wired
 * together through app settings exactly as the Function App in Azure is (only the values differ).
 */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const redis = await ensureRedis(opts.redisUrl ?? 'redis://127.0.0.1:6379', opts.log);
  const keyPrefix = opts.keyPrefix ?? `greenlight-local:${randomUUID().slice(0, 8)}:`;
  const stateDir = resolve('.greenlight');
  mkdirSync(stateDir, { recursive: true });
  const tcp = opts.tcpWorkers;
  const emulator = await startContainerAppsEmulator({
    clock: opts.clock,
    seed: opts.seed,
    caFile: join(stateDir, `emulator-ca-${process.pid}.pem`),
    ...(tcp
      ? {
          redis: { prodUrl: redis.url, tempUrl: redis.url, keyPrefix: tcp.keyPrefix },
          tcp: { frameIntervalMs: tcp.frameIntervalMs ?? 20 },
        }
      : {}),
    ...opts.emulator,
  });
  let runtime: LocalRuntime;
  try {
    runtime = await runApp(opts, redis.url, keyPrefix, {
      url: emulator.url,
      ...(emulator.caFile ? { caFile: emulator.caFile } : {}),
      metricsUrl: emulator.monitor.metricsUrl,
      logsUrl: emulator.monitor.logsUrl,
    });
  } catch (e) {
    await emulator.stop();
    await redis.stop();
    throw e;
  }
  return {
    http: { baseUrl: runtime.baseUrl, functionKey: runtime.keys.function, systemKey: runtime.keys.system },
    emulator,
    runtime,
    redisUrl: redis.url,
    keyPrefix,
    stop: async () => {
      // Each part stops even when the one before it failed: no emulator or redis-server left running.
      try {
        await runtime.stop();
      } finally {
        try {
          await emulator.stop();
          if (opts.dropStateOnStop) await deleteKeys(redis.url, keyPrefix);
        } finally {
          await redis.stop();
        }
      }
    },
  };
}

/** Where the app finds the ARM emulator (and its monitoring endpoints, when known). */
export interface EmulatorEndpoints {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** PEM file of the certificate it serves. */
  caFile?: string;
  metricsUrl?: string;
  logsUrl?: string;
}

/** The local runtime with Greenlight's app, its settings pointing at this Redis and this emulator. */
async function runApp(
  opts: LocalStackOptions,
  redisUrl: string,
  keyPrefix: string,
  emu: EmulatorEndpoints,
): Promise<LocalRuntime> {
  const redis = { url: redisUrl };
  const tcp = opts.tcpWorkers;
  const settings: Record<string, string> = {
    ...(opts.policies ? { GREENLIGHT_POLICIES: JSON.stringify(opts.policies) } : {}),
    ...(opts.policiesPath ? { GREENLIGHT_POLICIES_PATH: resolve(opts.policiesPath) } : {}),
    GREENLIGHT_REDIS_URL: redis.url,
    GREENLIGHT_REDIS_KEY_PREFIX: `${keyPrefix}app:`,
    GREENLIGHT_APPROVAL_SIGNING_KEY: randomBytes(32).toString('base64'),
    GREENLIGHT_ARM_ENDPOINT: emu.url,
    ...(emu.caFile ? { GREENLIGHT_ARM_CA_FILE: emu.caFile } : {}),
    GREENLIGHT_ARM_MAX_RETRIES: '4',
    GREENLIGHT_ARM_RETRY_DELAY_MS: '50',
    GREENLIGHT_ARM_POLL_INTERVAL_MS: '25',
    GREENLIGHT_CREDENTIAL: 'static',
    GREENLIGHT_STATIC_TOKEN: 'local-emulator-token',
    GREENLIGHT_REVISION_URL_SCHEME: 'http',
    // Gate providers read the emulator's monitoring APIs, which serve the same certificate.
    ...(emu.metricsUrl ? { GREENLIGHT_MONITOR_METRICS_ENDPOINT: emu.metricsUrl } : {}),
    ...(emu.logsUrl ? { GREENLIGHT_MONITOR_LOGS_ENDPOINT: emu.logsUrl } : {}),
    ...(emu.caFile ? { GREENLIGHT_MONITOR_CA_FILE: emu.caFile } : {}),
    ...(tcp ? { [tcpWorkerRedisSettings.prod]: redis.url, [tcpWorkerRedisSettings.temp]: redis.url } : {}),
    ...opts.env,
  };
  return startLocalRuntime({
    register:
      opts.register ??
      (() => {
        // The host loads the app's entrypoint synchronously with require, so does this one.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(resolve('dist/src/index.js'));
      }),
    redisUrl: redis.url,
    keyPrefix: `${keyPrefix}rt:`,
    port: opts.port,
    clock: opts.clock,
    // The public base URL (for approval links) is only known once the port is: the runtime sets it.
    env: settings,
    publicBaseUrlSetting: 'GREENLIGHT_PUBLIC_BASE_URL',
    logger: opts.log ? { info: opts.log } : undefined,
    keysFile: opts.keysFile,
  });
}

export interface LocalRuntimeStack extends Omit<LocalStack, 'emulator'> {
  emulator: EmulatorEndpoints & {
    /** The app as the emulator showed it at start-up (ingress names do not change). */
    appView(ref: EmulatorAppRef): AppView | undefined;
  };
}

/**
 * Redis and the local runtime against an ARM emulator that runs in another process (`npm run emulator`):
 * the runtime alone can be stopped and started again (a crash, an upgrade) while the emulator keeps its
 * apps and revisions, so resumed rollouts find what they left. Seeds the apps the emulator lacks.
 */
export async function startLocalRuntimeStack(
  opts: Omit<LocalStackOptions, 'emulator' | 'tcpWorkers'> & { emulatorAt: EmulatorEndpoints },
): Promise<LocalRuntimeStack> {
  const emu = opts.emulatorAt;
  await seedExternal(emu, opts.seed ?? [], opts.log);
  const ca = emu.caFile ? readFileSync(emu.caFile, 'utf8') : undefined;
  const state = await httpsJson('GET', `${emu.url}/_emulator/state`, undefined, ca);
  const apps = state.status === 200 ? (JSON.parse(state.body) as { apps: AppView[] }).apps : [];
  const appView = (ref: EmulatorAppRef): AppView | undefined =>
    apps.find(
      (a) =>
        a.subscriptionId === ref.subscriptionId &&
        a.resourceGroup === ref.resourceGroup &&
        a.name === ref.name,
    );
  const redis = await ensureRedis(opts.redisUrl ?? 'redis://127.0.0.1:6379', opts.log);
  const keyPrefix = opts.keyPrefix ?? `greenlight-local:${randomUUID().slice(0, 8)}:`;
  let runtime: LocalRuntime;
  try {
    runtime = await runApp(opts, redis.url, keyPrefix, emu);
  } catch (e) {
    await redis.stop();
    throw e;
  }
  return {
    http: { baseUrl: runtime.baseUrl, functionKey: runtime.keys.function, systemKey: runtime.keys.system },
    emulator: { ...emu, appView },
    runtime,
    redisUrl: redis.url,
    keyPrefix,
    stop: async () => {
      try {
        await runtime.stop();
      } finally {
        try {
          if (opts.dropStateOnStop) await deleteKeys(redis.url, keyPrefix);
        } finally {
          await redis.stop();
        }
      }
    },
  };
}

/** Creates, through the emulator's own API, each seeded app it does not have yet (409: it has it). */
async function seedExternal(
  emu: EmulatorEndpoints,
  seed: SeedApp[],
  log?: (line: string) => void,
): Promise<void> {
  const ca = emu.caFile ? readFileSync(emu.caFile, 'utf8') : undefined;
  for (const app of seed) {
    const res = await httpsJson('POST', `${emu.url}/_emulator/apps`, [app], ca).catch((e: unknown) => {
      throw new Error(
        `the ARM emulator at ${emu.url} does not answer (${e instanceof Error ? e.message : String(e)}); start it with \`npm run emulator\` and pass its CA file`,
      );
    });
    if (res.status === 201) log?.(`emulator: seeded ${app.resourceGroup}/${app.name}`);
    else if (res.status !== 409) {
      throw new Error(
        `the ARM emulator refused to seed ${app.name}: ${res.status} ${res.body.slice(0, 300)}`,
      );
    }
  }
}

function httpsJson(
  method: 'GET' | 'POST',
  url: string,
  body: unknown,
  ca: string | undefined,
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const req = httpsRequest(
      url,
      {
        method,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        ...(ca ? { ca } : {}),
        timeout: 10_000,
      },
      (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (out += d));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: out }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(text);
  });
}
