import type { TokenCredential } from '@azure/identity';
import type { MetricsClient } from '@azure/monitor-query-metrics';
import type { LogsQueryClient } from '@azure/monitor-query-logs';
import { GreenlightError } from '../../domain/errors';
import { type CredentialConfig, createCredential } from '../credentials';
import { AzureMonitorMetricsProvider, createMetricsClient } from './azureMonitorMetrics';
import { HttpJsonProvider } from './httpJson';
import { createLogsClient, LogAnalyticsProvider } from './logAnalytics';
import type { GateProviders } from '../../domain/ports/gates';
import { type PrometheusAuth, PrometheusProvider } from './prometheus';
import { defaultRender, type RenderQuery } from './render';

export interface GateProvidersOptions {
  /** A credential, or how to make one (managed identity in Azure, a static token for the emulators). */
  credential: CredentialConfig | TokenCredential;
  /**
   * Azure Monitor metrics endpoint of the apps' region, `https://<region>.metrics.monitor.azure.com`.
   * Without it, azureMonitorMetrics gates fail with InvalidConfiguration (the other providers work).
   */
  metricsEndpoint?: string;
  /** Log Analytics endpoint; default `https://api.loganalytics.io/v1` (`/v1` is added to a bare host). */
  logsEndpoint?: string;
  /** PEM of a CA to trust, for all four providers (the local emulators' certificate). */
  ca?: string;
  /** Deadline of one measurement call, retries included; default 30 s. */
  timeoutMs?: number;
  /** Retries of the Azure SDK clients for 408, 429, 5xx and connection errors; default 2. */
  maxRetries?: number;
  /** Base of their exponential backoff; default 500 ms. */
  retryDelayMs?: number;
  /** When the prometheus provider sends an Entra ID token; default `auto` (Azure Monitor workspaces only). */
  prometheusAuth?: PrometheusAuth;
  /** Fills `{{revision}}` / `{{app}}` into a gate's texts; default the domain's `renderQuery`. */
  render?: RenderQuery;
}

function isTokenCredential(c: CredentialConfig | TokenCredential): c is TokenCredential {
  return typeof (c as TokenCredential).getToken === 'function';
}

/** Builds `create` once, on first use: a provider nobody's policy uses needs no configuration. */
function lazy<T>(create: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= create());
}

/** The four gate providers on one credential, endpoints and trust settings (the composition root's). */
export function createGateProviders(opts: GateProvidersOptions): GateProviders {
  const credential = isTokenCredential(opts.credential) ? opts.credential : createCredential(opts.credential);
  const render = opts.render ?? defaultRender;
  const transport = {
    ca: opts.ca,
    maxRetries: opts.maxRetries ?? 2,
    retryDelayMs: opts.retryDelayMs ?? 500,
    timeoutMs: opts.timeoutMs ?? 30_000,
  };
  const metricsClient = lazy<MetricsClient>(() => {
    if (!opts.metricsEndpoint) {
      throw new GreenlightError(
        'InvalidConfiguration',
        "azureMonitorMetrics gates need the metrics endpoint of the apps' region, https://<region>.metrics.monitor.azure.com",
      );
    }
    return createMetricsClient({ ...transport, endpoint: opts.metricsEndpoint, credential });
  });
  const logsClient = lazy<LogsQueryClient>(() =>
    createLogsClient({ ...transport, endpoint: opts.logsEndpoint, credential }),
  );
  return {
    azureMonitorMetrics: new AzureMonitorMetricsProvider({ client: metricsClient, render }),
    logAnalytics: new LogAnalyticsProvider({ client: logsClient, render, timeoutMs: transport.timeoutMs }),
    prometheus: new PrometheusProvider({
      render,
      timeoutMs: transport.timeoutMs,
      ca: opts.ca,
      auth: opts.prometheusAuth ?? 'auto',
      credential,
    }),
    httpJson: new HttpJsonProvider({ render, timeoutMs: transport.timeoutMs, ca: opts.ca }),
  };
}
