import { ContainerAppsAPIClient, type ContainerAppsAPIClientOptionalParams } from '@azure/arm-appcontainers';
import type { TokenCredential } from '@azure/identity';

type PipelinePolicy = NonNullable<
  ContainerAppsAPIClientOptionalParams['additionalPolicies']
>[number]['policy'];
type PipelineResponse = Awaited<ReturnType<PipelinePolicy['sendRequest']>>;

export interface ContainerAppsClientOptions {
  credential: TokenCredential;
  subscriptionId: string;
  /** ARM endpoint; default https://management.azure.com. The local emulator's URL in development and tests. */
  endpoint?: string;
  /** PEM of a CA to trust for this client only (the emulator's self-signed certificate). */
  ca?: string;
  /** Retries after the first attempt for 429 (with Retry-After), 408, 5xx and connection errors; default 4. */
  maxRetries?: number;
  /** Base of the exponential backoff for 5xx and connection errors; default 800 ms. */
  retryDelayMs?: number;
  /** Cap of that backoff; default 30 s. */
  maxRetryDelayMs?: number;
  /** Cap on a server's Retry-After, so one answer cannot stall a retry loop for minutes; default 30 s. */
  maxRetryAfterMs?: number;
  /** ARM api-version; default the SDK's. */
  apiVersion?: string;
}

function retryAfterMs(response: PipelineResponse): number | undefined {
  for (const [header, factor] of [
    ['retry-after-ms', 1],
    ['x-ms-retry-after-ms', 1],
    ['retry-after', 1000],
  ] as const) {
    const value = response.headers.get(header);
    if (value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) return n * factor;
    const date = Date.parse(value);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}

/**
 * Runs on every attempt, inside the SDK's retry policy: bounds Retry-After and gives a 429 that lacks one a
 * delay, so the SDK's throttling retry (which only acts on a Retry-After) retries it too, with a bound.
 */
function throttlingBoundsPolicy(maxRetryAfter: number, defaultDelay: number): PipelinePolicy {
  return {
    name: 'greenlightThrottlingBounds',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      const wait = retryAfterMs(response);
      if (wait === undefined && response.status === 429) {
        response.headers.set('retry-after-ms', String(defaultDelay));
      } else if (wait !== undefined && wait > maxRetryAfter) {
        response.headers.set('retry-after-ms', String(maxRetryAfter));
      }
      return response;
    },
  };
}

/**
 * The real `ContainerAppsAPIClient`, with bounded retries and, for the emulator, trust in its certificate.
 * The retry policy is the SDK's own (throttling with Retry-After, then exponential backoff for 408/5xx and
 * ECONNRESET-style errors), bounded by `maxRetries`.
 */
export function createContainerAppsClient(opts: ContainerAppsClientOptions): ContainerAppsAPIClient {
  const retryDelayMs = opts.retryDelayMs ?? 800;
  return new ContainerAppsAPIClient(opts.credential, opts.subscriptionId, {
    ...(opts.endpoint ? { endpoint: opts.endpoint.replace(/\/+$/, '') } : {}),
    ...(opts.apiVersion ? { apiVersion: opts.apiVersion } : {}),
    // One TlsSettings object for the client: the HTTP client caches its agent per settings object.
    ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    retryOptions: {
      maxRetries: opts.maxRetries ?? 4,
      retryDelayInMs: retryDelayMs,
      maxRetryDelayInMs: opts.maxRetryDelayMs ?? 30_000,
    },
    additionalPolicies: [
      { policy: throttlingBoundsPolicy(opts.maxRetryAfterMs ?? 30_000, retryDelayMs), position: 'perRetry' },
    ],
  });
}
