import type { RolloutPhase } from '../../src/domain/rollout/phase';
import { Scenario, blue, gate, trafficPlan } from './harness';

/** Production is exactly as the snapshot had it, and green no longer runs. */
function expectRestored(s: Scenario, green = 'web--v2'): void {
  expect(s.containerApps.currentTraffic()).toEqual([{ revisionName: blue, weight: 100 }]);
  expect(s.containerApps.revisionState(green)?.active ?? false).toBe(false);
}

/** Every write the rollout attempted kept ACA's traffic rules (a refused write is a bug, even though ACA refuses it). */
function expectNoBadWrite(s: Scenario): void {
  expect(s.containerApps.refusedWrites()).toEqual([]);
}

function greenWeights(s: Scenario, green = 'web--v2'): number[] {
  return s.containerApps.writes
    .filter((w) => w.op === 'setTraffic' && w.accepted)
    .map((w) => w.traffic?.find((t) => t.revisionName === green)?.weight ?? 0);
}

describe('traffic rollout scenarios (in-memory ports, virtual clock)', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  describe('forward', () => {
    beforeEach(() => (s = new Scenario({ images: { v2: { readyAfterReads: 2 } } })));

    it('promotes green step by step, then makes it the only revision with traffic', async () => {
      const id = await s.start('v2', trafficPlan());
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(status.timeline.map((t) => t.phase)).toEqual(
        expect.arrayContaining(['Deploying', 'WaitingReady', 'Validating', 'Promoting', 'Succeeded']),
      );
      expect(greenWeights(s)).toEqual([0, 10, 50, 100, 100]);
      expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
        expect.objectContaining({ revisionName: 'web--v2', weight: 100 }),
      ]);
      expectNoBadWrite(s);
    });

    it('waits for approval, records the approver, then promotes', async () => {
      const id = await s.start(
        'v2',
        trafficPlan({
          approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
        }),
      );
      const waiting = await s.phase(id, 'WaitingApproval');
      expect(waiting.approval.state).toBe('pending');
      expect(waiting.approval.pageUrl).toContain(id);
      expect(greenWeights(s).every((w) => w === 0)).toBe(true);
      await s.approve(id, 'alice@contoso.com');
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(status.approval).toEqual(
        expect.objectContaining({ state: 'approved', decidedBy: 'alice@contoso.com' }),
      );
      expectNoBadWrite(s);
    });

    it('promote skips the approval wait and the step pauses', async () => {
      const id = await s.start(
        'v2',
        trafficPlan({
          approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
        }),
      );
      await s.phase(id, 'WaitingApproval');
      await s.promote(id);
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(status.approval.state).toBe('skipped');
    });
  });

  describe('rolls back to the snapshot', () => {
    it('when the approver rejects', async () => {
      s = new Scenario();
      const id = await s.start(
        'v2',
        trafficPlan({
          approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
        }),
      );
      await s.phase(id, 'WaitingApproval');
      await s.reject(id, 'bob@contoso.com', 'wrong week');
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toContain('rejected by bob@contoso.com');
      expect(status.approval).toEqual(
        expect.objectContaining({ state: 'rejected', decidedBy: 'bob@contoso.com' }),
      );
      expectRestored(s);
      expectNoBadWrite(s);
    });

    it('when approval times out and the policy says rollback', async () => {
      s = new Scenario();
      const id = await s.start(
        'v2',
        trafficPlan({
          approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
        }),
      );
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toContain('approval timed out');
      expect(status.approval.state).toBe('timedOut');
      expectRestored(s);
    });

    it('but promotes on an approval timeout when the policy says promote', async () => {
      s = new Scenario();
      const id = await s.start(
        'v2',
        trafficPlan({
          approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'promote', approvers: [] },
        }),
      );
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expectNoBadWrite(s);
    });

    it('when green fails to provision', async () => {
      s = new Scenario({ images: { v2: { readyAfterReads: 1, fails: 'ImagePullBackOff' } } });
      const id = await s.start('v2', trafficPlan());
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toContain('ImagePullBackOff');
      expectRestored(s);
      expectNoBadWrite(s);
    });

    it('when a smoke check fails, before green takes any traffic', async () => {
      s = new Scenario();
      s.smoke.failing.add('web--v2');
      const id = await s.start('v2', trafficPlan());
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toContain('smoke checks failed');
      expect(greenWeights(s).every((w) => w === 0)).toBe(true);
      expectRestored(s);
    });

    it('when a pre-promotion gate fails', async () => {
      s = new Scenario({
        gates: {
          'error-rate': [
            { value: 0.01, sampleSize: 100 },
            { value: 0.2, sampleSize: 100 },
          ],
        },
      });
      const id = await s.start('v2', trafficPlan({ gates: [gate('error-rate')] }));
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toMatch(/gates failed.*error-rate/);
      expect(status.gates).toEqual([expect.objectContaining({ name: 'error-rate', verdict: 'fail' })]);
      expect(greenWeights(s).every((w) => w === 0)).toBe(true);
      expectRestored(s);
    });

    it('when green fails its checks during the watch, after it took all traffic', async () => {
      s = new Scenario();
      const id = await s.start('v2', trafficPlan({ watch: { durationMs: 600_000, intervalMs: 60_000 } }));
      await s.phase(id, 'Watching');
      s.smoke.failing.add('web--v2');
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toContain('watch failed');
      expect(greenWeights(s)).toContain(100);
      expectRestored(s);
      expectNoBadWrite(s);
    });
  });

  it('an inconclusive gate whose policy says pause asks a person, and a timeout never promotes', async () => {
    s = new Scenario({ gates: { latency: [{ value: 0.01, sampleSize: 2 }] } });
    const plan = trafficPlan({
      gates: [
        gate('latency', { minSampleSize: 50, inconclusiveLimit: 5, count: 2, onInconclusive: 'pause' }),
      ],
      approval: { required: false, timeoutMs: 3_600_000, onTimeout: 'promote', approvers: [] },
    });
    const id = await s.start('v2', plan);
    const waiting = await s.phase(id, 'WaitingApproval');
    expect(waiting.approval.state).toBe('pending');
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toContain('approval timed out');
    expectRestored(s);
  });

  describe('abort at every phase restores the snapshot', () => {
    const phases: RolloutPhase[] = [
      'Deploying',
      'WaitingReady',
      'Validating',
      'WaitingApproval',
      'Baking',
      'Promoting',
      'Watching',
    ];
    it.each(phases)('abort while %s', async (phase) => {
      s = new Scenario({
        images: { v2: { readyAfterReads: 3 } },
        gates: { 'error-rate': [{ value: 0.01, sampleSize: 100 }] },
      });
      // Deploying has no wait of its own: a transient ARM failure holds it there on a retry timer.
      if (phase === 'Deploying') s.containerApps.failNext(1, ['deployGreen']);
      const plan = trafficPlan({
        gates: [gate('error-rate', { count: 2 })],
        approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
        bakeMs: 300_000,
        watch: { durationMs: 600_000, intervalMs: 60_000 },
        cleanup: { deactivateAfterMs: 3_600_000, keepRevisions: 2 },
      });
      const id = await s.start('v2', plan);
      if (phases.indexOf(phase) > phases.indexOf('WaitingApproval')) {
        await s.phase(id, 'WaitingApproval');
        await s.approve(id);
      }
      await s.phase(id, phase);
      await s.abort(id, `stop during ${phase}`);
      // A person's approval may be what moves it on: abort must win over anything raised after it.
      if (phase === 'WaitingApproval') await s.approve(id);
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toContain(`stop during ${phase}`);
      expect(status.timeline.map((t) => t.phase)).toContain(phase);
      expectRestored(s);
      expectNoBadWrite(s);
    });
  });

  it('a superseded rollout rolls back and the queued one starts and succeeds', async () => {
    s = new Scenario();
    const plan = trafficPlan({
      approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
    });
    const first = await s.start('v2', plan);
    await s.phase(first, 'WaitingApproval');
    s.slots.queue.push({ rolloutId: 'r9-v3', input: s.input('v3', trafficPlan(), 'r9-v3') });
    await s.abort(first, 'superseded by registry.test/web:v3');
    const one = await s.finish(first);
    expect(one.result.outcome).toBe('RolledBack');
    const two = await s.finish('r9-v3');
    expect(two.result.outcome).toBe('Succeeded');
    expect(s.slots.holder).toBeUndefined();
    expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: 'web--v3', weight: 100 }),
    ]);
    expectNoBadWrite(s);
  });

  it('a rollback that cannot restore traffic retries to its bound (default an hour), then ends RollbackFailed with what is left to do', async () => {
    s = new Scenario({ gates: { 'error-rate': [{ value: 0.5, sampleSize: 100 }] } });
    const plan = trafficPlan({ gates: [gate('error-rate', { phases: ['eachStep'] })] });
    const id = await s.start('v2', plan);
    await s.phase(id, 'Promoting');
    await s.runUntil(id, () => greenWeights(s).includes(10));
    s.containerApps.failNext(10_000, ['setTraffic']);
    const retrying = await s.runUntil(id, (st) => (st.rollback?.attempts ?? 0) >= 5);
    expect(retrying.phase).toBe('RollingBack');
    expect(retrying.rollback?.step).toBe(`restore traffic to ${blue}=100`);
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('RollbackFailed');
    expect(status.phase).toBe('RollbackFailed');
    const began = Date.parse(status.timeline.find((t) => t.phase === 'RollingBack')!.at);
    expect(Date.parse(status.timeline.at(-1)!.at) - began).toBeGreaterThan(55 * 60_000);
    expect(result.leftToDo).toEqual([
      expect.stringMatching(
        /^restore traffic to web--blue=100: \[ArmUnavailable\] .* \(tried 17 times, retried until /,
      ),
      expect.stringMatching(
        /^deactivate revision web--v2: \[ArmError\] revision web--v2 still serves 10% of traffic/,
      ),
    ]);
    // Green still serves the share it had: the status says so instead of a quiet end.
    expect(s.containerApps.currentTraffic().find((t) => t.revisionName === 'web--v2')?.weight).toBe(10);
  });

  it('the invariant check sees a refused write (it can fail)', async () => {
    s = new Scenario();
    await expect(
      s.containerApps.setTraffic(s.containerApps.app, [
        { revisionName: blue, weight: 60 },
        { revisionName: 'web--nope', weight: 30 },
      ]),
    ).rejects.toThrow(/sum to 100/);
    expect(s.containerApps.refusedWrites()).toHaveLength(1);
  });
});
