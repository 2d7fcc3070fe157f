import type {
  DeliveryLedger,
  DeliveryOutcome,
  LedgerClaim,
  NotifyPorts,
  WebhookResponse,
} from '../../../src/domain/ports/notify';

/** One request a channel received. */
export interface ReceivedPost {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Notification ports in memory: receivers by URL (answering 200, or down), a delivery ledger, no rate
 * limit, and a clock of its own where sleeping advances time at once, so backoff is counted, not waited.
 */
export class FakeNotify {
  readonly received: ReceivedPost[] = [];
  /** URLs whose receiver is down (every request fails like a refused connection). */
  readonly down = new Set<string>();
  readonly settings = new Map<string, string>();
  private readonly ledger = new Map<string, 'inFlight' | DeliveryOutcome>();
  private time = 0;

  constructor(private readonly now: () => number) {}

  /** The events (CloudEvents `type` suffix or parsed body) delivered to one URL, in order. */
  bodiesTo(url: string): unknown[] {
    return this.received.filter((p) => p.url === url).map((p) => JSON.parse(p.body) as unknown);
  }

  ports(): NotifyPorts {
    const ledger: DeliveryLedger = {
      claim: async (key): Promise<LedgerClaim> => {
        const v = this.ledger.get(key);
        if (v === undefined) {
          this.ledger.set(key, 'inFlight');
          return { state: 'claimed' };
        }
        return v === 'inFlight' ? { state: 'inFlight' } : { state: 'delivered', outcome: v };
      },
      delivered: async (key, outcome) => {
        this.ledger.set(key, outcome);
      },
      release: async (key) => {
        if (this.ledger.get(key) === 'inFlight') this.ledger.delete(key);
      },
    };
    return {
      poster: {
        post: async ({ url, headers, body }): Promise<WebhookResponse> => {
          this.time += 20;
          if (this.down.has(url)) throw new Error('connect ECONNREFUSED');
          this.received.push({ url, headers, body });
          return { status: 200, bodyPrefix: '' };
        },
      },
      ledger,
      rateLimiter: { acquire: async () => true },
      settings: { get: (name) => this.settings.get(name) },
      clock: {
        now: () => this.now() + this.time,
        sleep: async (ms) => {
          this.time += ms;
        },
        random: () => 0.5,
      },
    };
  }
}
