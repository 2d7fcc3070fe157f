import type { NotificationChannel } from '../../src/domain/notify';
import { errorCode } from '../../src/domain/errors';
import { reminderLeadMs } from '../../src/domain/notify';
import { parsePolicies } from '../../src/domain/policy';
import { planFromPolicy } from '../../src/domain/request/plan';
import type { RolloutPlan } from '../../src/domain/rollout/types';
import type { DurableEngine } from '../../local/runtime/engine';
import { Scenario, flagPlan, gate, trafficPlan, type ScenarioOptions } from './harness';

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

function scenario(opts: ScenarioOptions = {}): Scenario {
  const s = new Scenario(opts);
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
    expect(kinds(s)).toEqual([
      'started',
      'waitingApproval',
      'approved',
      'stepAdvanced',
      'stepAdvanced',
      'stepAdvanced',
      'promoted',
      'succeeded',
    ]);
    // Deliveries ran once each (the orchestration replayed after every one of them).
    expect(s.calls('deliverNotification')).toHaveLength(8);
    expect(status.notifications?.map((n) => [n.event, n.status])).toEqual([
      ['started', 'delivered'],
      ['waitingApproval', 'delivered'],
      ['approved', 'delivered'],
      ['stepAdvanced', 'delivered'],
      ['stepAdvanced', 'delivered'],
      ['stepAdvanced', 'delivered'],
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
    expect(down.status.notifications).toHaveLength(8);
    for (const n of down.status.notifications ?? []) {
      expect(n.status).toBe('failed');
      expect(n.attempts).toBeGreaterThan(1);
      // Bounded: every delivery gave up within its budget.
      expect(n.durationMs).toBeLessThanOrEqual(10_000);
    }
  });
});

/** The events of one kind delivered to the hook, as received. */
function received(s: Scenario, kind: string): Received[] {
  return (s.notify.bodiesTo(hookUrl) as (Received & { time: string })[]).filter((e) =>
    e.type.endsWith(`.${kind}`),
  );
}

/**
 * Moves the virtual clock one timer at a time until the hook received `kind`; unlike `runUntil`, it goes
 * on after the rollout reported its outcome (the undo window runs after Succeeded).
 */
async function untilTold(s: Scenario, kind: string, maxTimers = 50): Promise<void> {
  const engine = (s as unknown as { engine: DurableEngine }).engine;
  for (let i = 0; i < maxTimers && received(s, kind).length === 0; i++) {
    let allowed = 1;
    engine.setTimeSkipping(() => allowed-- > 0);
    await engine.whenIdle();
  }
  expect(kinds(s)).toContain(kind);
}

describe('notifications of steps, gates and reminders', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  it('each traffic step says where green came from and where it is now, once', async () => {
    s = scenario();
    const id = await s.start('v2', trafficPlan({ notifications: [hook] }));
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    const steps = received(s, 'stepAdvanced').map((e) => e.data);
    expect(steps.map((d) => [d.step, d.steps, d.fromWeight, d.weight, d.via])).toEqual([
      [1, 3, 0, 10, 'traffic'],
      [2, 3, 10, 50, 'traffic'],
      [3, 3, 50, 100, 'traffic'],
    ]);
    expect(steps[1]!.title).toBe('Traffic step 2 of 3: 50% to green (web)');
    // Once each, though the orchestration replayed after every delivery.
    expect(s.calls('deliverNotification')).toHaveLength(6);
    // Each step went out while green held that weight: after its traffic write, before the next.
    expect(kinds(s)).toEqual([
      'started',
      'stepAdvanced',
      'stepAdvanced',
      'stepAdvanced',
      'promoted',
      'succeeded',
    ]);
  });

  it('the flag flip is the one step of a flag rollout', async () => {
    s = scenario();
    const id = await s.start('v2', flagPlan({ notifications: [hook] }));
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(received(s, 'stepAdvanced').map((e) => e.data)).toEqual([
      expect.objectContaining({ step: 1, steps: 1, fromWeight: 0, weight: 100, via: 'flag' }),
    ]);
  });

  it('a failed gate names its values and thresholds, before the rollback it causes', async () => {
    s = scenario({
      gates: {
        'error-rate': [
          { value: 0.01, sampleSize: 100 },
          { value: 0.2, sampleSize: 100 },
        ],
      },
    });
    const id = await s.start('v2', trafficPlan({ gates: [gate('error-rate')], notifications: [hook] }));
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(kinds(s)).toEqual(['started', 'gateFailed', 'rolledBack']);
    expect(received(s, 'gateFailed')[0]!.data).toEqual(
      expect.objectContaining({
        gate: 'error-rate',
        phase: 'prePromotion',
        condition: 'success: result < 0.05',
        limits: 'count 3, failureLimit 0, inconclusiveLimit 0',
        values: [
          expect.objectContaining({ value: 0.01, verdict: 'success' }),
          expect.objectContaining({ value: 0.2, verdict: 'failure' }),
        ],
        message: expect.stringMatching(/failed \(1\) > failureLimit \(0\)/),
      }),
    );
  });

  it('a gate failing on a traffic step is told with its phase', async () => {
    s = scenario({ gates: { 'error-rate': [{ value: 0.3, sampleSize: 100 }] } });
    const id = await s.start(
      'v2',
      trafficPlan({ gates: [gate('error-rate', { phases: ['eachStep'], count: 1 })], notifications: [hook] }),
    );
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(kinds(s)).toEqual(['started', 'stepAdvanced', 'gateFailed', 'rolledBack']);
    expect(received(s, 'gateFailed')[0]!.data).toEqual(
      expect.objectContaining({ phase: 'eachStep', values: [expect.objectContaining({ value: 0.3 })] }),
    );
  });

  it('an inconclusive gate that pauses is told, then the approval it asks for says why', async () => {
    s = scenario({ gates: { latency: [{ value: 0.01, sampleSize: 2 }] } });
    const id = await s.start(
      'v2',
      approvalPlan({
        approval: { required: false, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
        gates: [
          gate('latency', { minSampleSize: 50, inconclusiveLimit: 5, count: 2, onInconclusive: 'pause' }),
        ],
      }),
    );
    await s.phase(id, 'WaitingApproval');
    expect(kinds(s)).toEqual(['started', 'gateInconclusive', 'waitingApproval']);
    expect(received(s, 'gateInconclusive')[0]!.data).toEqual(
      expect.objectContaining({ gate: 'latency', limits: expect.stringContaining('minSampleSize 50') }),
    );
    expect(received(s, 'waitingApproval')[0]!.data.reason).toMatch(/gate latency inconclusive/);
  });

  it('a gate failing in the watch is told with its phase, before the rollback', async () => {
    s = scenario({
      gates: {
        'error-rate': [
          { value: 0.01, sampleSize: 100 },
          { value: 0.4, sampleSize: 100 },
        ],
      },
    });
    const id = await s.start(
      'v2',
      trafficPlan({
        gates: [gate('error-rate', { phases: ['watch'], count: 5 })],
        watch: { durationMs: 600_000, intervalMs: 60_000 },
        notifications: [hook],
      }),
    );
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(kinds(s).slice(-2)).toEqual(['gateFailed', 'rolledBack']);
    expect(received(s, 'gateFailed')[0]!.data).toEqual(
      expect.objectContaining({
        gate: 'error-rate',
        phase: 'watch',
        values: expect.arrayContaining([expect.objectContaining({ value: 0.4, verdict: 'failure' })]),
      }),
    );
  });

  describe('the approval reminder', () => {
    const hour = 3_600_000;

    it('goes out a quarter of the timeout before expiry while nobody has decided, then the timeout', async () => {
      s = scenario();
      const id = await s.start('v2', approvalPlan());
      const waiting = await s.phase(id, 'WaitingApproval');
      const expiresAt = Date.parse(waiting.approval.expiresAt!);
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(kinds(s)).toEqual(['started', 'waitingApproval', 'approvalReminder', 'timedOut', 'rolledBack']);
      const [reminder] = received(s, 'approvalReminder') as (Received & { time: string })[];
      expect(Date.parse(reminder!.time)).toBe(expiresAt - hour / 4);
      expect(reminder!.data).toEqual(
        expect.objectContaining({
          expiresAt: waiting.approval.expiresAt,
          approvers: ['alice@contoso.com'],
          links: { approvalPage: waiting.approval.pageUrl },
        }),
      );
    });

    it('is not sent once a person decided before it was due', async () => {
      s = scenario();
      const id = await s.start('v2', approvalPlan());
      await s.phase(id, 'WaitingApproval');
      await s.approve(id);
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(kinds(s)).not.toContain('approvalReminder');
      expect(kinds(s)).toContain('approved');
    });

    it('is sent once, and the decision after it still counts', async () => {
      s = scenario();
      const id = await s.start('v2', approvalPlan());
      await s.runUntil(id, (st) => (st.notifications ?? []).some((n) => n.event === 'approvalReminder'));
      expect(kinds(s)).toEqual(['started', 'waitingApproval', 'approvalReminder']);
      await s.approve(id);
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(kinds(s).filter((k) => k === 'approvalReminder')).toHaveLength(1);
      expect(kinds(s).slice(0, 4)).toEqual(['started', 'waitingApproval', 'approvalReminder', 'approved']);
    });

    it('follows the policy lead, and PT0S turns it off', async () => {
      s = scenario();
      const id = await s.start(
        'v2',
        approvalPlan({
          approval: {
            required: true,
            timeoutMs: hour,
            onTimeout: 'rollback',
            approvers: [],
            remindBeforeMs: 600_000,
          },
        }),
      );
      const waiting = await s.phase(id, 'WaitingApproval');
      await s.finish(id);
      const [reminder] = received(s, 'approvalReminder') as (Received & { time: string })[];
      expect(Date.parse(reminder!.time)).toBe(Date.parse(waiting.approval.expiresAt!) - 600_000);
      s.stop();

      s = scenario();
      const off = await s.start(
        'v2',
        approvalPlan({
          approval: {
            required: true,
            timeoutMs: hour,
            onTimeout: 'rollback',
            approvers: [],
            remindBeforeMs: 0,
          },
        }),
      );
      await s.finish(off);
      expect(kinds(s)).toEqual(['started', 'waitingApproval', 'timedOut', 'rolledBack']);
    });

    it('sets no timer for a policy whose channels do not want it', async () => {
      const timers = async (events: string[]) => {
        s = scenario();
        const id = await s.start('v2', approvalPlan({ notifications: [{ ...hook, events }] }));
        await s.finish(id);
        const actions = (await s.instance(id))?.actionLog ?? [];
        s.stop();
        return actions.filter((a) => /timer/i.test(a)).length;
      };
      const without = await timers(['waitingApproval']);
      expect(await timers(['approvalReminder'])).toBe(without + 1);
    });
  });

  describe('the undo window closing', () => {
    const cleanup = { deactivateAfterMs: 0, keepRevisions: 2, undoWindowMs: 1_200_000 };

    it('is told a quarter of the window before it closes, with the command that rolls back afterwards', async () => {
      s = scenario();
      const id = await s.start('v2', trafficPlan({ cleanup, notifications: [hook] }));
      const succeeded = await s.phase(id, 'Succeeded');
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(kinds(s).slice(-2)).toEqual(['succeeded', 'undoWindowClosing']);
      const [closing] = received(s, 'undoWindowClosing') as (Received & { time: string })[];
      expect(closing!.data.closesAt).toBe(succeeded.undo?.until);
      expect(Date.parse(closing!.time)).toBe(Date.parse(succeeded.undo!.until) - 300_000);
      expect(closing!.data.command).toBe(succeeded.undo?.command);
    });

    it('is not told after an undo, nor when the policy turns it off', async () => {
      s = scenario();
      const id = await s.start('v2', trafficPlan({ cleanup, notifications: [hook] }));
      await s.phase(id, 'Succeeded');
      await s.undo(id);
      expect((await s.finish(id)).result.outcome).toBe('Undone');
      expect(kinds(s)).not.toContain('undoWindowClosing');
      expect(kinds(s).at(-1)).toBe('undone');
      s.stop();

      s = scenario();
      const off = await s.start(
        'v2',
        trafficPlan({ cleanup: { ...cleanup, remindBeforeUndoClosesMs: 0 }, notifications: [hook] }),
      );
      await s.finish(off);
      expect(kinds(s)).not.toContain('undoWindowClosing');
    });

    it('an undo after the notice is still acted on', async () => {
      s = scenario();
      const id = await s.start('v2', trafficPlan({ cleanup, notifications: [hook] }));
      await s.phase(id, 'Succeeded');
      await untilTold(s, 'undoWindowClosing');
      await s.undo(id);
      expect((await s.finish(id)).result.outcome).toBe('Undone');
      expect(kinds(s).slice(-2)).toEqual(['undoWindowClosing', 'undone']);
    });
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

describe('reminder leads in the policy', () => {
  const base = `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
`;
  const problemsOf = (text: string): string[] => {
    try {
      parsePolicies(text, 'p.yaml');
    } catch (e) {
      expect(errorCode(e)).toBe('InvalidPolicy');
      return (e as { details: { problems: string[] } }).details.problems;
    }
    throw new Error('policy was accepted');
  };

  it('default to a quarter of the wait, in the plan as absent', () => {
    const [policy] = parsePolicies(`${base}approval: { required: true, timeout: PT24H }\n`);
    expect(policy!.approval.remindBefore).toBeUndefined();
    expect(reminderLeadMs(policy!.approval.timeout, policy!.approval.remindBefore)).toBe(6 * 3_600_000);
    expect(reminderLeadMs(1_800_000, undefined)).toBe(450_000);
    expect(reminderLeadMs(3_600_000, 0)).toBe(0);
  });

  it('are read as durations and reach the plan', () => {
    const [policy] = parsePolicies(
      `${base}approval: { required: true, timeout: PT1H, remindBefore: PT10M }\ncleanup: { undoWindow: PT30M, remindBeforeUndoCloses: PT5M }\n`,
    );
    expect(policy!.approval.remindBefore).toBe(600_000);
    expect(policy!.cleanup.remindBeforeUndoCloses).toBe(300_000);
    const plan = planFromPolicy(policy!);
    expect(plan.approval.remindBeforeMs).toBe(600_000);
    expect(plan.cleanup.remindBeforeUndoClosesMs).toBe(300_000);
  });

  it('must be shorter than the wait they remind of, naming the field', () => {
    const problems = problemsOf(
      `${base}approval: { required: true, timeout: PT1H, remindBefore: PT2H }\ncleanup: { undoWindow: PT30M, remindBeforeUndoCloses: PT30M }\n`,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/approval\.remindBefore.*must be shorter than approval\.timeout/),
        expect.stringMatching(/cleanup\.remindBeforeUndoCloses.*must be shorter than the undo window/),
      ]),
    );
    expect(problemsOf(`${base}approval: { remindBefore: soon }\n`)).toEqual([
      expect.stringMatching(/approval\.remindBefore.*ISO 8601 duration/),
    ]);
  });
});
