import type { Redis } from 'ioredis';
import type { DeliveryLedger, DeliveryOutcome, LedgerClaim } from '../../domain/ports/notify';

const inFlight = 'in-flight';

/**
 * Delivery records in Redis, one key per (rollout, event, channel) with a TTL: `SET NX PX` claims it while
 * sending (expiring by itself if the sender dies), the outcome JSON replaces the claim once delivered, and a
 * failed delivery deletes its claim so a later run may try again.
 */
export class RedisDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix = 'greenlight:',
  ) {}

  private key(key: string): string {
    return `${this.keyPrefix}notify:sent:${key}`;
  }

  async claim(key: string, holdMs: number): Promise<LedgerClaim> {
    const set = await this.redis.set(this.key(key), inFlight, 'PX', Math.max(1, Math.round(holdMs)), 'NX');
    if (set === 'OK') return { state: 'claimed' };
    const value = await this.redis.get(this.key(key));
    if (value === null) return this.claim(key, holdMs); // expired between the two calls
    if (value === inFlight) return { state: 'inFlight' };
    return { state: 'delivered', outcome: JSON.parse(value) as DeliveryOutcome };
  }

  async delivered(key: string, outcome: DeliveryOutcome, keepMs: number): Promise<void> {
    await this.redis.set(this.key(key), JSON.stringify(outcome), 'PX', Math.max(1, Math.round(keepMs)));
  }

  async release(key: string): Promise<void> {
    // Only our claim: never a delivery another run recorded meanwhile.
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
      1,
      this.key(key),
      inFlight,
    );
  }
}
