import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from './clock';
import {
  startContainerAppsEmulator,
  type ContainerAppsEmulator,
  type ContainerAppsEmulatorOptions,
  type SeedApp,
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
  const settings: Record<string, string> = {
    ...(opts.policies ? { GREENLIGHT_POLICIES: JSON.stringify(opts.policies) } : {}),
    ...(opts.policiesPath ? { GREENLIGHT_POLICIES_PATH: resolve(opts.policiesPath) } : {}),
    GREENLIGHT_REDIS_URL: redis.url,
    GREENLIGHT_REDIS_KEY_PREFIX: `${keyPrefix}app:`,
    GREENLIGHT_APPROVAL_SIGNING_KEY: randomBytes(32).toString('base64'),
    GREENLIGHT_ARM_ENDPOINT: emulator.url,
    ...(emulator.caFile ? { GREENLIGHT_ARM_CA_FILE: emulator.caFile } : {}),
    GREENLIGHT_ARM_MAX_RETRIES: '4',
    GREENLIGHT_ARM_RETRY_DELAY_MS: '50',
    GREENLIGHT_ARM_POLL_INTERVAL_MS: '25',
    GREENLIGHT_CREDENTIAL: 'static',
    GREENLIGHT_STATIC_TOKEN: 'local-emulator-token',
    GREENLIGHT_REVISION_URL_SCHEME: 'http',
    // Gate providers read the emulator's monitoring APIs, which serve the same certificate.
    GREENLIGHT_MONITOR_METRICS_ENDPOINT: emulator.monitor.metricsUrl,
    GREENLIGHT_MONITOR_LOGS_ENDPOINT: emulator.monitor.logsUrl,
    ...(emulator.caFile ? { GREENLIGHT_MONITOR_CA_FILE: emulator.caFile } : {}),
    ...(tcp ? { [tcpWorkerRedisSettings.prod]: redis.url, [tcpWorkerRedisSettings.temp]: redis.url } : {}),
    ...opts.env,
  };
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
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
