import type { MetricsClientOptions } from '@azure/monitor-query-metrics';

type PipelinePolicy = NonNullable<MetricsClientOptions['additionalPolicies']>[number]['policy'];

/** Thrown by the deadline policy; providers turn it into a `Timeout` error naming the call. */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

export function isDeadlineExceeded(e: unknown): e is DeadlineExceeded {
  return e instanceof Error && e.name === 'DeadlineExceeded';
}

/**
 * Bounds one SDK call, retries and their waits included: a measurement that hangs would hold the analysis
 * step past its interval. Runs once per call (position perCall), outside the SDK's retry policy.
 */
function deadlinePolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'greenlightDeadline',
    async sendRequest(request, next) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const outer = request.abortSignal;
      const forward = (): void => controller.abort();
      outer?.addEventListener('abort', forward);
      request.abortSignal = controller.signal;
      try {
        return await next(request);
      } catch (e) {
        if (controller.signal.aborted && !outer?.aborted) throw new DeadlineExceeded(timeoutMs);
        throw e;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', forward);
      }
    },
  };
}

export interface SdkTransportOptions {
  /** PEM of a CA to trust for this client only (the emulators' self-signed certificate). */
  ca?: string;
  /** Retries after the first attempt for 408, 429, 5xx and connection errors. */
  maxRetries: number;
  retryDelayMs: number;
  timeoutMs: number;
}

/** Options shared by the Azure Monitor SDK clients: trust, bounded retries, a deadline per call. */
export function sdkClientOptions(
  opts: SdkTransportOptions,
): Pick<MetricsClientOptions, 'tlsOptions' | 'retryOptions' | 'additionalPolicies'> {
  return {
    // One TlsSettings object per client: the HTTP client caches its agent per settings object.
    ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    retryOptions: {
      maxRetries: opts.maxRetries,
      retryDelayInMs: opts.retryDelayMs,
      maxRetryDelayInMs: 10_000,
    },
    additionalPolicies: [{ policy: deadlinePolicy(opts.timeoutMs), position: 'perCall' }],
  };
}
