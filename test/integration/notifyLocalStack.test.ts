import { startInbox, approvalButton, type Inbox, type InboxMessage } from '../../local/inbox';
import { decideThroughPage } from '../../local/client';
import { seed, startE2E, startRollout, trafficPolicy, untilDone, type E2E } from '../e2e/support';

// The whole path a person sees, on the local stack with the unchanged app: the rollout's events reach the
// inbox as each channel's service would take them (Adaptive Card, signed CloudEvent), in order and once
// each, and the approval is decided through the link in the received card, not the status API.

let inbox: Inbox;
let e: E2E;

beforeAll(async () => {
  // The app logs each delivery (the host's log in Azure); the inbox's record is what is checked here.
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  inbox = await startInbox({ log: () => undefined });
  e = await startE2E(
    [
      trafficPolicy('notified', {
        strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1S' },
        validation: { readiness: { timeout: 'PT1M', pollInterval: 'PT1S' }, smoke: [] },
        approval: { required: true, timeout: 'PT2M' },
        watch: { duration: 'PT0S' },
        cleanup: { deactivateAfter: 'PT0S', undoWindow: 'PT4S', remindBeforeUndoCloses: 'PT2S' },
        notifications: [
          { kind: 'teams', urlSetting: 'GREENLIGHT_TEAMS_URL' },
          {
            kind: 'webhook',
            urlSetting: 'GREENLIGHT_WEBHOOK_URL',
            secretSetting: 'GREENLIGHT_WEBHOOK_SECRET',
            events: ['waitingApproval', 'stepAdvanced', 'undoWindowClosing'],
          },
        ],
      }),
    ],
    // Real time: the undo window and its notice run on the wall clock, and nothing skips the approval wait.
    { clock: 'real', env: { ...inbox.settings(), GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' } },
  );
  await seed(e, 'notified');
});

afterAll(async () => {
  await e?.stop();
  await inbox?.close();
});

const about = (id: string) => (m: InboxMessage) => JSON.stringify(m.payload).includes(id);

it('tells each channel every step once, and the approver acts on the card it received', async () => {
  const id = await startRollout(e, 'notified', 'v2');
  const card = await inbox.waitFor(
    (m) => about(id)(m) && m.kind === 'teams' && m.links.some((l) => l.title === approvalButton),
  );
  const page = card.links.find((l) => l.title === approvalButton)!.url;
  const { result } = await decideThroughPage(page, 'approve', 'from the card', 'alice@contoso.com');
  expect(result.status).toBe(200);
  const done = await untilDone(e, id);
  expect(done.outcome).toBe('Succeeded');
  await inbox.waitFor(
    (m) => about(id)(m) && m.kind === 'teams' && /^Undo window closing/.test(m.title),
    20_000,
  );

  const teams = inbox.messages({ kind: 'teams' }).filter(about(id));
  expect(teams.every((m) => m.accepted)).toBe(true);
  expect(teams.map((m) => m.title.replace(/: notified$| \(notified\)$/, ''))).toEqual([
    'Rollout started',
    'Approval needed',
    'Approved by alice@contoso.com',
    'Traffic step 1 of 2: 50% to green',
    'Traffic step 2 of 2: 100% to green',
    'Promoted',
    'Rollout succeeded',
    'Undo window closing',
  ]);
  const hooks = inbox.messages({ kind: 'webhook' }).filter(about(id));
  expect(hooks.every((m) => m.accepted && m.verified)).toBe(true);
  expect(hooks.map((m) => m.event?.split('.').pop())).toEqual([
    'waitingApproval',
    'stepAdvanced',
    'stepAdvanced',
    'undoWindowClosing',
  ]);
  // Once each: the ids receivers deduplicate on never repeat, though the orchestration replayed throughout.
  const ids = hooks.map((m) => m.headers['webhook-id']);
  expect(new Set(ids).size).toBe(ids.length);
  // The approval was still pending for less than the reminder's lead: no reminder went out.
  expect(teams.some((m) => /Approval still needed/.test(m.title))).toBe(false);
});
