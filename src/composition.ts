import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { createContainerAppsAdapter } from './adapters/containerApps/factory';
import { FetchSmokeProber } from './adapters/http/smokeProber';
import { createRedisClient } from './adapters/redis/client';
import { RedisAuditLog } from './adapters/redis/auditLog';
import { RedisEmergencyStopStore } from './adapters/redis/emergencyStops';
import { RolloutStore } from './adapters/redis/rolloutStore';
import { loadConfig, type GreenlightConfig } from './config';
import { createGateProviders } from './adapters/gates/factory';
import { RedisControlPlane } from './adapters/flags/redisControlPlane';
import { RedisMockOutputs } from './adapters/flags/redisMockOutputs';
import { createNotifyPorts } from './adapters/notify';
import { parseGlobalChangeControl, type ChangeControlRules } from './domain/changeControl';
import { GreenlightError } from './domain/errors';
import { loadPolicySet, type Policy, type PolicySet } from './domain/policy';
import type { ReleasePolicy } from './domain/release/types';
import type {
  AuditLog,
  ContainerAppsPort,
  EmergencyStopStore,
  FlagControlPlane,
  GateProviders,
  MockOutputs,
  RolloutPorts,
  SmokeProber,
} from './domain/ports';
import type { FlagStrategyPlan } from './domain/rollout/types';
import { createApprovalLinks } from './services/approvals';

/** Everything with a side effect, built once per process from validated configuration. */
export interface Services {
  config: GreenlightConfig;
  containerApps: ContainerAppsPort;
  redis: Redis;
  store: RolloutStore;
  /** The audit trail (append-only, bounded per app). */
  audit: AuditLog;
  smoke: SmokeProber;
  policies(): Promise<Policy[]>;
  /** The coordinated releases (`kind: Release` documents), loaded and validated with the app policies. */
  releases(): Promise<ReleasePolicy[]>;
  /** Global deploy windows and freezes (GREENLIGHT_CHANGE_CONTROL[_PATH]), checked when the process starts. */
  changeControl?: ChangeControlRules;
  emergencyStops: EmergencyStopStore;
  /** The flag strategy's control plane (on the production Redis) and mock outputs (on the temporary one). */
  flags(strategy: FlagStrategyPlan): { control: FlagControlPlane; mock: MockOutputs };
  /** Analysis gate providers (Azure Monitor metrics and logs, Prometheus, HTTP JSON), built on first use. */
  gateProviders(): GateProviders;
  /** Workload Redis clients opened so far, closed on dispose. */
  closers(): Redis[];
}

/** A Redis URL named by a policy: Greenlight reads the same app setting the workload does. */
function redisUrlFrom(setting: string, role: string): string {
  const url = process.env[setting];
  if (!url || !/^rediss?:\/\//.test(url)) {
    throw new GreenlightError(
      'InvalidConfiguration',
      `app setting ${setting} (the policy's ${role} Redis binding) ${url ? 'is not a redis:// or rediss:// URL' : 'is not set on Greenlight'}; set it to the same connection the workload uses (a Key Vault reference in Azure)`,
      { setting },
    );
  }
  return url;
}

let current: Services | undefined;

/** The composition root: the one place that constructs Azure SDK clients, ioredis and the HTTP client. */
export function services(): Services {
  if (current) return current;
  const config = loadConfig();
  const redis = createRedisClient(config.redis.url);
  const ca = config.arm.caFile ? readFileSync(config.arm.caFile, 'utf8') : undefined;
  let policyCache: Promise<PolicySet> | undefined;
  const policySet = () =>
    (policyCache ??= loadPolicySet({ path: config.policies.path, inline: config.policies.inline }));
  // Workload Redis connections, shared by every rollout that names the same URL.
  const workloadRedis = new Map<string, Redis>();
  const redisFor = (url: string): Redis => {
    let client = workloadRedis.get(url);
    if (!client) workloadRedis.set(url, (client = createRedisClient(url)));
    return client;
  };
  let gateProviders: GateProviders | undefined;
  const changeControl = globalChangeControl(config.changeControl);
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
    audit: new RedisAuditLog(redis, config.redis.keyPrefix, config.audit),
    smoke: new FetchSmokeProber(),
    ...(changeControl ? { changeControl } : {}),
    emergencyStops: new RedisEmergencyStopStore(redis, config.redis.keyPrefix),
    // Policies are read once per process; a changed policy takes effect on restart (and is validated then).
    policies: () => policySet().then((set) => set.policies),
    releases: () => policySet().then((set) => set.releases),
    flags: (strategy) => ({
      control: new RedisControlPlane(
        redisFor(redisUrlFrom(strategy.prodUrlSetting, 'prod')),
        strategy.keyPrefix,
      ),
      mock: new RedisMockOutputs(redisFor(redisUrlFrom(strategy.tempUrlSetting, 'temp')), strategy.keyPrefix),
    }),
    closers: () => [...workloadRedis.values()],
    gateProviders: () =>
      (gateProviders ??= createGateProviders({
        credential: config.arm.credential,
        metricsEndpoint: config.monitor.metricsEndpoint,
        logsEndpoint: config.monitor.logsEndpoint,
        ca: config.monitor.caFile ? readFileSync(config.monitor.caFile, 'utf8') : undefined,
      })),
  };
  return current;
}

/** The global change-control rules, read once; a bad document stops the start with every problem. */
function globalChangeControl(where: { path?: string; inline?: string }): ChangeControlRules | undefined {
  if (where.path) return parseGlobalChangeControl(readFileSync(where.path, 'utf8'), where.path);
  if (where.inline) return parseGlobalChangeControl(where.inline, 'GREENLIGHT_CHANGE_CONTROL');
  return undefined;
}

let ports: RolloutPorts | undefined;

/** What the activities are built from: the same clients as `services()`, seen through the domain's ports. */
export function rolloutPorts(): RolloutPorts {
  if (ports) return ports;
  const s = services();
  const { approval } = s.config;
  ports = {
    containerApps: s.containerApps,
    flags: (strategy) => s.flags(strategy),
    gateProviders: () => s.gateProviders(),
    smoke: s.smoke,
    revisionUrlScheme: s.config.revisionUrlScheme,
    approvalLinks: {
      create: (rolloutId, expiresAt) => {
        if (!approval.publicBaseUrl) {
          throw new GreenlightError(
            'InvalidConfiguration',
            'cannot build an approval link: set GREENLIGHT_PUBLIC_BASE_URL (or run where WEBSITE_HOSTNAME is set)',
          );
        }
        return createApprovalLinks(approval.publicBaseUrl, approval.signingKey, rolloutId, expiresAt);
      },
    },
    slots: s.store,
    emergencyStops: s.emergencyStops,
    audit: s.audit,
    // Delivery log lines name the channel and event only, never a URL or secret.
    notify: {
      ...createNotifyPorts({
        redis: s.redis,
        keyPrefix: s.config.redis.keyPrefix,
        log: (line) => console.info(line),
      }),
      dashboardLink: (event) => dashboardLink(approval.publicBaseUrl, event),
    },
    now: () => new Date(),
  };
  return ports;
}

/** A rollout's dashboard page; a release (its events' ids say so) has the list, which shows its members. */
export function dashboardLink(
  base: string | undefined,
  event: { id: string; rolloutId: string },
): string | undefined {
  if (!base) return undefined;
  if (event.id.startsWith('release:')) return `${base}/api/dashboard`;
  return `${base}/api/dashboard/rollouts/${encodeURIComponent(event.rolloutId)}`;
}

/** Closes connections (local runtime shutdown and tests). */
export async function disposeServices(): Promise<void> {
  const s = current;
  current = undefined;
  ports = undefined;
  if (!s) return;
  await Promise.all([s.redis, ...s.closers()].map((r) => r.quit().catch(() => undefined)));
}
