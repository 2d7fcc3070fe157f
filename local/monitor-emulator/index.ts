import type { AddressInfo } from 'node:net';
import { buildMonitorServer } from './server';
import type { MonitorSource } from './source';

export { generateLoad, type LoadOptions, type LoadReport } from './load';
export type { MonitorSource, MonitoredApp, MonitoredRevision } from './source';

/** The workspace id the Log Analytics emulator answers for unless told otherwise. */
export const defaultWorkspaceId = '11111111-2222-4333-8444-555555555555';

export interface MonitorEmulatorOptions {
  /** HTTPS port; default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The Log Analytics workspace id it answers for; default `defaultWorkspaceId`. */
  workspaceId?: string;
}

/** Where the monitoring emulators listen, and what a client needs to reach them. */
export interface MonitorEndpoints {
  /** Azure Monitor metrics endpoint for `MetricsClient` (regional `https://<region>.metrics.monitor.azure.com` in Azure). */
  metricsUrl: string;
  /** Log Analytics endpoint for `LogsQueryClient`, `/v1` included (`https://api.loganalytics.io/v1` in Azure). */
  logsUrl: string;
  /** Prometheus server address (the base of `/api/v1/query`). */
  prometheusUrl: string;
  workspaceId: string;
  port: number;
  /** PEM of the certificate to trust (the Container Apps emulator's). */
  ca: string;
}

export interface MonitorEmulator extends MonitorEndpoints {
  stop(): Promise<void>;
}

export async function startMonitorEmulator(
  deps: { key: string; cert: string; source: MonitorSource },
  opts: MonitorEmulatorOptions = {},
): Promise<MonitorEmulator> {
  const workspaceId = opts.workspaceId ?? defaultWorkspaceId;
  const server = buildMonitorServer({ ...deps, workspaceIds: [workspaceId] });
  await server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const port = (server.server.address() as AddressInfo).port;
  const base = `https://127.0.0.1:${port}`;
  return {
    metricsUrl: base,
    logsUrl: `${base}/v1`,
    prometheusUrl: base,
    workspaceId,
    port,
    ca: deps.cert,
    stop: () => server.close(),
  };
}
