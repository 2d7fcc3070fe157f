import type { ReleaseInput, ReleasePlan, ReleaseStatus } from '../../src/domain/release/types';
import type { NotificationChannel } from '../../src/domain/notify/channels';
import type { TrafficEntry } from '../../src/domain/ports';
import type { RolloutPlan, RolloutStatus } from '../../src/domain/rollout/types';
import { memberRolloutId } from '../../src/names';
import { app, flagStrategy, gate, Scenario, trafficPlan, type ScenarioOptions } from './harness';

const names = ['api', 'cart', 'pay'];
const releaseId = 'shop-1';

interface Member {
  name: string;
  tag?: string;
  plan?: Partial<RolloutPlan>;
}

/** A member's plan: the harness's traffic plan for app `name`. */
function memberPlan(name: string, overrides: Partial<RolloutPlan> = {}): RolloutPlan {
  return trafficPlan({ policyName: name, app: { ...app, name }, ...overrides });
}

function releasePlan(overrides: Partial<ReleasePlan> = {}): ReleasePlan {
  return {
    name: 'shop',
    order: 'sequence',
    members: names,
    approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
    bakeMs: 0,
    watch: { durationMs: 0, intervalMs: 60_000 },
    undoWindowMs: 0,
    concurrency: 'supersede',
    queue: { pollIntervalMs: 30_000, timeoutMs: 3_600_000 },
    ...overrides,
  };
}

function releaseInput(
  s: Scenario,
  members: Member[] = names.map((name) => ({ name })),
  plan: Partial<ReleasePlan> = {},
  id = releaseId,
): ReleaseInput {
  const at = new Date(s.clock.now()).toISOString();
  return {
    releaseId: id,
    plan: releasePlan({ members: members.map((m) => m.name), ...plan }),
    members: members.map((m) => {
      const rolloutId = memberRolloutId(id, m.name);
      const tag = m.tag ?? 'v2';
      return {
        app: m.name,
        rolloutId,
        input: {
          rolloutId,
          plan: memberPlan(m.name, m.plan),
          image: `registry.test/${m.name}:${tag}`,
          revisionSuffix: tag,
          trigger: { kind: 'http', requestedBy: 'scenario' },
          requestedAt: at,
          release: { releaseId: id, parentInstanceId: id, app: m.name },
        },
      };
    }),
    trigger: { kind: 'http', requestedBy: 'scenario' },
    requestedAt: at,
  };
}

function scenario(opts: ScenarioOptions = {}): Scenario {
  return new Scenario({ apps: names, ...opts });
}

const blueOf = (name: string): TrafficEntry[] => [{ revisionName: `${name}--blue`, weight: 100 }];

/** Every member app's traffic is exactly its snapshot (blue at 100%, as the fakes start). */
function expectAllRestored(s: Scenario, members = names): void {
  for (const name of members) expect(s.apps.of(name).currentTraffic()).toEqual(blueOf(name));
}

/** The apps in the order their green first left 0%, and in the order their snapshot was written back. */
function trafficOrder(s: Scenario): { promoted: string[]; restored: string[] } {
  const promoted: string[] = [];
  const restored: string[] = [];
  for (const c of s.activityCalls) {
    if (c.name !== 'setTraffic') continue;
    const { app: a, traffic } = c.input as { app: { name: string }; traffic: TrafficEntry[] };
    const green = traffic.find((t) => t.revisionName !== `${a.name}--blue` && t.weight > 0);
    if (green && !promoted.includes(a.name)) promoted.push(a.name);
    const back =
      traffic.length === 1 && traffic[0]!.revisionName === `${a.name}--blue` && traffic[0]!.weight === 100;
    if (back && promoted.includes(a.name) && !restored.includes(a.name)) restored.push(a.name);
  }
  return { promoted, restored };
}

async function memberStatus(s: Scenario, name: string, id = releaseId): Promise<RolloutStatus> {
  return (await s.status(memberRolloutId(id, name)))!;
}

/** A rollout of `name` that waits for its approval, holding the app as admission would. */
async function holdWithRunningRollout(s: Scenario, name: string, rolloutId: string): Promise<void> {
  s.slots.of(name).holder = rolloutId;
  const plan = memberPlan(name, {
    approval: { required: true, timeoutMs: 86_400_000, onTimeout: 'rollback', approvers: [] },
  });
  await s.phase(await s.start('v9', plan, rolloutId), 'WaitingApproval');
}

const phaseIs = (phase: ReleaseStatus['phase']) => (st: ReleaseStatus) => st.phase === phase;

describe('coordinated release', () => {
  let s: Scenario;
  afterEach(() => s?.stop());

  it('sequence: one approval, each member promoted fully before the next, all succeed', async () => {
    s = scenario();
    const id = await s.startRelease(releaseInput(s));
    const waiting = await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    expect(waiting.members.every((m) => m.phase === 'Validated')).toBe(true);
    expect(waiting.approval).toMatchObject({ state: 'pending', pageUrl: expect.stringContaining(id) });
    // No member shifted any traffic before the approval.
    expect(trafficOrder(s).promoted).toEqual([]);
    // Members wait for the release: none has an approval of its own.
    expect(s.calls('createApprovalLinks')).toEqual([expect.objectContaining({ rolloutId: id })]);
    await s.approve(id);
    const { status, result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    expect(status.phase).toBe('Succeeded');
    expect(status.approval).toMatchObject({ state: 'approved', by: 'alice@contoso.com' });
    for (const name of names) {
      expect(
        s.apps
          .of(name)
          .currentTraffic()
          .find((t) => t.weight === 100)?.revisionName,
      ).toBe(`${name}--v2`);
      expect((await memberStatus(s, name)).outcome).toBe('Succeeded');
    }
    expect(trafficOrder(s).promoted).toEqual(names);
    // Sequence: api took all its steps before cart's first.
    const writes = s.activityCalls
      .filter((c) => c.name === 'setTraffic')
      .map((c) => (c.input as { app: { name: string } }).app.name);
    expect(writes.lastIndexOf('api')).toBeLessThan(writes.indexOf('cart', writes.indexOf('api')) + 1000);
    for (const w of s.apps.of('api').writes) expect(w.accepted).toBe(true);
    // The release's end is in the audit trail once, under the release.
    const audited = (await s.audit.query({ rolloutId: id, limit: 50 })).entries;
    expect(audited.map((e) => [e.kind, 'outcome' in e ? e.outcome : undefined])).toEqual([
      ['release.finished', 'Succeeded'],
    ]);
  });

  it('every member watches at least the release watch, whatever its own', async () => {
    s = scenario();
    const id = await s.startRelease(
      releaseInput(s, undefined, {
        approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
        watch: { durationMs: 600_000, intervalMs: 60_000 },
      }),
    );
    const watching = await s.runReleaseUntil(id, phaseIs('Watching'));
    expect(watching.members.some((m) => m.phase !== 'Watched')).toBe(true);
    const { result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    for (const name of names) {
      const member = await memberStatus(s, name);
      expect(member.timeline.map((t) => t.phase)).toContain('Watching');
      expect(await s.instance(`${memberRolloutId(id, name)}:watch`)).toMatchObject({
        runtimeStatus: 'Completed',
      });
    }
  });

  it('lockstep: step i of every member before step i + 1, a member with fewer steps done early', async () => {
    s = scenario();
    const members: Member[] = [
      {
        name: 'api',
        plan: {
          strategy: {
            type: 'traffic',
            steps: [10, 50, 100],
            stepPauseMs: 60_000,
            recheckSmokeEachStep: false,
          },
        },
      },
      {
        name: 'cart',
        plan: {
          strategy: {
            type: 'traffic',
            steps: [10, 50, 100],
            stepPauseMs: 30_000,
            recheckSmokeEachStep: false,
          },
        },
      },
      {
        name: 'pay',
        plan: {
          strategy: { type: 'traffic', steps: [50, 100], stepPauseMs: 60_000, recheckSmokeEachStep: false },
        },
      },
    ];
    const id = await s.startRelease(
      releaseInput(s, members, {
        order: 'lockstep',
        approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
      }),
    );
    const { result, status } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    expect(status.approval?.state).toBe('notRequired');
    const weights = s.activityCalls
      .filter((c) => c.name === 'setTraffic')
      .map((c) => {
        const { app: a, traffic } = c.input as { app: { name: string }; traffic: TrafficEntry[] };
        return `${a.name}:${traffic.find((t) => t.revisionName === `${a.name}--v2`)?.weight ?? 0}`;
      })
      .filter((w) => !w.endsWith(':0'));
    const at = (w: string) => weights.indexOf(w);
    // Step 1 of all before step 2 of any, step 2 of all before step 3 of any.
    for (const first of ['api:10', 'cart:10', 'pay:50']) {
      for (const next of ['api:50', 'cart:50', 'pay:100']) expect(at(first)).toBeLessThan(at(next));
    }
    for (const second of ['api:50', 'cart:50', 'pay:100']) {
      for (const next of ['api:100', 'cart:100']) expect(at(second)).toBeLessThan(at(next));
    }
    for (const name of names) {
      expect(
        s.apps
          .of(name)
          .currentTraffic()
          .find((t) => t.weight === 100)?.revisionName,
      ).toBe(`${name}--v2`);
    }
  });

  describe('a member failing restores every member to its snapshot, promoted ones in reverse promotion order', () => {
    const flagPay: Member = { name: 'pay', tag: 'v2m', plan: { strategy: flagStrategy, smoke: [] } };

    async function failing(
      setup: (s: Scenario) => void,
      members: Member[] = names.map((name) => ({ name })),
      opts: ScenarioOptions = {},
      plan: Partial<ReleasePlan> = {},
    ) {
      s = scenario(opts);
      setup(s);
      const id = await s.startRelease(releaseInput(s, members, plan));
      // Approve whenever asked (a failure before validation ends the release first).
      const st = await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
      if (!st.outcome) await s.approve(id);
      const { status, result } = await s.finishRelease(id);
      return { status, result };
    }

    it.each([
      ['deploy', (x: Scenario) => x.apps.of('cart').failNext(20, ['deployGreen']), /step failed/],
      ['readiness', () => undefined, /cart--v2bad/],
    ] as const)('at %s: the members not yet promoted restore themselves', async (_stage, setup, why) => {
      const members = names.map((name) =>
        name === 'cart' && _stage === 'readiness' ? { name, tag: 'v2bad' } : { name },
      );
      const { status, result } = await failing(setup, members, {
        images: { v2bad: { fails: 'container crashed' } },
      });
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toMatch(/member cart ended RolledBack/);
      expect(status.reason).toMatch(why);
      expectAllRestored(s);
      expect(trafficOrder(s).promoted).toEqual([]);
      for (const m of result.members) expect(m.outcome).toBe('RolledBack');
    });

    it('at smoke checks', async () => {
      const { status, result } = await failing((x) => x.smoke.failing.add('pay--v2'));
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toMatch(/member pay ended RolledBack: smoke checks failed on pay--v2/);
      expectAllRestored(s);
    });

    it('at the mock validation of a flag member', async () => {
      const { status, result } = await failing(
        () => undefined,
        [{ name: 'api' }, { name: 'cart' }, flagPay],
        {
          workers: { v2m: { malformed: ['payload'] } },
        },
      );
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toMatch(/member pay ended RolledBack/);
      expectAllRestored(s, ['api', 'cart']);
      expect(status.members.map((m) => m.outcome)).toEqual(['RolledBack', 'RolledBack', 'RolledBack']);
      // The flag member's control record is its snapshot again, green's mock output gone.
      expect(s.flags.current()?.revisions['pay--v2m']).toBeUndefined();
      expect(s.flags.mockKeysDropped('pay--v2m')).toBe(true);
    });

    it('at a pre-promotion gate', async () => {
      const { status, result } = await failing(
        () => undefined,
        [{ name: 'api' }, { name: 'cart', plan: { gates: [gate('cart-errors')] } }, { name: 'pay' }],
        { gates: { 'cart-errors': [{ value: 0.5, sampleSize: 100 }] } },
      );
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toMatch(/member cart ended RolledBack: prePromotion gates failed: cart-errors/);
      expectAllRestored(s);
    });

    it('at a traffic step of the second member: it and the first (already promoted) restore, newest first', async () => {
      const { status, result } = await failing(
        () => undefined,
        [
          { name: 'api' },
          { name: 'cart', plan: { gates: [gate('cart-steps', { phases: ['eachStep'], count: 1 })] } },
          { name: 'pay' },
        ],
        { gates: { 'cart-steps': [{ value: 0.5, sampleSize: 100 }] } },
      );
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toMatch(/member cart ended RolledBack: eachStep gates failed: cart-steps/);
      expectAllRestored(s);
      expect(trafficOrder(s)).toEqual({ promoted: ['api', 'cart'], restored: ['cart', 'api'] });
      expect(status.members.map((m) => [m.app, m.promoted, m.outcome])).toEqual([
        ['api', true, 'RolledBack'],
        ['cart', true, 'RolledBack'],
        ['pay', false, 'RolledBack'],
      ]);
    });

    it('in the watch: every promoted member restores, in reverse promotion order', async () => {
      const watched = { watch: { durationMs: 600_000, intervalMs: 60_000 } };
      const { status, result } = await failing(
        () => undefined,
        [
          { name: 'api', plan: watched },
          { name: 'cart', plan: watched },
          { name: 'pay', plan: { ...watched, gates: [gate('pay-watch', { phases: ['watch'], count: 10 })] } },
        ],
        {
          gates: {
            'pay-watch': [
              { value: 0, sampleSize: 100 },
              { value: 0.5, sampleSize: 100 },
            ],
          },
        },
      );
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toMatch(/member pay ended RolledBack: post-promotion watch failed/);
      expectAllRestored(s);
      expect(trafficOrder(s)).toEqual({ promoted: names, restored: ['pay', 'cart', 'api'] });
    });
  });

  describe('approval', () => {
    it('a promote skips the approval (and the bake)', async () => {
      s = scenario();
      const id = await s.startRelease(releaseInput(s, undefined, { bakeMs: 3_600_000 }));
      await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
      await s.promote(id);
      const { status, result } = await s.finishRelease(id);
      expect(result.outcome).toBe('Succeeded');
      expect(status.approval).toMatchObject({ state: 'skipped', by: 'ops@contoso.com' });
      expect(status.timeline.map((t) => t.note ?? '')).toContain('bake skipped by ops@contoso.com');
    });

    it('a member gate that could not decide asks for the release approval, and a timeout never promotes', async () => {
      s = scenario({ gates: { latency: [{ value: 0.01, sampleSize: 2 }] } });
      const paused = gate('latency', {
        minSampleSize: 50,
        inconclusiveLimit: 5,
        count: 2,
        onInconclusive: 'pause',
      });
      const id = await s.startRelease(
        releaseInput(s, [{ name: 'api' }, { name: 'cart', plan: { gates: [paused] } }, { name: 'pay' }], {
          approval: { required: false, timeoutMs: 3_600_000, onTimeout: 'promote', approvers: [] },
        }),
      );
      const waiting = await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
      expect(waiting.approval?.state).toBe('pending');
      expect(waiting.timeline.map((t) => t.note ?? '').join(' ')).toMatch(
        /approval needed: cart: gate latency inconclusive/,
      );
      const { result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toBe('approval timed out after PT1H');
      expectAllRestored(s);
    });

    it('a member ended by hand (no report of its end) stops the release; the others restore and it is named as left to check', async () => {
      s = scenario();
      const id = await s.startRelease(releaseInput(s));
      const waiting = await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
      const cart = waiting.members.find((m) => m.app === 'cart')!;
      await s.terminate(cart.rolloutId, 'ended by hand');
      const { result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RollbackFailed');
      expect(result.reason).toMatch(/member cart ended RollbackFailed: its rollout failed outright/);
      expect(JSON.stringify(result.leftToDo)).toMatch(/check cart against its snapshot/);
      // The members that were still running put their apps back.
      expectAllRestored(
        s,
        names.filter((n) => n !== 'cart'),
      );
    });

    it('rejected: every member restores, none was promoted', async () => {
      s = scenario();
      const id = await s.startRelease(releaseInput(s));
      await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
      await s.reject(id, 'bob@contoso.com', 'not during the sale');
      const { status, result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toBe('rejected by bob@contoso.com: not during the sale');
      expect(status.approval).toMatchObject({ state: 'rejected', by: 'bob@contoso.com' });
      const audited = (await s.audit.query({ rolloutId: id, limit: 50 })).entries;
      expect(audited.map((e) => [e.kind, 'outcome' in e ? e.outcome : undefined])).toEqual([
        ['release.finished', 'RolledBack'],
      ]);
      expectAllRestored(s);
      expect(trafficOrder(s).promoted).toEqual([]);
    });

    it('timed out: rolls back under onTimeout rollback, promotes under onTimeout promote', async () => {
      s = scenario();
      const id = await s.startRelease(releaseInput(s));
      const { status, result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toBe('approval timed out after PT1H');
      expect(status.approval?.state).toBe('timedOut');
      expectAllRestored(s);
      s.stop();

      s = scenario();
      const promoting = await s.startRelease(
        releaseInput(s, undefined, {
          approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'promote', approvers: [] },
        }),
      );
      expect((await s.finishRelease(promoting)).result.outcome).toBe('Succeeded');
    });
  });

  describe('abort', () => {
    const watched = {
      watch: { durationMs: 600_000, intervalMs: 60_000 },
      cleanup: { deactivateAfterMs: 0, keepRevisions: 2, undoWindowMs: 1_800_000 },
    };
    const all = (): Member[] => names.map((name) => ({ name, plan: watched }));

    it('while queued: nothing starts and no app is held', async () => {
      s = scenario();
      await holdWithRunningRollout(s, 'cart', 'another-rollout');
      const id = await s.startRelease(releaseInput(s));
      const queued = await s.runReleaseUntil(id, (st) => st.queuedBehind !== undefined);
      expect(queued.phase).toBe('Queued');
      expect(queued.queuedBehind).toEqual([{ app: 'cart', holder: 'another-rollout' }]);
      await s.abort(id);
      const { status, result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toBe('aborted by ops@contoso.com: stop');
      for (const name of names) expect(await s.instance(memberRolloutId(id, name))).toBeUndefined();
      expect((await s.status('another-rollout'))?.phase).toBe('WaitingApproval');
      expect([s.slots.of('api').holder, s.slots.of('cart').holder, s.slots.of('pay').holder]).toEqual([
        undefined,
        'another-rollout',
        undefined,
      ]);
    });

    it.each([
      [
        'Deploying',
        (st: ReleaseStatus) => st.phase === 'Deploying',
        { images: { v2: { readyAfterReads: 5 } } },
      ],
      ['WaitingApproval', phaseIs('WaitingApproval'), {}],
      ['Promoting', (st: ReleaseStatus) => st.phase === 'Promoting' && st.members[1]!.promoted, {}],
      ['Watching', phaseIs('Watching'), {}],
    ] as const)('while %s: every member restores its snapshot', async (_phase, at, opts) => {
      s = scenario(opts);
      const id = await s.startRelease(releaseInput(s, all()));
      let st = await s.runReleaseUntil(id, (x) => at(x) || x.phase === 'WaitingApproval');
      if (!at(st)) {
        await s.approve(id);
        st = await s.runReleaseUntil(id, at);
      }
      expect(st.outcome).toBeUndefined();
      const promotedBefore = st.members.filter((m) => m.promoted).map((m) => m.app);
      await s.abort(id);
      const { status, result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RolledBack');
      expect(status.reason).toBe('aborted by ops@contoso.com: stop');
      expectAllRestored(s);
      // Promoted members restored newest first.
      expect(trafficOrder(s).restored.slice(0, promotedBefore.length)).toEqual(
        [...trafficOrder(s).promoted].reverse().slice(0, promotedBefore.length),
      );
    });

    it('while baking', async () => {
      s = scenario();
      const id = await s.startRelease(
        releaseInput(s, undefined, {
          approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
          bakeMs: 600_000,
        }),
      );
      await s.runReleaseUntil(id, phaseIs('Baking'));
      await s.abort(id);
      const { result } = await s.finishRelease(id);
      expect(result.outcome).toBe('RolledBack');
      expectAllRestored(s);
    });

    it('after success (in the undo window): means undo, every member in reverse promotion order', async () => {
      s = scenario();
      const id = await s.startRelease(releaseInput(s, all(), { undoWindowMs: 1_800_000 }));
      await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
      await s.approve(id);
      const ok = await s.runReleaseUntil(id, phaseIs('Succeeded'));
      expect(ok.undo?.state).toBe('open');
      await s.abort(id, 'customers report errors');
      const { status, result } = await s.finishRelease(id);
      expect(result.outcome).toBe('Undone');
      expect(status.undo).toMatchObject({ state: 'undone', by: 'ops@contoso.com' });
      expectAllRestored(s);
      expect(trafficOrder(s)).toEqual({ promoted: names, restored: ['pay', 'cart', 'api'] });
      for (const m of result.members) expect(m.outcome).toBe('Undone');
    });
  });

  it('undo of a succeeded release restores every member, newest first, and ends Undone', async () => {
    s = scenario();
    const windowed = { cleanup: { deactivateAfterMs: 0, keepRevisions: 2, undoWindowMs: 1_800_000 } };
    const id = await s.startRelease(
      releaseInput(
        s,
        names.map((name) => ({ name, plan: windowed })),
        { undoWindowMs: 1_800_000 },
      ),
    );
    await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    await s.approve(id);
    await s.runReleaseUntil(id, phaseIs('Succeeded'));
    // The apps are free once every member succeeded.
    for (const name of names) expect(s.slots.of(name).holder).toBeUndefined();
    await s.undo(id, 'checkout broken');
    const { status, result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Undone');
    expect(status.reason).toBe('undone by ops@contoso.com: checkout broken');
    expectAllRestored(s);
    expect(trafficOrder(s).restored).toEqual(['pay', 'cart', 'api']);
  });

  it('queues behind a running rollout of a member app, then holds every app and goes on', async () => {
    s = scenario();
    const apiPlan = memberPlan('api', {
      approval: { required: true, timeoutMs: 86_400_000, onTimeout: 'rollback', approvers: [] },
    });
    s.slots.of('api').holder = 'r-api';
    const running = await s.start('v9', apiPlan, 'r-api');
    await s.phase(running, 'WaitingApproval');
    const id = await s.startRelease(
      releaseInput(s, undefined, {
        approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
      }),
    );
    const queued = await s.runReleaseUntil(id, (st) => st.queuedBehind !== undefined);
    expect(queued.queuedBehind).toEqual([{ app: 'api', holder: 'r-api' }]);
    // Nothing held while queued: the release takes all its apps or none.
    expect([s.slots.of('cart').holder, s.slots.of('pay').holder]).toEqual([undefined, undefined]);
    await s.approve(running);
    const { result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    // The rollout went first; the release took api from there (its snapshot was the rollout's green).
    expect((await s.status(running))?.outcome).toBe('Succeeded');
    expect(
      s.apps
        .of('api')
        .currentTraffic()
        .find((t) => t.weight === 100)?.revisionName,
    ).toBe('api--v2');
  });

  it('a member whose restore fails: RollbackFailed, with what is left to do per member', async () => {
    s = scenario({ gates: { 'cart-steps': [{ value: 0.5, sampleSize: 100 }] } });
    const minute = 60_000;
    const id = await s.startRelease(
      releaseInput(s, [
        { name: 'api', plan: { rollback: { retryForMs: 60 * minute, maxIntervalMs: 5 * minute } } },
        { name: 'cart', plan: { gates: [gate('cart-steps', { phases: ['eachStep'], count: 1 })] } },
        { name: 'pay' },
      ]),
    );
    await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    await s.approve(id);
    await s.runReleaseUntil(id, (st) => st.members[1]!.promoted);
    // From here api's traffic cannot be written: its restore will fail.
    s.apps.of('api').failFor(4 * 60 * minute, ['setTraffic']);
    const { status, result } = await s.finishRelease(id);
    expect(result.outcome).toBe('RollbackFailed');
    expect(status.phase).toBe('RollbackFailed');
    const api = result.members.find((m) => m.app === 'api')!;
    expect(api.outcome).toBe('RollbackFailed');
    const left = [
      expect.stringMatching(/^restore traffic to api--blue=100: \[ArmUnavailable\]/),
      expect.stringMatching(/^deactivate revision api--v2: .*still serves 100% of traffic/),
    ];
    expect(api.leftToDo).toEqual(left);
    expect(status.leftToDo).toEqual(api.leftToDo!.map((l) => `api: ${l}`));
    expect(status.members[0]!.leftToDo).toEqual(left);
    expect(result.members.filter((m) => m.app !== 'api').map((m) => m.outcome)).toEqual([
      'RolledBack',
      'RolledBack',
    ]);
    expectAllRestored(s, ['cart', 'pay']);
    expect(s.apps.of('api').currentTraffic()).not.toEqual(blueOf('api'));
  });

  it('ignores and records malformed events into the release and into a member', async () => {
    s = scenario();
    const id = await s.startRelease(releaseInput(s));
    await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    await s.raise(id, 'approval', { decision: 'maybe', approver: 'x', decidedAt: 'now' });
    await s.raise(id, 'abort', {});
    await s.raise(id, 'memberReport', { kind: 'validated' });
    await s.raise(id, 'memberReport', {
      kind: 'finished',
      app: 'ghost',
      rolloutId: 'ghost-1',
      outcome: 'RolledBack',
      promoted: false,
    });
    await s.raise(memberRolloutId(id, 'api'), 'releaseCommand', { action: 'jump' });
    const still = await s.runReleaseUntil(id, (st) => (st.ignoredEvents?.length ?? 0) >= 4);
    expect(still.phase).toBe('WaitingApproval');
    expect(still.ignoredEvents?.map((e) => e.name)).toEqual([
      'approval',
      'abort',
      'memberReport',
      'memberReport',
    ]);
    expect(still.ignoredEvents?.[0]?.problem).toMatch(/decision: must be 'approve' or 'reject'/);
    expect(still.ignoredEvents?.[3]?.problem).toMatch(/not a member of this release/);
    await s.approve(id);
    const { result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    const api = await memberStatus(s, 'api');
    expect(api.ignoredEvents?.map((e) => e.name)).toEqual(['releaseCommand']);
  });

  it('converges after a crash mid-promotion: a new engine resumes from the stored state', async () => {
    s = scenario();
    const id = await s.startRelease(releaseInput(s));
    await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    await s.approve(id);
    const mid = await s.runReleaseUntil(id, (st) => st.members[1]!.promoted && st.phase === 'Promoting');
    expect(mid.outcome).toBeUndefined();
    expect(await s.restart()).toBeGreaterThanOrEqual(3);
    const { result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    for (const name of names) {
      expect(
        s.apps
          .of(name)
          .currentTraffic()
          .find((t) => t.weight === 100)?.revisionName,
      ).toBe(`${name}--v2`);
      expect(s.apps.of(name).refusedWrites()).toEqual([]);
      // Each member ran once: one start in its history.
      const started = (await s.instance(memberRolloutId(id, name)))!.history.filter((h) => h.EventType === 0);
      expect(started).toHaveLength(1);
    }
  });

  it("tells the members' channels about the release once each: its approval and how it ended", async () => {
    const hook: NotificationChannel = {
      kind: 'webhook',
      name: 'ops-hook',
      urlSetting: 'OPS_HOOK_URL',
      secretSetting: 'OPS_HOOK_SECRET',
      events: ['waitingApproval', 'approved', 'rejected', 'succeeded', 'rolledBack'],
      ratePerSecond: 10,
    } as NotificationChannel;
    s = scenario();
    s.notify.settings.set('OPS_HOOK_URL', 'https://hooks.test/ops');
    s.notify.settings.set(
      'OPS_HOOK_SECRET',
      `whsec_${Buffer.from('release-signing-key-0123456789abcdef').toString('base64')}`,
    );
    const id = await s.startRelease(
      releaseInput(
        s,
        names.map((name) => ({ name, plan: { notifications: [hook] } })),
        {
          approval: {
            required: true,
            timeoutMs: 3_600_000,
            onTimeout: 'rollback',
            approvers: ['alice@contoso.com'],
          },
        },
      ),
    );
    const waiting = await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    await s.approve(id);
    await s.finishRelease(id);
    const bodies = s.notify.bodiesTo('https://hooks.test/ops') as {
      type: string;
      data: Record<string, unknown>;
    }[];
    const ofRelease = bodies.filter((b) => b.data.rolloutId === id);
    expect(ofRelease.map((b) => b.type.split('.').pop())).toEqual([
      'waitingApproval',
      'approved',
      'succeeded',
    ]);
    expect(ofRelease[0]!.data).toEqual(
      expect.objectContaining({
        policy: 'shop',
        approvers: ['alice@contoso.com'],
        expiresAt: waiting.approval?.expiresAt,
        links: { approvalPage: waiting.approval?.pageUrl },
        image: { to: 'api=registry.test/api:v2, cart=registry.test/cart:v2, pay=registry.test/pay:v2' },
      }),
    );
    // Members tell their own success; none asked for an approval of its own.
    const ofMembers = bodies.filter((b) => b.data.rolloutId !== id).map((b) => b.type.split('.').pop());
    expect(ofMembers.filter((k) => k === 'waitingApproval')).toEqual([]);
    expect(ofMembers.filter((k) => k === 'succeeded')).toHaveLength(3);
  });

  it('a member aborted on its own while it waits at a lockstep step: it and every other member restore', async () => {
    s = scenario();
    const steps = (stepPauseMs: number): Member['plan'] => ({
      strategy: { type: 'traffic', steps: [10, 50, 100], stepPauseMs, recheckSmokeEachStep: false },
    });
    const id = await s.startRelease(
      releaseInput(
        s,
        [
          { name: 'api', plan: steps(600_000) },
          { name: 'cart', plan: steps(30_000) },
          { name: 'pay', plan: steps(600_000) },
        ],
        {
          order: 'lockstep',
          approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
        },
      ),
    );
    // cart finished its first step's pause and waits for step 2; api and pay still pause.
    const st = await s.runReleaseUntil(
      id,
      (x) => x.members[1]!.step === 0 && x.members[0]!.step === undefined,
    );
    expect(st.step).toEqual({ index: 0, of: 3 });
    await s.abort(memberRolloutId(id, 'cart'), 'cart looks wrong');
    const { status, result } = await s.finishRelease(id);
    expect(result.outcome).toBe('RolledBack');
    expect(status.reason).toBe('member cart ended RolledBack: aborted by ops@contoso.com: cart looks wrong');
    expectAllRestored(s);
    // cart restored itself first; then the others, newest promoted first.
    expect(trafficOrder(s)).toEqual({ promoted: names, restored: ['cart', 'pay', 'api'] });
  });

  it('a member undone on its own in the undo window: the release undoes the others too (all or nothing)', async () => {
    s = scenario();
    const windowed = { cleanup: { deactivateAfterMs: 0, keepRevisions: 2, undoWindowMs: 1_800_000 } };
    const id = await s.startRelease(
      releaseInput(
        s,
        names.map((name) => ({ name, plan: windowed })),
        { undoWindowMs: 1_800_000 },
      ),
    );
    await s.runReleaseUntil(id, phaseIs('WaitingApproval'));
    await s.approve(id);
    await s.runReleaseUntil(id, phaseIs('Succeeded'));
    await s.undo(memberRolloutId(id, 'cart'), 'cart alone');
    const { status, result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Undone');
    expect(status.reason).toMatch(/^undone by greenlight: member cart ended Undone/);
    expectAllRestored(s);
    expect(trafficOrder(s).restored).toEqual(['cart', 'pay', 'api']);
  });

  it('converges after a crash mid-restore: every member still ends at its snapshot', async () => {
    s = scenario();
    const slowUndo = { rollback: { retryForMs: 3_600_000, maxIntervalMs: 300_000 } };
    const id = await s.startRelease(
      releaseInput(
        s,
        names.map((name) => ({ name, plan: slowUndo })),
        { approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] } },
      ),
    );
    await s.runReleaseUntil(id, (st) => st.phase === 'Promoting' && st.members[1]!.promoted);
    // cart's restore meets a short outage: the release is mid-restore when the engine dies.
    s.apps.of('cart').failFor(10 * 60_000, ['setTraffic']);
    await s.abort(id);
    const restoring = await s.runReleaseUntil(id, phaseIs('RollingBack'));
    expect(restoring.outcome).toBeUndefined();
    expect(await s.restart()).toBeGreaterThanOrEqual(1);
    const { result } = await s.finishRelease(id);
    expect(result.outcome).toBe('RolledBack');
    expectAllRestored(s);
    expect(trafficOrder(s).restored).toEqual(['cart', 'api']);
  });

  it("keeps the release's history bounded: ten apps watched for an hour add nothing per interval", async () => {
    const many = Array.from({ length: 10 }, (_, i) => `app${i}`);
    const historyFor = async (watchMs: number): Promise<number> => {
      s = new Scenario({ apps: many });
      const id = await s.startRelease(
        releaseInput(
          s,
          many.map((name) => ({ name })),
          {
            approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
            watch: { durationMs: watchMs, intervalMs: 60_000 },
          },
        ),
      );
      const { result } = await s.finishRelease(id);
      expect(result.outcome).toBe('Succeeded');
      const events = (await s.instance(id))!.history.length;
      s.stop();
      return events;
    };
    const tenMinutes = await historyFor(600_000);
    const anHour = await historyFor(3_600_000);
    expect(anHour).toBe(tenMinutes);
    // Per member: its start, its reports and the commands to it; a few hundred events for ten apps.
    expect(anHour).toBeLessThan(500);
  });

  it('gives up when a member app stays busy past the queue bound, having changed nothing', async () => {
    s = scenario();
    await holdWithRunningRollout(s, 'pay', 'a-long-rollout');
    const id = await s.startRelease(
      releaseInput(s, undefined, { queue: { pollIntervalMs: 30_000, timeoutMs: 1_800_000 } }),
    );
    const { status, result } = await s.finishRelease(id);
    expect(result.outcome).toBe('RolledBack');
    expect(status.reason).toBe('member apps still busy after PT30M: pay (held by a-long-rollout)');
    for (const name of names) expect(await s.instance(memberRolloutId(id, name))).toBeUndefined();
    expectAllRestored(s, ['api', 'cart']);
    // Polls back off: a handful of looks, not one every 30 seconds.
    expect(s.calls('holdReleaseApps').length).toBeLessThan(12);
  });

  it('takes a member app over from a holder that has ended (an instance terminated by hand)', async () => {
    s = scenario();
    s.slots.of('cart').holder = 'gone-rollout';
    const id = await s.startRelease(
      releaseInput(s, undefined, {
        approval: { required: false, timeoutMs: 1, onTimeout: 'rollback', approvers: [] },
      }),
    );
    const { result } = await s.finishRelease(id);
    expect(result.outcome).toBe('Succeeded');
    expect(
      s.apps
        .of('cart')
        .currentTraffic()
        .find((t) => t.weight === 100)?.revisionName,
    ).toBe('cart--v2');
  });
});
