import { createServer } from 'node:net';
import type { Redis } from 'ioredis';
import { HTTP, type CloudEvent } from 'cloudevents';
import { startInbox, type Inbox } from '../../local/inbox';
import { createNotifyPorts } from '../../src/adapters/notify';
import { dashboardLink } from '../../src/composition';
import {
  deliverNotification,
  deliverToChannels,
  slackLimits,
  teamsMaxBytes,
  type NotificationChannel,
  type SlackMessage,
  type TeamsMessage,
} from '../../src/domain/notify';
import type { NotifyPorts } from '../../src/domain/ports/notify';
import type { NotificationEvent } from '../../src/domain/notify/events';
import { deleteKeysWithPrefix, newTestRedis, uniquePrefix } from '../support/redis';
import { sampleEvent } from '../unit/notifyEvents';

const AC = require('adaptivecards/dist/adaptivecards.js') as typeof import('adaptivecards');

/** A token in the URL settings, as Teams (`sig=`) and Slack (the path) webhook URLs carry one. */
const urlSecret = 'sig=Zq9SECRETsig77';

let redis: Redis;
let inbox: Inbox;
let prefix: string;
let logLines: string[];
let inboxLines: string[];
let env: Record<string, string>;

function channel(
  kind: NotificationChannel['kind'],
  extra: Partial<NotificationChannel> = {},
): NotificationChannel {
  const urlSetting = `INBOX_${kind.toUpperCase()}_URL`;
  return {
    kind,
    name: `${kind}:${urlSetting}`,
    urlSetting,
    ...(kind === 'webhook' ? { secretSetting: 'INBOX_WEBHOOK_SECRET' } : {}),
    events: ['*'],
    ratePerSecond: kind === 'teams' ? 4 : kind === 'slack' ? 1 : 10,
    ...extra,
  };
}

function ports(): NotifyPorts {
  return createNotifyPorts({ redis, keyPrefix: prefix, env, log: (line) => logLines.push(line) });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  redis = newTestRedis();
  inboxLines = [];
  inbox = await startInbox({ log: (line) => inboxLines.push(line) });
});
beforeEach(() => {
  prefix = uniquePrefix('notify');
  logLines = [];
  inbox.clear();
  env = {
    INBOX_TEAMS_URL: `${inbox.urls.teams}?${urlSecret}`,
    INBOX_SLACK_URL: `${inbox.urls.slack}?${urlSecret}`,
    INBOX_WEBHOOK_URL: `${inbox.urls.webhook}?${urlSecret}`,
    INBOX_WEBHOOK_SECRET: inbox.webhookSecret,
  };
});
afterEach(() => deleteKeysWithPrefix(redis, prefix));
afterAll(async () => {
  await inbox.close();
  await redis.quit();
});

describe('notifications received by the local inbox', () => {
  it('delivers a Teams Adaptive Card the card library accepts, with the approval link', async () => {
    const event = sampleEvent('waitingApproval');
    const outcome = await deliverNotification(ports(), { event, channel: channel('teams') });
    expect(outcome).toMatchObject({ status: 'delivered', attempts: 1, httpStatus: 202, truncated: false });
    const [received] = inbox.messages({ kind: 'teams' });
    expect(received).toMatchObject({ accepted: true, title: 'Approval needed: web' });
    expect(received!.bytes).toBeLessThanOrEqual(teamsMaxBytes);
    expect(received!.links).toEqual([
      { title: 'Review and decide', url: event.links!.approvalPage },
      { title: 'Open dashboard', url: event.links!.dashboard },
    ]);
    const message = received!.payload as TeamsMessage;
    const card = new AC.AdaptiveCard();
    const context = new AC.SerializationContext();
    card.parse(message.attachments[0]!.content, context);
    expect(context.eventCount).toBe(0);
    expect(card.validateProperties().validationEvents).toEqual([]);
    expect(card.getActionCount()).toBe(2);
    expect(card.getActionAt(0)).toBeInstanceOf(AC.OpenUrlAction);
  });

  it("adds the dashboard link from this app's public address when the event has none (a release gets the list)", async () => {
    const withBase: NotifyPorts = {
      ...ports(),
      dashboardLink: (e) => dashboardLink('https://greenlight.example', e),
    };
    const { links: _links, ...bare } = sampleEvent('waitingApproval');
    void _links;
    await deliverNotification(withBase, { event: bare as NotificationEvent, channel: channel('teams') });
    await deliverNotification(withBase, {
      event: { ...(bare as NotificationEvent), id: 'release:1:started', rolloutId: 'shop-1' },
      channel: channel('slack'),
    });
    const [card] = inbox.messages({ kind: 'teams' });
    expect(card!.links).toEqual([
      { title: 'Open dashboard', url: `https://greenlight.example/api/dashboard/rollouts/${bare.rolloutId}` },
    ]);
    const [slack] = inbox.messages({ kind: 'slack' });
    expect(slack!.links).toEqual([
      { title: 'Open dashboard', url: 'https://greenlight.example/api/dashboard' },
    ]);
  });

  it('delivers Block Kit to Slack within its limits', async () => {
    const outcome = await deliverNotification(ports(), {
      event: sampleEvent('rollbackFailed'),
      channel: channel('slack'),
    });
    expect(outcome).toMatchObject({ status: 'delivered', httpStatus: 200 });
    const [received] = inbox.messages({ kind: 'slack' });
    const message = received!.payload as SlackMessage;
    expect(received!.title).toBe('ROLLBACK FAILED: web: action needed');
    expect(message.text.startsWith('<!here>')).toBe(true);
    expect(message.blocks.length).toBeLessThanOrEqual(slackLimits.blocks);
    expect(received!.bytes).toBeLessThanOrEqual(slackLimits.messageBytes);
  });

  it('delivers a CloudEvent whose signature the inbox verifies, and refuses a forged one', async () => {
    const event = sampleEvent('gateFailed');
    const outcome = await deliverNotification(ports(), { event, channel: channel('webhook') });
    expect(outcome).toMatchObject({ status: 'delivered', httpStatus: 200 });
    const [received] = inbox.messages({ kind: 'webhook' });
    expect(received).toMatchObject({
      accepted: true,
      verified: true,
      event: 'io.greenlight.rollout.gateFailed',
    });
    expect(received!.headers['webhook-id']).toBe(`${event.rolloutId}/${event.id}`);
    const ce = HTTP.toEvent({
      headers: received!.headers,
      body: JSON.stringify(received!.payload),
    }) as CloudEvent<unknown>;
    expect(ce.validate()).toBe(true);
    expect(ce.type).toBe('io.greenlight.rollout.gateFailed');

    // Signed with another secret: the inbox answers 401 and the delivery fails without retries.
    env.INBOX_WEBHOOK_SECRET = `whsec_${Buffer.from('not-the-inbox-secret-at-all!').toString('base64')}`;
    const forged = await deliverNotification(ports(), {
      event: sampleEvent('succeeded'),
      channel: channel('webhook'),
    });
    expect(forged).toMatchObject({ status: 'failed', attempts: 1, httpStatus: 401 });
    expect(forged.reason).toMatch(/^HTTP 401: .*signature not verified/);
    expect(inbox.messages({ kind: 'webhook' }).at(-1)).toMatchObject({ accepted: false, verified: false });
  });

  it('delivers once to a channel that answers 429 and then 200', async () => {
    inbox.script('teams', [{ status: 429, retryAfter: '1' }]);
    const before = inbox.requests('teams');
    const outcome = await deliverNotification(ports(), {
      event: sampleEvent('promoted'),
      channel: channel('teams'),
    });
    expect(outcome).toMatchObject({ status: 'delivered', attempts: 2, httpStatus: 202 });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(1000);
    expect(inbox.requests('teams') - before).toBe(2);
    expect(inbox.messages({ kind: 'teams' })).toHaveLength(1);
  });

  it('gives a bounded failure for a channel that is down, and for one that keeps answering 503', async () => {
    env.INBOX_TEAMS_URL = `http://127.0.0.1:${await freePort()}/teams?${urlSecret}`;
    const started = Date.now();
    const down = await deliverNotification(ports(), {
      event: sampleEvent('rolledBack'),
      channel: channel('teams'),
      budgetMs: 3000,
    });
    expect(Date.now() - started).toBeLessThanOrEqual(3000 + 500);
    expect(down).toMatchObject({ status: 'failed' });
    expect(down.attempts).toBeGreaterThan(1);
    expect(down.reason).toMatch(/^no answer \(ECONNREFUSED\)/);

    inbox.script(
      'slack',
      Array.from({ length: 50 }, () => ({ status: 503 })),
    );
    const t0 = Date.now();
    const unavailable = await deliverNotification(ports(), {
      event: sampleEvent('rolledBack'),
      channel: channel('slack'),
      budgetMs: 3000,
    });
    expect(Date.now() - t0).toBeLessThanOrEqual(3000 + 500);
    expect(unavailable).toMatchObject({ status: 'failed', httpStatus: 503 });
    expect(inbox.messages({ kind: 'slack' })).toHaveLength(0);
    inbox.script('slack', []);
  });

  it('does not resend when the same notification is delivered again (replay, activity retry, another instance)', async () => {
    const event = sampleEvent('succeeded');
    const first = await deliverNotification(ports(), { event, channel: channel('teams') });
    const again = await deliverNotification(ports(), { event, channel: channel('teams') });
    expect(first.status).toBe('delivered');
    expect(again).toEqual({ ...first, replayed: true });
    expect(inbox.messages({ kind: 'teams' })).toHaveLength(1);
    const ttl = await redis.pttl(`${prefix}notify:sent:${event.rolloutId}:${event.id}:teams:INBOX_TEAMS_URL`);
    expect(ttl).toBeGreaterThan(6 * 24 * 3_600_000);
  });

  it('keeps Teams to 4 requests a second across concurrent deliveries', async () => {
    const events = Array.from({ length: 9 }, (_, i) => sampleEvent('stepAdvanced', { id: `step-${i}` }));
    const started = Date.now();
    const outcomes = await Promise.all(
      events.map((event) => deliverNotification(ports(), { event, channel: channel('teams') })),
    );
    expect(outcomes.every((o) => o.status === 'delivered' && o.attempts === 1)).toBe(true);
    // 4 at once, 4 a second later, the ninth a second after that.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(inbox.messages({ kind: 'teams' })).toHaveLength(9);
  });

  it('sends each event to the channels that asked for it and serves what arrived at GET /inbox', async () => {
    const channels = [
      channel('teams', { events: ['waitingApproval'] }),
      channel('webhook'),
      channel('slack', { events: ['rollbackFailed'] }),
    ];
    const outcomes = await deliverToChannels(ports(), sampleEvent('waitingApproval'), channels);
    expect(outcomes.map((o) => [o.channel, o.status])).toEqual([
      ['teams:INBOX_TEAMS_URL', 'delivered'],
      ['webhook:INBOX_WEBHOOK_URL', 'delivered'],
    ]);
    const res = await fetch(`${inbox.url}/inbox`);
    const { messages } = (await res.json()) as {
      messages: { kind: string; title: string; accepted: boolean }[];
    };
    expect(messages.map((m) => [m.kind, m.title, m.accepted])).toEqual([
      ['teams', 'Approval needed: web', true],
      ['webhook', 'Approval needed: web', true],
    ]);
    const teamsOnly = (await (await fetch(`${inbox.url}/inbox?kind=teams`)).json()) as {
      messages: unknown[];
    };
    expect(teamsOnly.messages).toHaveLength(1);
    expect(inboxLines.some((l) => l.includes('[inbox] teams') && l.includes('Approval needed: web'))).toBe(
      true,
    );
  });

  it('never writes a webhook URL or secret into an outcome, a log line or the delivery record', async () => {
    inbox.script('teams', [{ status: 500, body: `upstream ${env.INBOX_TEAMS_URL} failed` }]);
    const outcomes = [
      await deliverNotification(ports(), { event: sampleEvent('started'), channel: channel('teams') }),
      await deliverNotification(ports(), { event: sampleEvent('started'), channel: channel('webhook') }),
    ];
    env.INBOX_SLACK_URL = `http://127.0.0.1:${await freePort()}/slack?${urlSecret}`;
    outcomes.push(
      await deliverNotification(ports(), {
        event: sampleEvent('started'),
        channel: channel('slack'),
        budgetMs: 1500,
      }),
    );
    const keys = await redis.keys(`${prefix}*`);
    const records = await Promise.all(keys.filter((k) => k.includes(':sent:')).map((k) => redis.get(k)));
    const everything = [JSON.stringify(outcomes), ...logLines, ...records].join('\n');
    expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered', 'failed']);
    expect(logLines).toHaveLength(3);
    for (const secret of [
      'Zq9SECRETsig77',
      inbox.webhookSecret,
      inbox.webhookSecret.slice(6, 20),
      inbox.urls.teams,
      inbox.urls.slack,
    ]) {
      expect(everything).not.toContain(secret);
    }
    // The inbox's own log prints titles, never what the channel was reached with.
    expect(inboxLines.join('\n')).not.toContain('Zq9SECRETsig77');
  });
});
