import type { ContainerAppsAPIClientOptionalParams } from '@azure/arm-appcontainers';

type PipelinePolicy = NonNullable<
  ContainerAppsAPIClientOptionalParams['additionalPolicies']
>[number]['policy'];
type PipelineResponse = Awaited<ReturnType<PipelinePolicy['sendRequest']>>;

/** ARM's operation types, each with its own bucket (GET reads, DELETE deletes, the rest writes). */
export type ArmOperationType = 'reads' | 'writes' | 'deletes';

export interface ArmBucket {
  /** Tokens when full (the burst ARM allows). */
  size: number;
  /** Tokens ARM adds per second. */
  refillPerSecond: number;
}

export interface ArmPacingOptions {
  /** Default ARM's documented per-principal limits: reads 250 refilled 25/s. */
  reads?: ArmBucket;
  /** Default 200 refilled 10/s. */
  writes?: ArmBucket;
  /** Default 200 refilled 10/s. */
  deletes?: ArmBucket;
  /**
   * Share of each bucket this client allows itself; default 0.9. ARM counts a request when it arrives, the
   * client when it leaves: the margin absorbs that skew and leaves room for other tools on the same principal.
   */
  headroom?: number;
}

export const armDocumentedLimits: Record<ArmOperationType, ArmBucket> = {
  reads: { size: 250, refillPerSecond: 25 },
  writes: { size: 200, refillPerSecond: 10 },
  deletes: { size: 200, refillPerSecond: 10 },
};

export function operationTypeOf(method: string): ArmOperationType {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

/** Milliseconds a response asks to wait (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After`), if any. */
export function retryAfterMs(response: PipelineResponse): number | undefined {
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
 * A token bucket with a queue: a call goes when a token is there at the moment it leaves, in the order callers
 * asked. (Handing out tokens reserved ahead would let calls delayed by a busy event loop leave together and
 * arrive at ARM as one burst its full bucket cannot take.)
 */
class PacedBucket {
  private tokens: number;
  /** Tokens are counted up to this instant; after a 429 it lies in the future (nothing accrues before). */
  private at: number;
  private readonly queue: { go: () => void; stop: (e: unknown) => void }[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly size: number,
    private readonly perMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = size;
    this.at = now();
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.size, this.tokens + (now - this.at) * this.perMs);
    this.at = now;
  }

  private ready(now: number): boolean {
    this.refill(now);
    return now >= this.at && this.tokens >= 1;
  }

  /** Resolves when this call may go: false at once, true after waiting its turn. */
  take(signal?: AbortSignal): Promise<boolean> {
    if (this.queue.length === 0 && this.ready(this.now())) {
      this.tokens -= 1;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve, reject) => {
      const waiter = {
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        },
        stop: (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
      };
      const onAbort = (): void => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        if (this.queue.length === 0 && this.timer) {
          clearTimeout(this.timer);
          this.timer = undefined;
        }
        waiter.stop(signal?.reason ?? new Error('The operation was aborted.'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.drain();
    });
  }

  /** Lets out whoever has a token now, and sets one timer for the next token. */
  private drain(): void {
    if (this.timer) return;
    const now = this.now();
    while (this.queue.length > 0 && this.ready(now)) {
      this.tokens -= 1;
      this.queue.shift()?.go();
    }
    if (this.queue.length === 0) return;
    const wait = Math.max(0, this.at - now) + Math.max(0, 1 - this.tokens) / this.perMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(1, Math.ceil(wait)),
    );
  }

  /** ARM said how many are left: never believe in more than that. */
  cap(remaining: number, now: number): void {
    this.refill(now);
    if (remaining < this.tokens) this.tokens = remaining;
  }

  /** ARM refused: nothing more until `until`. */
  block(until: number, now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.tokens, 0);
    this.at = Math.max(this.at, until);
  }
}

export interface ArmPacingStats {
  /** Requests sent (attempts, retries and long-running operation polls included), by operation type. */
  sent: Record<ArmOperationType, number>;
  /** 429 answers received, by operation type. */
  throttled: Record<ArmOperationType, number>;
  /** Requests that waited for a token, and the longest wait. */
  delayed: number;
  maxDelayMs: number;
}

/**
 * One principal's ARM budget in one subscription, shared by every call of a client: all concurrent rollouts
 * draw from the same buckets, so they slow down together instead of each meeting 429s and retrying alone.
 * The buckets start as ARM documents them, follow what ARM says is left (`x-ms-ratelimit-remaining-*`,
 * including the global buckets shared with other principals), and stop everyone for a 429's `Retry-After`.
 */
export class ArmBudget {
  private readonly buckets: Record<ArmOperationType, PacedBucket>;
  private readonly stats_: ArmPacingStats = {
    sent: { reads: 0, writes: 0, deletes: 0 },
    throttled: { reads: 0, writes: 0, deletes: 0 },
    delayed: 0,
    maxDelayMs: 0,
  };

  constructor(
    options: ArmPacingOptions = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    const headroom = options.headroom ?? 0.9;
    if (!(headroom > 0 && headroom <= 1))
      throw new RangeError(`pacing headroom must be in (0, 1]; got ${headroom}`);
    const make = (type: ArmOperationType): PacedBucket => {
      const spec = options[type] ?? armDocumentedLimits[type];
      if (!(spec.size >= 1) || !(spec.refillPerSecond > 0)) {
        throw new RangeError(
          `pacing ${type} must have size >= 1 and refillPerSecond > 0; got ${JSON.stringify(spec)}`,
        );
      }
      return new PacedBucket(
        Math.max(1, Math.floor(spec.size * headroom)),
        (spec.refillPerSecond * headroom) / 1000,
        this.now,
      );
    };
    this.buckets = { reads: make('reads'), writes: make('writes'), deletes: make('deletes') };
  }

  /** Waits until this request may go (in the order callers asked). */
  async acquire(type: ArmOperationType, signal?: AbortSignal): Promise<void> {
    const t0 = this.now();
    const queued = await this.buckets[type].take(signal);
    this.stats_.sent[type] += 1;
    if (!queued) return;
    const waited = this.now() - t0;
    this.stats_.delayed += 1;
    this.stats_.maxDelayMs = Math.max(this.stats_.maxDelayMs, Math.round(waited));
  }

  /** Learns from an answer: what is left, and a 429's wait. */
  observe(type: ArmOperationType, response: PipelineResponse): void {
    const now = this.now();
    const bucket = this.buckets[type];
    for (const header of [
      `x-ms-ratelimit-remaining-subscription-${type}`,
      `x-ms-ratelimit-remaining-subscription-global-${type}`,
    ]) {
      const value = Number(response.headers.get(header));
      if (response.headers.get(header) !== undefined && Number.isFinite(value)) bucket.cap(value, now);
    }
    if (response.status === 429) {
      this.stats_.throttled[type] += 1;
      bucket.block(now + (retryAfterMs(response) ?? 1000), now);
    }
  }

  stats(): ArmPacingStats {
    return structuredClone(this.stats_);
  }
}

/**
 * The pipeline policy: runs on every attempt (position `perRetry`), so retries and long-running operation
 * polls are paced too.
 */
export function armPacingPolicy(budget: ArmBudget): PipelinePolicy {
  return {
    name: 'greenlightArmPacing',
    async sendRequest(request, next) {
      const type = operationTypeOf(request.method);
      await budget.acquire(type, request.abortSignal as AbortSignal | undefined);
      const response = await next(request);
      budget.observe(type, response);
      return response;
    },
  };
}
