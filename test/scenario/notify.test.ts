import type { NotificationChannel } from '../../src/domain/notify';
import type { RolloutPlan } from '../../src/domain/rollout/types';
import { Scenario, trafficPlan } from './harness';

const hookUrl = 'https://hooks.test/greenlight';
const hookSecret = `whsec_${Buffer.from('scenario-signing-key-0123456789abcdef').toString('base64')}`;
const hook: NotificationChannel = {
  kind: 'webhook',
  name: 'ops-hook',
  urlSetting: 'OPS_HOOK_URL',
  secretSetting: 'OPS_HOOK_SECRET',
  events: ['*'],
  ratePerSecond: 10,
};
const approvalPlan = (overrides: Partial<RolloutPlan> = {}): RolloutPlan =>
  trafficPlan({
    approval: {
      required: true,
      timeoutMs: 3_600_000,
      onTimeout: 'rollback',
      approvers: ['alice@contoso.com'],
    },
    notifications: [hook],
    ...overrides,
  });

interface Received {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

function scenario(): Scenario {
  const s = new Scenario();
  s.notify.settings.set('OPS_HOOK_URL', hookUrl);
  s.notify.settings.set('OPS_HOOK_SECRET', hookSecret);
  return s;
}

function kinds(s: Scenario): string[] {
  return (s.notify.bodiesTo(hookUrl) as Received[]).map((e) => e.type.split('.').pop()!);
}

describe('notifications from a rollout', () => {
  it('tells the channel each step once, however often the orchestration replays', async () => {
    const s = scenario();
    const id = await s.start('v2', approvalPlan());
    const waiting = await s.phase(id, 'WaitingApproval');
    expect(kinds(s)).toEqual(['started', 'waitingApproval']);
    const asked = (s.notify.bodiesTo(hookUrl) as Received[])[1]!;
    expect(asked.data).toEqual(
      expect.objectContaining({
        rolloutId: id,
        approvers: ['alice@contoso.com'],
        expiresAt: waiting.approval.expiresAt,
        links: { approvalPage: waiting.approval.pageUrl },
        image: expect.objectContaining({ to: 'registry.test/web:v2' }),
      }),
    );
    await s.approve(id, 'alice@contoso.com');
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(kinds(s)).toEqual(['started', 'waitingApproval', 'approved', 'promoted', 'succeeded']);
    // Deliveries ran once each (the orchestration replayed after every one of them).
    expect(s.calls('deliverNotification')).toHaveLength(5);
    expect(status.notifications?.map((n) => [n.event, n.status])).toEqual([
      ['started', 'delivered'],
      ['waitingApproval', 'delivered'],
      ['approved', 'delivered'],
      ['promoted', 'delivered'],
      ['succeeded', 'delivered'],
    ]);
    expect(JSON.stringify(status)).not.toContain(hookUrl);
    expect(JSON.stringify(status)).not.toContain(hookSecret);
    const ids = (s.notify.bodiesTo(hookUrl) as Received[]).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    s.stop();
  });

  it('says why a rollout rolled back', async () => {
    const s = scenario();
    const id = await s.start('v2', approvalPlan());
    await s.phase(id, 'WaitingApproval');
    await s.reject(id, 'bob@contoso.com', 'wrong week');
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(kinds(s)).toEqual(['started', 'waitingApproval', 'rejected', 'rolledBack']);
    const last = (s.notify.bodiesTo(hookUrl) as Received[]).at(-1)!;
    expect(last.data.reason).toBe('rejected by bob@contoso.com: wrong week');
    s.stop();
  });

  it('sends only the events a channel asked for', async () => {
    const s = scenario();
    const id = await s.start(
      'v2',
      approvalPlan({ notifications: [{ ...hook, events: ['waitingApproval'] }] }),
    );
    await s.phase(id, 'WaitingApproval');
    await s.approve(id);
    await s.finish(id);
    expect(kinds(s)).toEqual(['waitingApproval']);
    s.stop();
  });

  it('a channel that is down leaves the outcome and timing unchanged', async () => {
    const timeline = async (down: boolean) => {
      const s = scenario();
      if (down) s.notify.down.add(hookUrl);
      const id = await s.start('v2', approvalPlan());
      await s.phase(id, 'WaitingApproval');
      await s.approve(id);
      const { status, result } = await s.finish(id);
      s.stop();
      return { status, result, timeline: status.timeline.map((t) => [t.phase, t.at]) };
    };
    const up = await timeline(false);
    const down = await timeline(true);
    expect(down.result.outcome).toBe('Succeeded');
    expect(down.timeline).toEqual(up.timeline);
    expect(down.status.notifications).toHaveLength(5);
    for (const n of down.status.notifications ?? []) {
      expect(n.status).toBe('failed');
      expect(n.attempts).toBeGreaterThan(1);
      // Bounded: every delivery gave up within its budget.
      expect(n.durationMs).toBeLessThanOrEqual(10_000);
    }
  });
});

describe('the audit trail of a rollout', () => {
  const entries = async (s: Scenario, id: string) =>
    (await s.audit.query({ rolloutId: id, limit: 500 })).entries.reverse();

  it('one entry per traffic write and one finish, however often the orchestration replays', async () => {
    const s = scenario();
    const id = await s.start('v2', trafficPlan());
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    const trail = await entries(s, id);
    const writes = s.containerApps.writes.filter((w) => w.op === 'setTraffic' && w.accepted);
    expect(writes.length).toBeGreaterThan(1);
    expect(trail.filter((e) => e.kind === 'traffic.written').map((e) => e.after)).toEqual(
      writes.map((w) => ({ traffic: w.traffic })),
    );
    expect(trail.filter((e) => e.kind === 'rollout.finished')).toEqual([
      expect.objectContaining({ outcome: 'Succeeded' }),
    ]);
    s.stop();
  });

  it('one entry per undo of a rollback', async () => {
    const s = scenario();
    const id = await s.start('v2', approvalPlan({ notifications: [] }));
    await s.phase(id, 'WaitingApproval');
    await s.reject(id);
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    const trail = await entries(s, id);
    const undos = trail.filter((e) => e.kind === 'compensation.ran');
    expect(undos.length).toBeGreaterThan(0);
    expect(undos.every((e) => e.outcome === 'succeeded')).toBe(true);
    expect(new Set(undos.map((e) => e.id)).size).toBe(undos.length);
    expect(trail.filter((e) => e.kind === 'rollout.finished')).toEqual([
      expect.objectContaining({ outcome: 'RolledBack' }),
    ]);
    s.stop();
  });
});
