import { randomUUID } from 'node:crypto';
import type { RedisOptions } from 'ioredis';
import { GreenlightError } from '../domain/errors';

export interface AgentLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface AgentOptions {
  /** Greenlight's app key, `{subscriptionId}/{resourceGroup}/{name}` lower-cased; default env `GREENLIGHT_APP_KEY`. */
  app?: string;
  /** This revision's name; default env `CONTAINER_APP_REVISION` (set by Container Apps). */
  revision?: string;
  /** This replica's name (lease owner); default env `CONTAINER_APP_REPLICA_NAME`, else a random id. */
  replica?: string;
  /** Key prefix shared with Greenlight; default env `GREENLIGHT_REDIS_KEY_PREFIX`, else `greenlight:`. */
  keyPrefix?: string;
  /** Production Redis URL; default the env var named by `prodUrlSetting`. */
  prodUrl?: string;
  /** Temporary Redis URL (mock mode); default the env var named by `tempUrlSetting`. */
  tempUrl?: string;
  /** The policy's `strategy.bindings.prod.urlSetting`; default `PROD_REDIS_URL`. */
  prodUrlSetting?: string;
  /** The policy's `strategy.bindings.temp.urlSetting`; default `TEMP_REDIS_URL`. */
  tempUrlSetting?: string;
  /** Where the env fallbacks are read; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Re-read of the control record, which heals a missed change message; default 1000 ms. */
  rereadIntervalMs?: number;
  /** Lease renewal and report heartbeat; default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** Lease lifetime without renewal; default 5000 ms. A crashed holder blocks its replacement this long. */
  leaseTtlMs?: number;
  /** Report lifetime without heartbeat; default 15000 ms. */
  reportTtlMs?: number;
  /** `false` never takes a lease, so the agent never processes (a replica kept for reading only). */
  holdLease?: boolean;
  /** Added to every connection's ioredis options (TLS, timeouts, retryStrategy). */
  redis?: RedisOptions;
  logger?: AgentLogger;
}

export interface ResolvedAgentOptions {
  app: string;
  revision: string;
  replica: string;
  keyPrefix: string;
  prodUrl: string;
  tempUrl?: string;
  rereadIntervalMs: number;
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  reportTtlMs: number;
  holdLease: boolean;
  redis: RedisOptions;
  logger: AgentLogger;
}

const quiet: AgentLogger = { info: () => undefined, warn: () => undefined };

/** Options with their env fallbacks applied; every missing one is named in a single error. */
export function resolveAgentOptions(options: AgentOptions = {}): ResolvedAgentOptions {
  const env = options.env ?? process.env;
  const prodSetting = options.prodUrlSetting ?? 'PROD_REDIS_URL';
  const tempSetting = options.tempUrlSetting ?? 'TEMP_REDIS_URL';
  const app = options.app ?? env.GREENLIGHT_APP_KEY;
  const revision = options.revision ?? env.CONTAINER_APP_REVISION;
  const prodUrl = options.prodUrl ?? env[prodSetting];
  const tempUrl = options.tempUrl ?? env[tempSetting];
  const problems: string[] = [];
  if (!app)
    problems.push('app: set option app or GREENLIGHT_APP_KEY to {subscriptionId}/{resourceGroup}/{name}');
  if (!revision) problems.push('revision: set option revision or CONTAINER_APP_REVISION');
  if (!prodUrl) problems.push(`prodUrl: set option prodUrl or ${prodSetting} to the production Redis URL`);
  for (const [name, url] of [
    [prodSetting, prodUrl],
    [tempSetting, tempUrl],
  ] as const) {
    if (url && !/^rediss?:\/\//.test(url)) problems.push(`${name}: must be a redis:// or rediss:// URL`);
  }
  const timing = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v <= 0)
      problems.push(`${name}: must be a positive number of milliseconds; got ${v}`);
    return v;
  };
  const resolved: ResolvedAgentOptions = {
    app: (app ?? '').toLowerCase(),
    revision: (revision ?? '').toLowerCase(),
    replica: options.replica ?? env.CONTAINER_APP_REPLICA_NAME ?? randomUUID().slice(0, 12),
    keyPrefix: options.keyPrefix ?? env.GREENLIGHT_REDIS_KEY_PREFIX ?? 'greenlight:',
    prodUrl: prodUrl ?? '',
    ...(tempUrl ? { tempUrl } : {}),
    rereadIntervalMs: timing('rereadIntervalMs', options.rereadIntervalMs, 1000),
    heartbeatIntervalMs: timing('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000),
    leaseTtlMs: timing('leaseTtlMs', options.leaseTtlMs, 5000),
    reportTtlMs: timing('reportTtlMs', options.reportTtlMs, 15000),
    holdLease: options.holdLease ?? true,
    redis: options.redis ?? {},
    logger: options.logger ?? quiet,
  };
  if (resolved.leaseTtlMs <= resolved.heartbeatIntervalMs) {
    problems.push(
      `leaseTtlMs (${resolved.leaseTtlMs}) must be longer than heartbeatIntervalMs (${resolved.heartbeatIntervalMs}), or the lease lapses between renewals`,
    );
  }
  if (problems.length > 0) {
    throw new GreenlightError(
      'InvalidConfiguration',
      `workload agent is misconfigured: ${problems.join('; ')}`,
      {
        problems,
      },
    );
  }
  return resolved;
}
