import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { type Clock, systemClock } from '../clock';
import { makeCertificate } from '../certificate';
import { FaultInjector } from './faults';
import { type ArmRequestLogEntry, buildServer } from './server';
import { ArmThrottle, type ThrottlingOptions, type ThrottlingStats } from './throttle';
import {
  type AppView,
  ContainerAppsStore,
  type EmulatorAppRef,
  type ResolvedTraffic,
  type SeedApp,
  type TrafficChange,
} from './store';
import { appKey } from '../../src/domain/flag/control';
import { TcpWorkloads, type TcpWorkloadSettings } from '../workloads/tcp/host';
import type { TcpFrameSource } from '../workloads/tcp/source';
import type { TcpWorker } from '../workloads/tcp/worker';
import type { RequestCounters } from '../workloads/http';
import {
  type MonitorEmulatorOptions,
  type MonitorEndpoints,
  startMonitorEmulator,
} from '../monitor-emulator';

export type { ArmRequestLogEntry } from './server';
export type { AppView, EmulatorAppRef, ResolvedTraffic, RevisionView, SeedApp, TrafficChange } from './store';
export type { FaultSpec, ActiveFault } from './faults';
export { FaultInjector } from './faults';
export {
  armThrottlingLimits,
  type ThrottlingLimits,
  type ThrottlingOptions,
  type ThrottlingStats,
} from './throttle';
export type { RequestCounters } from '../workloads/http';
export type { TcpWorkloadSpec } from '../workloads/tcp/host';
export { TcpFrameSource } from '../workloads/tcp/source';
export { TcpWorker } from '../workloads/tcp/worker';
export { measureFlip } from '../workloads/tcp/measure';
export { knownStableApiVersions } from './apiVersion';
export { parseSeedApps, readSeedFile } from './seed';
export { defaultWorkspaceId, generateLoad, type LoadOptions, type LoadReport } from '../monitor-emulator';
export type { MonitorEmulatorOptions, MonitorEndpoints } from '../monitor-emulator';

export interface ContainerAppsEmulatorOptions {
  /** HTTPS port; default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Time source for revision provisioning (share the local runtime's virtual clock in tests). */
  clock?: Clock;
  /** How long a new or reactivated revision stays Provisioning; default 200 ms of the clock. */
  provisioningDelayMs?: number;
  /** How long a PUT/PATCH operation stays InProgress, in real time; default 20 ms. */
  lroDurationMs?: number;
  /** Real-time wait of a request that wakes a revision scaled to zero (minReplicas 0); default 1000 ms. */
  coldStartMs?: number;
  /** Extra latency of `slow`-tagged images; default 300 ms. */
  slowLatencyMs?: number;
  /** Share of 5xx answers of `err5`/`errors`-tagged images; default 0.3. */
  errorShare?: number;
  /** Seed for weighted routing on app endpoints; default 1. */
  randomSeed?: number;
  /**
   * ARM answers carry ACA-shaped FQDNs under this domain (apps, revisions, `.internal.` for internal
   * ingress), reached through `probeEndpoint` only; unset: each endpoint's local `127.0.0.1:<port>`.
   */
  environmentDomain?: string;
  /** Port of the environment gateway (`probeEndpoint`); default any free one. */
  gatewayPort?: number;
  seed?: SeedApp[];
  /**
   * Redis for TCP-worker apps (seed `workload: {kind: 'tcp'}`): their revisions get these URLs as
   * `PROD_REDIS_URL` / `TEMP_REDIS_URL`, and the control plane lives on `prodUrl` under `keyPrefix`
   * (default `greenlight:`, Greenlight's own default).
   */
  redis?: TcpWorkloadSettings['redis'];
  /** TCP workers: default frame interval of the sources the emulator starts, agent timings and logger. */
  tcp?: Omit<TcpWorkloadSettings, 'redis'>;
  /**
   * ARM's subscription throttling: token buckets per subscription and principal, and global ones (default
   * ARM's documented limits: reads 250 refilled 25/s, writes and deletes 200 refilled 10/s, global 15 times
   * that); `false` turns it off.
   */
  throttling?: ThrottlingOptions | false;
  /** `Retry-After` seconds on accepted writes and InProgress operation polls; default none (pollers choose). */
  operationRetryAfterSeconds?: number;
  /** Also write the CA certificate (PEM) to this file. */
  caFile?: string;
  /** The monitoring emulators (metrics, Log Analytics, Prometheus) on their own HTTPS port. */
  monitor?: MonitorEmulatorOptions;
  logger?: { info(message: string): void };
}

export interface ContainerAppsEmulator {
  /** `https://127.0.0.1:<port>`: the ARM endpoint to give the SDK client. */
  url: string;
  port: number;
  /** PEM of the certificate to trust. */
  ca: string;
  /**
   * The environment gateway as a `guardrails.probeEndpoint` template, `http://127.0.0.1:<port>/{fqdn}`:
   * reaches any app, revision or label host (internal ones too) as a caller inside the environment.
   */
  probeEndpoint: string;
  caFile?: string;
  faults: FaultInjector;
  /**
   * Azure Monitor metrics, Log Analytics and Prometheus over the revisions' real requests, on one HTTPS
   * port with the same certificate (see local/containerapps-emulator/README.md).
   */
  monitor: MonitorEndpoints;
  seedApp(app: SeedApp): Promise<AppView>;
  /** The app as ARM's GET returns it, or undefined. */
  getApp(ref: EmulatorAppRef): Record<string, unknown> | undefined;
  /** The revisions as ARM's list returns them. */
  getRevisions(ref: EmulatorAppRef): Record<string, unknown>[];
  /** The emulator's own view of an app: statuses, traffic as stored and as routed, counters. */
  appView(ref: EmulatorAppRef): AppView | undefined;
  /** Where requests go now (`latestRevision: true` resolved). */
  traffic(ref: EmulatorAppRef): ResolvedTraffic[];
  revisionCounters(ref: EmulatorAppRef, revisionName: string): RequestCounters | undefined;
  /** The app's traffic after every accepted write, oldest first (where requests went over time). */
  trafficHistory(ref: EmulatorAppRef): TrafficChange[];
  /**
   * Every traffic write the app received, accepted or refused, oldest first: invariant checks read these,
   * so a write the emulator refused (weights not summing to 100, weight on an inactive revision) still fails.
   */
  trafficWrites(ref: EmulatorAppRef): TrafficChange[];
  /** Makes a running revision report Unhealthy (or healthy again), as a revision that goes bad later. */
  setRevisionHealth(ref: EmulatorAppRef, revisionName: string, health: 'Healthy' | 'Unhealthy'): void;
  /** The TCP source the emulator started for a TCP-worker app (pause, play, `emitted`). */
  tcpSource(ref: EmulatorAppRef): TcpFrameSource | undefined;
  /** The TCP worker a running revision of a TCP-worker app runs (its `agent` shows mode and report). */
  tcpWorker(ref: EmulatorAppRef, revisionName: string): TcpWorker | undefined;
  state(): { apps: AppView[] };
  /** The token buckets' limits and counts (requests let through and answered 429); undefined when off. */
  throttling(): ThrottlingStats | undefined;
  /** New limits (buckets start full) and zeroed counts; no-op when throttling is off. */
  configureThrottling(options: ThrottlingOptions): void;
  /** ARM requests received so far (admin requests excluded). */
  readonly requestLog: readonly ArmRequestLogEntry[];
  resetRequestLog(): void;
  stop(): Promise<void>;
}

/** Small seeded PRNG (mulberry32): routing decisions repeat from run to run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startContainerAppsEmulator(
  opts: ContainerAppsEmulatorOptions = {},
): Promise<ContainerAppsEmulator> {
  const { key, cert } = await makeCertificate();
  const faults = new FaultInjector();
  const tcp = opts.redis ? new TcpWorkloads({ ...opts.tcp, redis: opts.redis }) : undefined;
  const store = new ContainerAppsStore({
    clock: opts.clock ?? systemClock,
    provisioningDelayMs: opts.provisioningDelayMs ?? 200,
    lroDurationMs: opts.lroDurationMs ?? 20,
    workload: { slowLatencyMs: opts.slowLatencyMs ?? 300, errorShare: opts.errorShare ?? 0.3 },
    faults,
    random: seededRandom(opts.randomSeed ?? 1),
    ...(tcp ? { tcp } : {}),
    ...(opts.coldStartMs !== undefined ? { coldStartMs: opts.coldStartMs } : {}),
    ...(opts.environmentDomain ? { environmentDomain: opts.environmentDomain } : {}),
  });
  const requestLog: ArmRequestLogEntry[] = [];
  const throttle = opts.throttling === false ? undefined : new ArmThrottle(opts.throttling ?? {});
  const server = buildServer({
    ...(throttle ? { throttle } : {}),
    ...(opts.operationRetryAfterSeconds !== undefined
      ? { operationRetryAfterSeconds: opts.operationRetryAfterSeconds }
      : {}),
    key,
    cert,
    ca: cert,
    store,
    faults,
    requestLog,
    resetRequestLog: () => void requestLog.splice(0),
  });
  for (const app of opts.seed ?? []) await store.seed(app);
  let probeEndpoint: string;
  try {
    probeEndpoint = await store.startGateway(opts.gatewayPort);
  } catch (e) {
    await store.stop();
    throw e;
  }
  await server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const port = (server.server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  let monitor: Awaited<ReturnType<typeof startMonitorEmulator>>;
  try {
    monitor = await startMonitorEmulator(
      { key, cert, source: { apps: () => store.monitored() } },
      { host: opts.host, ...opts.monitor },
    );
  } catch (e) {
    await server.close();
    await store.stop();
    throw e;
  }
  if (opts.caFile) {
    await mkdir(dirname(opts.caFile), { recursive: true });
    await writeFile(opts.caFile, cert);
  }
  opts.logger?.info(`Container Apps emulator listening on ${url}`);
  opts.logger?.info(`Monitoring emulators listening on ${monitor.metricsUrl}`);

  let stopped = false;
  return {
    url,
    port,
    ca: cert,
    probeEndpoint,
    ...(opts.caFile ? { caFile: opts.caFile } : {}),
    faults,
    monitor: {
      metricsUrl: monitor.metricsUrl,
      logsUrl: monitor.logsUrl,
      prometheusUrl: monitor.prometheusUrl,
      workspaceId: monitor.workspaceId,
      port: monitor.port,
      ca: monitor.ca,
    },
    seedApp: async (app) => store.view(await store.seed(app)),
    getApp: (ref) => {
      const app = store.find(ref);
      return app ? store.appJson(app) : undefined;
    },
    getRevisions: (ref) => {
      const app = store.find(ref);
      return app ? app.revisions.map((r) => store.revisionJson(app, r)) : [];
    },
    appView: (ref) => {
      const app = store.find(ref);
      return app ? store.view(app) : undefined;
    },
    traffic: (ref) => {
      const app = store.find(ref);
      return app ? store.effectiveTraffic(app) : [];
    },
    revisionCounters: (ref, revisionName) => {
      const app = store.find(ref);
      const rev = app ? store.revision(app, revisionName) : undefined;
      return rev ? structuredClone(rev.counters) : undefined;
    },
    trafficHistory: (ref) => store.trafficHistory(ref),
    trafficWrites: (ref) => store.trafficWrites(ref),
    setRevisionHealth: (ref, revisionName, health) => store.setRevisionHealth(ref, revisionName, health),
    tcpSource: (ref) => tcp?.source(appKey(ref)),
    tcpWorker: (ref, revisionName) => tcp?.worker(appKey(ref), revisionName.toLowerCase()),
    state: () => ({ apps: store.all().map((a) => store.view(a)) }),
    throttling: () => throttle?.stats(),
    configureThrottling: (options) => {
      throttle?.configure(options);
      throttle?.resetStats();
    },
    get requestLog() {
      return requestLog;
    },
    resetRequestLog: () => void requestLog.splice(0),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        await Promise.all([server.close(), monitor.stop()]);
        await store.stop();
      } finally {
        // The certificate dies with this process: leave no file behind that trusts it.
        if (opts.caFile) await rm(opts.caFile, { force: true });
      }
    },
  };
}
