import { Webhook } from 'standardwebhooks';
import {
  deliverNotification,
  deliverToChannels,
  redact,
  retryAfterMs,
  type NotificationChannel,
} from '../../src/domain/notify';
import type {
  DeliveryLedger,
  DeliveryOutcome,
  LedgerClaim,
  NotifyPorts,
  WebhookResponse,
} from '../../src/domain/ports/notify';
import { sampleEvent } from './notifyEvents';

const teamsUrl =
  'https://prod-42.westeurope.logic.azure.com/workflows/abc123/triggers/manual/paths/invoke?sig=TOPSECRETSIG123';
const hookSecret = `whsec_${Buffer.from('a-very-secret-signing-key-0123456789').toString('base64')}`;

const teams: NotificationChannel = {
  kind: 'teams',
  name: 'teams:TEAMS_URL',
  urlSetting: 'TEAMS_URL',
  events: ['*'],
  ratePerSecond: 4,
};
const hook: NotificationChannel = {
  kind: 'webhook',
  name: 'pager',
  urlSetting: 'HOOK_URL',
  secretSetting: 'HOOK_SECRET',
  events: ['rollbackFailed'],
  ratePerSecond: 10,
};

class MemoryLedger implements DeliveryLedger {
  readonly entries = new Map<string, 'in-flight' | DeliveryOutcome>();
  async claim(key: string): Promise<LedgerClaim> {
    const v = this.entries.get(key);
    if (v === undefined) {
      this.entries.set(key, 'in-flight');
      return { state: 'claimed' };
    }
    return v === 'in-flight' ? { state: 'inFlight' } : { state: 'delivered', outcome: v };
  }
  async delivered(key: string, outcome: DeliveryOutcome): Promise<void> {
    this.entries.set(key, outcome);
  }
  async release(key: string): Promise<void> {
    if (this.entries.get(key) === 'in-flight') this.entries.delete(key);
  }
}

type Answer = Partial<WebhookResponse> | Error;

/** Ports over a virtual clock: sleeping advances time at once, so backoff is measured, not waited. */
function fakePorts(answers: Answer[], settings: Record<string, string> = {}) {
  let now = Date.now();
  const calls: {
    at: number;
    url: string;
    headers: Record<string, string>;
    body: string;
    timeoutMs: number;
  }[] = [];
  const lines: string[] = [];
  const ledger = new MemoryLedger();
  const ports: NotifyPorts = {
    poster: {
      post: async (request) => {
        calls.push({ at: now, ...request });
        now += 50; // each request takes 50 ms
        const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
        if (answer instanceof Error) throw answer;
        return { status: 200, bodyPrefix: '', ...answer };
      },
    },
    ledger,
    rateLimiter: { acquire: async () => true },
    settings: {
      get: (name) =>
        ({
          TEAMS_URL: teamsUrl,
          HOOK_URL: 'https://hooks.example.net/in',
          HOOK_SECRET: hookSecret,
          ...settings,
        })[name],
    },
    clock: {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      random: () => 0.5,
    },
    log: (line) => lines.push(line),
  };
  return { ports, calls, lines, ledger, started: now };
}

describe('delivering a notification', () => {
  it('waits what Retry-After asks after a 429, then delivers once', async () => {
    const { ports, calls, started } = fakePorts([{ status: 429, retryAfter: '2' }, { status: 202 }]);
    const outcome = await deliverNotification(ports, {
      event: sampleEvent('waitingApproval'),
      channel: teams,
    });
    expect(outcome).toMatchObject({
      status: 'delivered',
      attempts: 2,
      httpStatus: 202,
      channel: 'teams:TEAMS_URL',
    });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBe(50 + 2000);
    expect(calls[0]!.at).toBe(started);
    expect(calls[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(calls[0]!.body).type).toBe('message');
  });

  it('gives up on a channel that stays down within its budget, with the reason', async () => {
    const { ports, calls } = fakePorts([{ status: 503, bodyPrefix: 'Service Unavailable' }]);
    const outcome = await deliverNotification(ports, {
      event: sampleEvent('started'),
      channel: teams,
      budgetMs: 10_000,
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.durationMs).toBeLessThanOrEqual(10_000);
    expect(outcome.attempts).toBeGreaterThan(2);
    expect(calls).toHaveLength(outcome.attempts);
    expect(outcome.httpStatus).toBe(503);
    expect(outcome.reason).toMatch(
      /^HTTP 503: Service Unavailable; gave up after \d+ attempt\(s\): the next try/,
    );
    // Backoff grows: 250, 500, 1000 ms ... (half the cap with random 0.5).
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at - 50);
    expect(gaps.slice(0, 3)).toEqual([250, 500, 1000]);
  });

  it('does not retry an answer that will not change (404)', async () => {
    const { ports, calls } = fakePorts([{ status: 404, bodyPrefix: 'no such workflow' }]);
    const outcome = await deliverNotification(ports, { event: sampleEvent('started'), channel: teams });
    expect(outcome).toMatchObject({
      status: 'failed',
      attempts: 1,
      httpStatus: 404,
      reason: 'HTTP 404: no such workflow',
    });
    expect(calls).toHaveLength(1);
  });

  it('retries network errors and names them by code', async () => {
    const refused = Object.assign(new TypeError(`fetch failed for ${teamsUrl}`), {
      cause: { code: 'ECONNREFUSED' },
    });
    const { ports } = fakePorts([refused, refused, { status: 200 }]);
    const outcome = await deliverNotification(ports, { event: sampleEvent('started'), channel: teams });
    expect(outcome).toMatchObject({ status: 'delivered', attempts: 3 });
    const { ports: down } = fakePorts([refused]);
    const failed = await deliverNotification(down, {
      event: sampleEvent('started'),
      channel: teams,
      budgetMs: 3000,
    });
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^no answer \(ECONNREFUSED\)/);
  });

  it('fails at once when Retry-After asks for longer than the budget left', async () => {
    const { ports, calls } = fakePorts([{ status: 429, retryAfter: '120' }]);
    const outcome = await deliverNotification(ports, { event: sampleEvent('started'), channel: teams });
    expect(calls).toHaveLength(1);
    expect(outcome.reason).toMatch(
      /^HTTP 429; gave up after 1 attempt\(s\): the next try \(in 120 s\) would pass the delivery budget/,
    );
  });

  it('waits for the next second after a 429 without Retry-After (Teams counts per second)', async () => {
    const { ports, calls } = fakePorts([{ status: 429 }, { status: 202 }]);
    await deliverNotification(ports, { event: sampleEvent('started'), channel: teams });
    expect(calls[1]!.at - calls[0]!.at - 50).toBe(1000);
  });

  it('does not send again what an earlier run delivered, and says so', async () => {
    const { ports, calls, ledger } = fakePorts([{ status: 202 }]);
    const event = sampleEvent('promoted');
    const first = await deliverNotification(ports, { event, channel: teams });
    const again = await deliverNotification(ports, { event, channel: teams });
    expect(calls).toHaveLength(1);
    expect(again).toEqual({ ...first, replayed: true });
    expect([...ledger.entries.keys()]).toEqual([`${event.rolloutId}:${event.id}:teams:TEAMS_URL`]);
    // Another event, or the same event to another channel, is a delivery of its own.
    await deliverNotification(ports, { event: sampleEvent('succeeded'), channel: teams });
    expect(calls).toHaveLength(2);
  });

  it('skips while another run is delivering, and lets a later run retry after a failure', async () => {
    const { ports, calls, ledger } = fakePorts([{ status: 500 }]);
    const event = sampleEvent('started');
    const key = `${event.rolloutId}:${event.id}:teams:TEAMS_URL`;
    ledger.entries.set(key, 'in-flight');
    const skipped = await deliverNotification(ports, { event, channel: teams });
    expect(skipped).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(calls).toHaveLength(0);
    ledger.entries.clear();
    const failed = await deliverNotification(ports, { event, channel: teams, budgetMs: 2000 });
    expect(failed.status).toBe('failed');
    expect(ledger.entries.has(key)).toBe(false);
  });

  it('still sends when the idempotency store is down: a lost notification is worse than a duplicate', async () => {
    const { ports, calls } = fakePorts([{ status: 202 }]);
    ports.ledger.claim = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    const outcome = await deliverNotification(ports, {
      event: sampleEvent('rollbackFailed'),
      channel: teams,
    });
    expect(outcome.status).toBe('delivered');
    expect(outcome.reason).toMatch(/^sent without an idempotency record/);
    expect(calls).toHaveLength(1);
  });

  it('refuses a channel whose settings are missing or unsafe, sending nothing', async () => {
    const cases: [Record<string, string>, NotificationChannel, RegExp][] = [
      [{ TEAMS_URL: '' }, teams, /^app setting TEAMS_URL is not set/],
      [{ TEAMS_URL: 'http://hooks.example.net/x' }, teams, /must hold an https URL/],
      [{ TEAMS_URL: 'not a url' }, teams, /does not hold a URL/],
      [{ HOOK_SECRET: '' }, hook, /HOOK_SECRET \(the signing secret\) is not set/],
      [{ HOOK_SECRET: 'short!' }, hook, /HOOK_SECRET must hold whsec_/],
    ];
    for (const [settings, channel, reason] of cases) {
      const { ports, calls } = fakePorts([{ status: 200 }], settings);
      const outcome = await deliverNotification(ports, { event: sampleEvent('rollbackFailed'), channel });
      expect(outcome).toMatchObject({ status: 'failed', attempts: 0 });
      expect(outcome.reason).toMatch(reason);
      expect(calls).toHaveLength(0);
    }
  });

  it('signs webhook deliveries so a Standard Webhooks receiver verifies them', async () => {
    const { ports, calls } = fakePorts([{ status: 200 }]);
    const event = sampleEvent('rollbackFailed');
    await deliverNotification(ports, { event, channel: hook });
    const [call] = calls;
    expect(call!.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(call!.headers['webhook-id']).toBe(`${event.rolloutId}/${event.id}`);
    expect(new Webhook(hookSecret).verify(call!.body, call!.headers)).toMatchObject({
      id: `${event.rolloutId}/${event.id}`,
    });
  });

  it('never puts a URL or secret in an outcome or a log line, whatever the channel answers', async () => {
    const leaky = Object.assign(new Error(`request to ${teamsUrl} failed`), { cause: { code: teamsUrl } });
    const teamsRun = fakePorts([
      leaky,
      { status: 401, bodyPrefix: `no flow at ${teamsUrl} (sig=TOPSECRETSIG123)` },
    ]);
    // The signing secret echoed where the 200-character cut falls in the middle of it.
    const hookRun = fakePorts([
      { status: 400, bodyPrefix: `${'x'.repeat(180)} key ${hookSecret} at https://hooks.example.net/in` },
    ]);
    const outcomes = [
      await deliverNotification(teamsRun.ports, { event: sampleEvent('started'), channel: teams }),
      await deliverNotification(hookRun.ports, { event: sampleEvent('rollbackFailed'), channel: hook }),
    ];
    const lines = [...teamsRun.lines, ...hookRun.lines];
    const text = JSON.stringify(outcomes) + lines.join('\n');
    expect(lines).toHaveLength(2);
    for (const secret of [
      'TOPSECRETSIG123',
      'logic.azure.com/workflows',
      '/workflows/abc123',
      hookSecret.slice(0, 12),
      hookSecret.slice(6, 14),
      'hooks.example.net/in',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(outcomes[0]!.reason).toBe('HTTP 401: no flow at *** (***)');
    expect(outcomes[1]!.reason).toMatch(/ key \*\*\* at \*\*\*$/);
  });

  it('sends an event to the channels that asked for its kind, one outcome each', async () => {
    const { ports, calls } = fakePorts([{ status: 200 }]);
    const started = await deliverToChannels(ports, sampleEvent('started'), [teams, hook]);
    expect(started.map((o) => o.channel)).toEqual(['teams:TEAMS_URL']);
    const failed = await deliverToChannels(ports, sampleEvent('rollbackFailed'), [teams, hook]);
    expect(failed.map((o) => [o.channel, o.status])).toEqual([
      ['teams:TEAMS_URL', 'delivered'],
      ['pager', 'delivered'],
    ]);
    expect(calls).toHaveLength(3);
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates', () => {
    const now = Date.parse('2026-12-03T14:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('0.5', now)).toBe(500);
    expect(retryAfterMs('Thu, 03 Dec 2026 14:00:07 GMT', now)).toBe(7000);
    expect(retryAfterMs('Thu, 03 Dec 2026 13:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('redaction', () => {
  it('hides whole secrets and the start of one cut off at the end', () => {
    expect(redact('a SECRETVALUE b SECRETVALUE', ['SECRETVALUE'])).toBe('a *** b ***');
    expect(redact('body ends in SECRE', ['SECRETVALUE'])).toBe('body ends in ***');
    expect(redact('nothing here', ['SECRETVALUE'])).toBe('nothing here');
  });
});
