import { HTTP, type CloudEvent } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import {
  cloudEventContentType,
  describe as describeEvent,
  formatCloudEvent,
  formatFor,
  formatSlack,
  formatTeams,
  notificationKinds,
  signWebhook,
  slackLimits,
  teamsMaxBytes,
  type SlackMessage,
  type TeamsMessage,
} from '../../src/domain/notify';
import { everyEvent, hugeEvent, sampleEvent } from './notifyEvents';

// The official Adaptive Cards library (the renderer's own parser and validator). Its `lib` build is ESM
// without file extensions; the UMD bundle loads in Node.
const AC = require('adaptivecards/dist/adaptivecards.js') as typeof import('adaptivecards');

const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

/** What the Adaptive Cards parser reports: unknown elements, missing required properties, bad values. */
function adaptiveCardProblems(card: unknown): { problems: string[]; reserialized: unknown } {
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  parsed.parse(card, context);
  const problems: string[] = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const e of parsed.validateProperties().validationEvents) problems.push(e.message);
  return { problems, reserialized: parsed.toJSON() };
}

/** Block Kit's documented limits for messages, checked on every block. */
function blockKitProblems(message: SlackMessage): string[] {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(JSON.stringify(message));
  if (bytes > slackLimits.messageBytes) problems.push(`message is ${bytes} bytes`);
  if (typeof message.text !== 'string' || message.text.length > 3000)
    problems.push('text missing or too long');
  if (message.blocks.length > 50) problems.push(`${message.blocks.length} blocks`);
  const actionIds = new Set<string>();
  for (const [i, b] of message.blocks.entries()) {
    const at = `blocks[${i}] (${b.type})`;
    switch (b.type) {
      case 'header':
        if (b.text.type !== 'plain_text') problems.push(`${at}: header text must be plain_text`);
        if (b.text.text.length > 150) problems.push(`${at}: header over 150`);
        break;
      case 'section':
        if (!b.text && !b.fields) problems.push(`${at}: needs text or fields`);
        if (b.text && (b.text.text.length > 3000 || b.text.text.length === 0))
          problems.push(`${at}: text length`);
        if (b.fields && b.fields.length > 10) problems.push(`${at}: ${b.fields.length} fields`);
        for (const f of b.fields ?? []) if (f.text.length > 2000) problems.push(`${at}: field over 2000`);
        break;
      case 'actions':
        if (b.elements.length > 25) problems.push(`${at}: over 25 elements`);
        for (const e of b.elements) {
          if (e.type !== 'button') problems.push(`${at}: ${String(e.type)}`);
          if (e.text.type !== 'plain_text' || e.text.text.length > 75) problems.push(`${at}: button text`);
          if (!/^https?:\/\//.test(e.url) || e.url.length > 3000) problems.push(`${at}: button url`);
          if (e.action_id.length > 255 || actionIds.has(e.action_id)) problems.push(`${at}: action_id`);
          actionIds.add(e.action_id);
          if (e.style !== undefined && !['primary', 'danger'].includes(e.style))
            problems.push(`${at}: style`);
        }
        break;
      case 'context':
        if (b.elements.length > 10) problems.push(`${at}: over 10 elements`);
        break;
      case 'divider':
        break;
      default:
        problems.push(`${at}: unknown block`);
    }
  }
  return problems;
}

describe('Teams: a Workflows webhook message with an Adaptive Card', () => {
  it.each(notificationKinds.map((k) => [k]))('renders %s as a valid card with link buttons only', (kind) => {
    const event = sampleEvent(kind);
    const { payload, body, truncated } = formatTeams(describeEvent(event));
    expect(truncated).toBe(false);
    expect(JSON.parse(body)).toEqual(payload);
    const message: TeamsMessage = payload;
    expect(message.type).toBe('message');
    expect(message.attachments).toHaveLength(1);
    const [attachment] = message.attachments;
    expect(attachment!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(attachment!.contentUrl).toBeNull();
    const card = attachment!.content;
    expect(card.type).toBe('AdaptiveCard');
    expect(card.version).toBe('1.4');
    const { problems, reserialized } = adaptiveCardProblems(card);
    expect(problems).toEqual([]);
    // Every property survives the library's round trip: none is unknown to the schema.
    expect(reserialized).toEqual(card);
    for (const action of card.actions) {
      expect(action.type).toBe('Action.OpenUrl');
      expect(action.url).toMatch(/^https:\/\//);
    }
    expect(card.actions.map((a) => a.title)).toContain('Open dashboard');
  });

  it('puts the approval link, expiry and approvers on the waiting-for-approval card', () => {
    const event = sampleEvent('waitingApproval');
    const card = formatTeams(describeEvent(event)).payload.attachments[0]!.content;
    expect(card.actions[0]).toEqual({
      type: 'Action.OpenUrl',
      title: 'Review and decide',
      url: event.links!.approvalPage,
      style: 'positive',
    });
    const facts = (
      card.body.find((b) => b.type === 'FactSet') as { facts: { title: string; value: string }[] }
    ).facts;
    expect(facts).toEqual(
      expect.arrayContaining([
        { title: 'Expires', value: '2026-12-04T14:00:00.000Z' },
        { title: 'Who may approve', value: 'alice@contoso.com, release-managers' },
        { title: 'Image', value: 'contoso.azurecr.io/web:v1 → contoso.azurecr.io/web:v2' },
      ]),
    );
  });

  it('makes a failed rollback loud and lists what is left to do', () => {
    const card = formatTeams(describeEvent(sampleEvent('rollbackFailed'))).payload.attachments[0]!.content;
    const header = card.body[0] as { style: string; items: { text: string; color: string; size: string }[] };
    expect(header.style).toBe('attention');
    expect(header.items[0]).toMatchObject({ color: 'Attention', size: 'Large' });
    expect(header.items[0]!.text).toMatch(/^ROLLBACK FAILED/);
    expect(JSON.stringify(card.body)).toContain('- set traffic to web--v1abc: 100%');
  });

  it('stays under 28 KB for a huge event, cutting facts but keeping the title and the buttons', () => {
    const { payload, body, truncated } = formatTeams(describeEvent(hugeEvent()));
    expect(truncated).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(teamsMaxBytes);
    expect(Buffer.byteLength(body)).toBeLessThan(28 * 1024);
    const card = payload.attachments[0]!.content;
    expect(adaptiveCardProblems(card).problems).toEqual([]);
    expect(card.actions.map((a) => a.title)).toEqual(['Open dashboard']);
    expect(JSON.stringify(card)).toContain('Gate failed: error-rate');
  });

  it('renders no button for a link that is not http(s)', () => {
    const event = sampleEvent('waitingApproval', { links: { approvalPage: 'javascript:alert(1)' } });
    expect(formatTeams(describeEvent(event)).payload.attachments[0]!.content.actions).toEqual([]);
  });
});

describe('Slack: an incoming webhook message in Block Kit', () => {
  it.each(notificationKinds.map((k) => [k]))('renders %s within every Block Kit limit', (kind) => {
    const { payload, body, truncated } = formatSlack(describeEvent(sampleEvent(kind)));
    expect(truncated).toBe(false);
    expect(JSON.parse(body)).toEqual(payload);
    expect(blockKitProblems(payload)).toEqual([]);
    expect(payload.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    const actions = payload.blocks.find((b) => b.type === 'actions');
    expect(actions).toBeDefined();
  });

  it('offers the approval page as the primary link button', () => {
    const event = sampleEvent('waitingApproval');
    const { payload } = formatSlack(describeEvent(event));
    const actions = payload.blocks.find((b) => b.type === 'actions');
    expect(actions).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Review and decide', emoji: true },
          url: event.links!.approvalPage,
          action_id: 'greenlight-link-0',
          style: 'primary',
        },
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open dashboard', emoji: true },
          url: event.links!.dashboard,
          action_id: 'greenlight-link-1',
        },
      ],
    });
    const fields = payload.blocks.flatMap((b) => (b.type === 'section' && b.fields ? b.fields : []));
    expect(fields).toContainEqual({
      type: 'mrkdwn',
      text: '*Who may approve*\nalice@contoso.com, release-managers',
    });
  });

  it('pings @here for a failed rollback, and a reason cannot ping anyone', () => {
    const loud = formatSlack(describeEvent(sampleEvent('rollbackFailed'))).payload;
    expect(loud.text.startsWith('<!here> ')).toBe(true);
    const sneaky = sampleEvent('rolledBack', { reason: 'see <!channel> & <https://evil.example|here>' });
    const body = formatSlack(describeEvent(sneaky)).body;
    expect(body).not.toContain('<!channel>');
    expect(body).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|here&gt;');
  });

  it('stays within the limits for a huge event, and drops a button whose URL is over 3000 characters', () => {
    const { payload, truncated } = formatSlack(describeEvent(hugeEvent()));
    expect(truncated).toBe(true);
    expect(blockKitProblems(payload)).toEqual([]);
    const long = sampleEvent('waitingApproval', {
      links: {
        approvalPage: `https://greenlight.example.net/a?token=${'t'.repeat(3100)}`,
        dashboard: 'https://d.example/x',
      },
    });
    const message = formatSlack(describeEvent(long)).payload;
    expect(blockKitProblems(message)).toEqual([]);
    const buttons = message.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(buttons.map((b) => b.url)).toEqual(['https://d.example/x']);
  });

  it('splits many facts into sections of at most 10 fields', () => {
    const view = describeEvent(sampleEvent('started'));
    view.facts = Array.from({ length: 23 }, (_, i) => ({ name: `f${i}`, value: `v${i}` }));
    const { payload } = formatSlack(view);
    const sections = payload.blocks.filter((b) => b.type === 'section' && b.fields);
    expect(sections.map((s) => (s.type === 'section' ? s.fields!.length : 0))).toEqual([10, 10, 3]);
    expect(blockKitProblems(payload)).toEqual([]);
  });
});

describe('webhook: a signed CloudEvents 1.0 structured event', () => {
  it.each(notificationKinds.map((k) => [k]))(
    'renders %s as a CloudEvent the CloudEvents SDK accepts',
    (kind) => {
      const event = sampleEvent(kind);
      const formatted = formatFor({ kind: 'webhook' }, event);
      expect(formatted.contentType).toBe(cloudEventContentType);
      const received = HTTP.toEvent({
        headers: { 'content-type': formatted.contentType },
        body: formatted.body,
      });
      const ce = (Array.isArray(received) ? received[0] : received) as CloudEvent<unknown>;
      expect(ce.validate()).toBe(true);
      expect(ce.specversion).toBe('1.0');
      expect(ce.id).toBe(`web-20261203-a1b2c3/7-${kind}`);
      expect(ce.source).toBe('/greenlight/apps/web');
      expect(ce.type).toBe(`io.greenlight.rollout.${kind}`);
      expect(ce.subject).toBe('web-20261203-a1b2c3');
      expect(ce.time).toBe('2026-12-03T14:00:00.000Z');
      expect(ce.datacontenttype).toBe('application/json');
      const data = ce.data as Record<string, unknown>;
      expect(data.kind).toBe(kind);
      expect(data.rolloutId).toBe(event.rolloutId);
      expect(data.links).toEqual(event.links);
      expect(typeof data.title).toBe('string');
    },
  );

  it('carries the values of a failed gate and the steps left after a failed rollback', () => {
    const gate = JSON.parse(formatFor({ kind: 'webhook' }, sampleEvent('gateFailed')).body);
    expect(gate.data.values).toEqual([
      { value: 0.004, verdict: 'successful' },
      { value: 0.031, verdict: 'failed' },
    ]);
    const failed = JSON.parse(formatFor({ kind: 'webhook' }, sampleEvent('rollbackFailed')).body);
    expect(failed.severity).toBe('critical');
    expect(failed.data.leftToDo).toHaveLength(2);
  });

  it('signs so that the Standard Webhooks library verifies it, and refuses a changed body', () => {
    const { body, messageId } = formatFor({ kind: 'webhook' }, sampleEvent('waitingApproval'));
    const headers = signWebhook(secret, messageId, Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ specversion: '1.0' });
    expect(() => new Webhook(secret).verify(body.replace('web:v2', 'web:v3'), headers)).toThrow();
    const stale = signWebhook(secret, messageId, Math.floor(Date.now() / 1000) - 3600, body);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(/timestamp/i);
  });

  it('stays under 64 KB for a huge event and says it was cut', () => {
    const event = hugeEvent();
    const { body, truncated } = formatCloudEvent(event, describeEvent(event));
    expect(truncated).toBe(true);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(64 * 1024);
    const parsed = JSON.parse(body);
    expect(parsed.data.truncated).toBe(true);
    expect(parsed.data.values.length).toBeLessThanOrEqual(100);
  });
});

describe('every event kind reads well', () => {
  it('gives every kind a title naming the app', () => {
    for (const event of everyEvent()) expect(describeEvent(event).title).toContain('web');
  });
});
