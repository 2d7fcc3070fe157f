/** What one POST to a notification channel answered. */
export interface WebhookResponse {
  status: number;
  /** The `Retry-After` header as sent (seconds or an HTTP date), if any. */
  retryAfter?: string;
  /** The first few hundred characters of the body, for the failure reason. */
  bodyPrefix: string;
}

/** Sends one request; rejects on network errors and timeouts, resolves with any HTTP answer. */
export interface WebhookPoster {
  post(request: {
    url: string;
    headers: Record<string, string>;
    body: string;
    timeoutMs: number;
  }): Promise<WebhookResponse>;
}

/** What became of one notification on one channel; safe to show: it names the channel, never its URL. */
export interface DeliveryOutcome {
  /** The channel's name from the policy (default `${kind}:${urlSetting}`). */
  channel: string;
  kind: 'teams' | 'slack' | 'webhook';
  eventId: string;
  event: string;
  /** `skipped`: not sent now, because another delivery of it is in flight or the channel is not configured. */
  status: 'delivered' | 'failed' | 'skipped';
  attempts: number;
  /** Why it failed or was skipped; for a delivery recorded earlier, says so. */
  reason?: string;
  /** The last HTTP status the channel answered. */
  httpStatus?: number;
  /** Whether detail was cut to fit the channel's size limit. */
  truncated: boolean;
  /** True when an earlier run delivered it and this run sent nothing (a replay or activity retry). */
  replayed?: boolean;
  durationMs: number;
  /** When the outcome was settled, RFC 3339. */
  at: string;
}

export type LedgerClaim =
  { state: 'claimed' } | { state: 'delivered'; outcome: DeliveryOutcome } | { state: 'inFlight' };

/**
 * Remembers deliveries by idempotency key (rollout, event, channel) so a replayed or retried activity
 * does not send again. A claim expires by itself, so a crashed sender never blocks a later try for long.
 */
export interface DeliveryLedger {
  claim(key: string, holdMs: number): Promise<LedgerClaim>;
  /** Records a delivery for `keepMs`; later claims of the key return it. */
  delivered(key: string, outcome: DeliveryOutcome, keepMs: number): Promise<void>;
  /** Gives the key up after a failure, so a later try may send. */
  release(key: string): Promise<void>;
}

/** Spaces requests to one channel across every process: at most `perSecond` in any one second. */
export interface ChannelRateLimiter {
  /**
   * Takes a slot for the channel, waiting as needed; resolves `false` when none frees up within
   * `maxWaitMs` (the request is then not sent).
   */
  acquire(channel: string, perSecond: number, maxWaitMs: number): Promise<boolean>;
}

/** Reads app settings (environment variables; Key Vault references resolved by the platform). */
export interface SettingsReader {
  get(name: string): string | undefined;
}

export interface NotifyClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1), for backoff jitter. */
  random(): number;
}

/** Everything a delivery reaches outside the process through. */
export interface NotifyPorts {
  poster: WebhookPoster;
  ledger: DeliveryLedger;
  rateLimiter: ChannelRateLimiter;
  settings: SettingsReader;
  clock: NotifyClock;
  /** One line per delivery; never given a URL, secret or link. */
  log?: (line: string) => void;
  /**
   * The dashboard page of what an event is about, when this app knows its public address: the orchestration
   * cannot (it reads no settings), so the delivery adds the link.
   */
  dashboardLink?: (event: { id: string; rolloutId: string }) => string | undefined;
}
