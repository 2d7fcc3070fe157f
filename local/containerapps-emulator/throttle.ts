import { createHash } from 'node:crypto';

/**
 * ARM's subscription throttling as documented ("Request limits and throttling", regional token buckets since
 * 2024): one bucket per subscription, security principal and operation type (reads 250 refilled 25/s, writes
 * 200 refilled 10/s, deletes 200 refilled 10/s), plus a global bucket per subscription and operation type,
 * 15 times as large, shared by every principal. A request is refused when either bucket is empty; a refused
 * request takes no token. Every answer carries what is left in both.
 */
export type ArmOperationType = 'reads' | 'writes' | 'deletes';

export interface TokenBucketSpec {
  /** Tokens when full (the burst). */
  size: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export interface ThrottlingLimits {
  reads: TokenBucketSpec;
  writes: TokenBucketSpec;
  deletes: TokenBucketSpec;
  /** The global (all principals) bucket is this many times the per-principal one; ARM: 15. */
  globalMultiplier: number;
}

export type ThrottlingOptions = Partial<Omit<ThrottlingLimits, 'globalMultiplier'>> & {
  globalMultiplier?: number;
};

export const armThrottlingLimits: ThrottlingLimits = {
  reads: { size: 250, refillPerSecond: 25 },
  writes: { size: 200, refillPerSecond: 10 },
  deletes: { size: 200, refillPerSecond: 10 },
  globalMultiplier: 15,
};

/** GET/HEAD read, DELETE deletes, anything else (PUT, PATCH, POST actions) writes. */
export function operationType(method: string): ArmOperationType {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

/**
 * Who is calling: a JWT's object id (or app id, or subject), as ARM keys its buckets by principal; any other
 * bearer token (the emulator takes any) is its own principal, named by a hash.
 */
export function principalOf(authorization: string | undefined): string {
  const token = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1] ?? '';
  const parts = token.split('.');
  if (parts.length === 3 && parts[1]) {
    try {
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const id = claims.oid ?? claims.appid ?? claims.sub;
      if (typeof id === 'string' && id !== '') return id;
    } catch {
      // Not a JWT after all: fall through to the hash.
    }
  }
  return `token-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly spec: TokenBucketSpec,
    now: number,
  ) {
    this.tokens = spec.size;
    this.at = now;
  }

  /** Tokens now (fractional). */
  level(now: number): number {
    if (now > this.at) {
      this.tokens = Math.min(
        this.spec.size,
        this.tokens + ((now - this.at) / 1000) * this.spec.refillPerSecond,
      );
      this.at = now;
    }
    return this.tokens;
  }

  take(): void {
    this.tokens -= 1;
  }

  /** Milliseconds until one whole token is there. */
  msUntilToken(now: number): number {
    const missing = 1 - this.level(now);
    return missing <= 0 ? 0 : (missing / this.spec.refillPerSecond) * 1000;
  }
}

export interface ThrottleDecision {
  allowed: boolean;
  /** `x-ms-ratelimit-remaining-subscription-*` and their `-global-` twins; `Retry-After` when refused. */
  headers: Record<string, string>;
  /** When refused: the error ARM answers with. */
  refusal?: { code: string; message: string };
}

export interface ThrottlingStats {
  limits: ThrottlingLimits;
  /** Requests let through, by operation type. */
  allowed: Record<ArmOperationType, number>;
  /** Requests answered 429, by operation type. */
  throttled: Record<ArmOperationType, number>;
}

const zero = (): Record<ArmOperationType, number> => ({ reads: 0, writes: 0, deletes: 0 });

export function throttlingLimits(options: ThrottlingOptions = {}): ThrottlingLimits {
  return {
    reads: options.reads ?? armThrottlingLimits.reads,
    writes: options.writes ?? armThrottlingLimits.writes,
    deletes: options.deletes ?? armThrottlingLimits.deletes,
    globalMultiplier: options.globalMultiplier ?? armThrottlingLimits.globalMultiplier,
  };
}

/** Problems with limits given to the emulator (admin endpoint, options), or an empty list. */
export function throttlingOptionsProblems(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return ['throttling must be a JSON object'];
  const o = input as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(o)) {
    if (!['reads', 'writes', 'deletes', 'globalMultiplier'].includes(key))
      problems.push(`${key} is not a throttling setting (reads, writes, deletes, globalMultiplier)`);
  }
  for (const type of ['reads', 'writes', 'deletes'] as const) {
    const b = o[type];
    if (b === undefined) continue;
    if (typeof b !== 'object' || b === null) {
      problems.push(`${type} must be {size, refillPerSecond}; got ${JSON.stringify(b)}`);
      continue;
    }
    const spec = b as Partial<TokenBucketSpec>;
    if (!Number.isInteger(spec.size) || (spec.size as number) < 1)
      problems.push(`${type}.size must be a whole number >= 1; got ${JSON.stringify(spec.size)}`);
    if (typeof spec.refillPerSecond !== 'number' || !(spec.refillPerSecond > 0))
      problems.push(
        `${type}.refillPerSecond must be a number > 0; got ${JSON.stringify(spec.refillPerSecond)}`,
      );
  }
  const g = o.globalMultiplier;
  if (g !== undefined && (typeof g !== 'number' || !(g >= 1)))
    problems.push(`globalMultiplier must be a number >= 1; got ${JSON.stringify(g)}`);
  return problems;
}

/** The buckets of one emulator. Time is real (performance.now): ARM's refill does not follow virtual clocks. */
export class ArmThrottle {
  private limits: ThrottlingLimits;
  private readonly buckets = new Map<string, TokenBucket>();
  private allowed = zero();
  private throttled = zero();

  constructor(
    options: ThrottlingOptions = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limits = throttlingLimits(options);
  }

  /** New limits; every bucket starts full again. */
  configure(options: ThrottlingOptions): void {
    this.limits = throttlingLimits(options);
    this.buckets.clear();
  }

  stats(): ThrottlingStats {
    return {
      limits: structuredClone(this.limits),
      allowed: { ...this.allowed },
      throttled: { ...this.throttled },
    };
  }

  resetStats(): void {
    this.allowed = zero();
    this.throttled = zero();
  }

  private bucket(key: string, spec: TokenBucketSpec, now: number): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(spec, now);
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Takes a token for one request of `principal` in `subscriptionId`, or says why not and when to retry. */
  take(subscriptionId: string, principal: string, method: string): ThrottleDecision {
    const type = operationType(method);
    const spec = this.limits[type];
    const globalSpec = {
      size: spec.size * this.limits.globalMultiplier,
      refillPerSecond: spec.refillPerSecond * this.limits.globalMultiplier,
    };
    const now = this.now();
    const sub = subscriptionId.toLowerCase();
    const own = this.bucket(`${sub}\u0000${principal}\u0000${type}`, spec, now);
    const global = this.bucket(`${sub}\u0000*\u0000${type}`, globalSpec, now);
    const wait = Math.max(own.msUntilToken(now), global.msUntilToken(now));
    const allowed = wait === 0;
    if (allowed) {
      own.take();
      global.take();
      this.allowed[type] += 1;
    } else {
      this.throttled[type] += 1;
    }
    const headers: Record<string, string> = {
      [`x-ms-ratelimit-remaining-subscription-${type}`]: String(Math.max(0, Math.floor(own.level(now)))),
      [`x-ms-ratelimit-remaining-subscription-global-${type}`]: String(
        Math.max(0, Math.floor(global.level(now))),
      ),
    };
    if (allowed) return { allowed, headers };
    // ARM's Retry-After is whole seconds: the time until the emptier bucket has a token, rounded up.
    headers['Retry-After'] = String(Math.max(1, Math.ceil(wait / 1000)));
    const op = type === 'reads' ? 'read' : type === 'writes' ? 'write' : 'delete';
    return {
      allowed,
      headers,
      refusal: {
        code: 'SubscriptionRequestsThrottled',
        message: `Number of '${op}' requests for subscription '${subscriptionId}' actor '${principal}' exceeded. Please try again after '${headers['Retry-After']}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
      },
    };
  }
}
