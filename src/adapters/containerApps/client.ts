import { ContainerAppsAPIClient, type ContainerAppsAPIClientOptionalParams } from '@azure/arm-appcontainers';
import type { TokenCredential } from '@azure/identity';
import { ArmBudget, type ArmPacingOptions, armPacingPolicy, retryAfterMs } from './pacing';

type PipelinePolicy = NonNullable<
  ContainerAppsAPIClientOptionalParams['additionalPolicies']
>[number]['policy'];

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
  /**
   * The principal's ARM budget in this subscription, shared by every call of the client (default: ARM's
   * documented buckets, see pacing.ts); a budget to share it with other clients; `false` for none.
   */
  pacing?: ArmPacingOptions | ArmBudget | false;
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
 * Asks for `properties.configuration.targetLabel` in a write. The SDK's model has no `targetLabel` (Labels
 * revision mode's target label), so its serializer drops it: a write that needs it carries this header,
 * and `targetLabelPolicy` moves the value into the JSON body (the header never reaches ARM).
 */
export const targetLabelHeader = 'x-greenlight-target-label';

function targetLabelPolicy(): PipelinePolicy {
  return {
    name: 'greenlightTargetLabel',
    async sendRequest(request, next) {
      const label = request.headers.get(targetLabelHeader);
      if (label === undefined) return next(request);
      request.headers.delete(targetLabelHeader);
      if (typeof request.body === 'string') {
        const body = JSON.parse(request.body) as { properties?: { configuration?: Record<string, unknown> } };
        const properties = (body.properties ??= {});
        (properties.configuration ??= {}).targetLabel = label;
        request.body = JSON.stringify(body);
      }
      return next(request);
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
  const budget =
    opts.pacing === false
      ? undefined
      : opts.pacing instanceof ArmBudget
        ? opts.pacing
        : new ArmBudget(opts.pacing);
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
      { policy: targetLabelPolicy(), position: 'perCall' },
      // Outermost of the two: it sees 429s with the bounded Retry-After.
      ...(budget ? [{ policy: armPacingPolicy(budget), position: 'perRetry' as const }] : []),
      { policy: throttlingBoundsPolicy(opts.maxRetryAfterMs ?? 30_000, retryDelayMs), position: 'perRetry' },
    ],
  });
}
