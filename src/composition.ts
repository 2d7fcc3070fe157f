import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { createContainerAppsAdapter } from './adapters/containerApps/factory';
import type { ContainerAppsPort } from './adapters/containerApps/port';
import { FetchSmokeProber, type SmokeProber } from './adapters/http/smokeProber';
import { createRedisClient } from './adapters/redis/client';
import { RolloutStore } from './adapters/redis/rolloutStore';
import { loadConfig, type GreenlightConfig } from './config';
import { loadPolicies, type Policy } from './domain/policy';

/** Everything with a side effect, built once per process from validated configuration. */
export interface Services {
  config: GreenlightConfig;
  containerApps: ContainerAppsPort;
  redis: Redis;
  store: RolloutStore;
  smoke: SmokeProber;
  policies(): Promise<Policy[]>;
}

let current: Services | undefined;

/** The composition root: the one place that constructs Azure SDK clients, ioredis and the HTTP client. */
export function services(): Services {
  if (current) return current;
  const config = loadConfig();
  const redis = createRedisClient(config.redis.url);
  const ca = config.arm.caFile ? readFileSync(config.arm.caFile, 'utf8') : undefined;
  let policyCache: Promise<Policy[]> | undefined;
  current = {
    config,
    containerApps: createContainerAppsAdapter({
      endpoint: config.arm.endpoint,
      ca,
      maxRetries: config.arm.maxRetries,
      retryDelayMs: config.arm.retryDelayMs,
      lroPollIntervalMs: config.arm.pollIntervalMs,
      credential: config.arm.credential,
    }),
    redis,
    store: new RolloutStore(redis, config.redis.keyPrefix),
    smoke: new FetchSmokeProber(),
    // Policies are read once per process; a changed policy takes effect on restart (and is validated then).
    policies: () =>
      (policyCache ??= loadPolicies({ path: config.policies.path, inline: config.policies.inline })),
  };
  return current;
}

/** Closes connections (local runtime shutdown and tests). */
export async function disposeServices(): Promise<void> {
  const s = current;
  current = undefined;
  if (s) await s.redis.quit().catch(() => undefined);
}
