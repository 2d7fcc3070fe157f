import type { AddressInfo } from 'node:net';
import { buildMonitorServer } from './server';
import type { IngestionDelays, MonitorSource } from './source';

export { generateLoad, type LoadOptions, type LoadReport } from './load';
export {
  ingested,
  type IngestionDelays,
  type MonitorSource,
  type MonitoredApp,
  type MonitoredRevision,
} from './source';

/** The workspace id the Log Analytics emulator answers for unless told otherwise. */
export const defaultWorkspaceId = '11111111-2222-4333-8444-555555555555';

export interface MonitorEmulatorOptions {
  /** HTTPS port; default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The Log Analytics workspace id it answers for; default `defaultWorkspaceId`. */
  workspaceId?: string;
  /**
   * How late each API sees a request, as Azure Monitor's ingestion makes it (about 1-2 min for metrics,
   * 20 s-3 min for Log Analytics); default none, every answer visible at once. Gate windows need a lag
   * at least as long to see everything they judge.
   */
  ingestionDelayMs?: IngestionDelays;
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
  const server = buildMonitorServer({
    ...deps,
    workspaceIds: [workspaceId],
    ingestionDelayMs: opts.ingestionDelayMs ?? {},
  });
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
