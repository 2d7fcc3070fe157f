import { startInbox, type Inbox } from '../../local/inbox';
import { describe as describeEvent, formatFor, signWebhook } from '../../src/domain/notify';
import { loadPolicies } from '../../src/domain/policy';
import { sampleEvent } from '../unit/notifyEvents';

let inbox: Inbox;
const lines: string[] = [];

beforeAll(async () => {
  inbox = await startInbox({ log: (line) => lines.push(line) });
});
beforeEach(() => inbox.clear());
afterAll(() => inbox.close());

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${inbox.url}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('the local inbox refuses what the real channel would', () => {
  it('refuses a Teams card with an action that needs a bot', async () => {
    const { body } = formatFor({ kind: 'teams' }, sampleEvent('waitingApproval'));
    const message = JSON.parse(body);
    message.attachments[0].content.actions.push({ type: 'Action.Submit', title: 'Approve', data: {} });
    const res = await post('/teams/releases', JSON.stringify(message));
    expect(res.status).toBe(400);
    const [stored] = inbox.messages();
    expect(stored).toMatchObject({ kind: 'teams', channel: 'releases', accepted: false });
    expect(stored!.problem).toMatch(/Action.Submit needs a bot/);
    expect(lines.at(-1)).toMatch(/^\[inbox\] teams\/releases .*REFUSED: Action.Submit needs a bot/);
  });

  it('refuses a connector MessageCard and a body that is not JSON', async () => {
    expect((await post('/teams', JSON.stringify({ '@type': 'MessageCard', text: 'hi' }))).status).toBe(400);
    expect((await post('/slack', 'not json')).status).toBe(400);
    expect(inbox.messages().map((m) => m.problem)).toEqual([
      "a Teams Workflows message must be { type: 'message', attachments: [...] }",
      'the body is not JSON',
    ]);
  });

  it('refuses Slack messages over 50 blocks', async () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect((await post('/slack', JSON.stringify({ text: 'x', blocks }))).status).toBe(400);
  });

  it('answers 401 to an unsigned, a stale or a tampered webhook, and accepts a signed one', async () => {
    const event = sampleEvent('rollbackFailed');
    const { body, messageId } = formatFor({ kind: 'webhook' }, event);
    const now = Math.floor(Date.now() / 1000);
    expect((await post('/webhook', body)).status).toBe(401);
    const stale = signWebhook(inbox.webhookSecret, messageId, now - 600, body);
    expect((await post('/webhook', body, stale)).status).toBe(401);
    const good = signWebhook(inbox.webhookSecret, messageId, now, body);
    expect((await post('/webhook', body.replace('"web"', '"api"'), good)).status).toBe(401);
    const res = await post('/webhook', body, good);
    expect(res.status).toBe(200);
    const accepted = inbox.messages().filter((m) => m.accepted);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]).toMatchObject({ verified: true, title: describeEvent(event).title });
    expect(inbox.messages().filter((m) => m.verified === false)).toHaveLength(3);
  });

  it('prints one line per message, with the approval page in full so it can be opened from the console', async () => {
    const event = sampleEvent('waitingApproval');
    const res = await post('/teams', formatFor({ kind: 'teams' }, event).body);
    expect(res.status).toBe(202);
    expect(lines.at(-1)).toMatch(/^\[inbox\] teams +#\d+ Approval needed: web \[ok, \d+ B; buttons: /);
    expect(lines.at(-1)!.endsWith(` ${event.links!.approvalPage!}`)).toBe(true);
    await post('/teams', formatFor({ kind: 'teams' }, sampleEvent('promoted')).body);
    expect(lines.at(-1)).not.toContain('http');
  });

  it('shows a browser a page of what arrived, newest first, buttons as links and text escaped', async () => {
    const event = sampleEvent('waitingApproval', { app: '<b>web</b>' });
    await post('/teams/releases', formatFor({ kind: 'teams' }, event).body);
    await post('/teams', formatFor({ kind: 'teams' }, sampleEvent('promoted')).body);
    const res = await fetch(`${inbox.url}/inbox`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page.indexOf('Promoted')).toBeLessThan(page.indexOf('Approval needed'));
    expect(page).toContain('teams/releases');
    expect(page).toContain(`<a href="${event.links!.approvalPage!}">Review and decide</a>`);
    expect(page).not.toContain('<b>web</b>');
    expect(page).toContain('&#60;b&#62;web&#60;/b&#62;');
    // Programs still get JSON.
    expect(
      ((await (await fetch(`${inbox.url}/inbox`)).json()) as { messages: unknown[] }).messages,
    ).toHaveLength(2);
  });

  it('answers unknown paths and methods with a hint, and clears on DELETE /inbox', async () => {
    expect((await post('/email', '{}')).status).toBe(404);
    expect((await fetch(`${inbox.url}/teams`)).status).toBe(405);
    await post('/slack', JSON.stringify({ text: 'hello' }));
    expect(inbox.messages()).toHaveLength(1);
    expect((await fetch(`${inbox.url}/inbox`, { method: 'DELETE' })).status).toBe(200);
    expect(inbox.messages()).toHaveLength(0);
  });

  it('hands out the app settings that point channels at it', () => {
    expect(inbox.settings()).toEqual({
      GREENLIGHT_TEAMS_URL: `${inbox.url}/teams`,
      GREENLIGHT_SLACK_URL: `${inbox.url}/slack`,
      GREENLIGHT_WEBHOOK_URL: `${inbox.url}/webhook`,
      GREENLIGHT_WEBHOOK_SECRET: inbox.webhookSecret,
    });
    expect(inbox.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(inbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('the example policies as shipped', () => {
  it('name only app settings the inbox fills, so npm start delivers every channel to it', async () => {
    const policies = await loadPolicies({ path: 'examples/policies' });
    const channels = policies.flatMap((p) => p.notifications);
    expect(channels.length).toBeGreaterThan(0);
    const filled = Object.keys(inbox.settings());
    for (const c of channels) {
      expect(filled).toContain(c.urlSetting);
      if (c.secretSetting) expect(filled).toContain(c.secretSetting);
      // Each kind goes to the inbox path that checks it as that service would.
      expect(inbox.settings()[c.urlSetting]).toBe(inbox.urls[c.kind]);
    }
  });
});
