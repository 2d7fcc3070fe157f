import type { WorkerBehaviour } from './fakes/flags';
import { Scenario, blue, flagPlan, flagStrategy } from './harness';
import type { RolloutPlan } from '../../src/domain/rollout/types';

/** Watch 20 s at 5 s; an undo window of 10 minutes with the guard checking every 5 s. */
function guardedPlan(guard = true, maxLagFrames = 1000, watchMs = 20_000): RolloutPlan {
  return flagPlan({
    strategy: { ...flagStrategy, progress: { log: 'sink', maxLagFrames }, guard: { enabled: guard } },
    watch: { durationMs: watchMs, intervalMs: 5_000 },
    cleanup: { deactivateAfterMs: 600_000, keepRevisions: 2 },
  });
}

describe('flag strategy: the watch measures progress, the guard protects the undo window', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  function expectEpochsForward(): void {
    expect(s.flags.epochs.every((e, i, all) => i === 0 || e >= all[i - 1]!)).toBe(true);
  }

  it('the watch flips back a green that is alive and leased but stalled', async () => {
    s = new Scenario({ workers: { v2: { stallsWhenActive: true } } });
    const id = await s.start('v2', guardedPlan());
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(/post-promotion watch failed: web--v2 is stalled/);
    // The flip itself was confirmed (lease held, heartbeat fresh): only progress shows the stall.
    expect(status.timeline.map((t) => t.phase)).toEqual(expect.arrayContaining(['Watching', 'RollingBack']));
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: blue, epoch: 3 }));
    expect(status.checks.flip).toEqual(expect.objectContaining({ name: 'flip back', ok: true }));
    expectEpochsForward();
  });

  it('the guard flips back a stall inside the undo window, verified, as a rollback', async () => {
    const workers: Record<string, WorkerBehaviour> = { v2: {} };
    s = new Scenario({ workers });
    const id = await s.start('v2', guardedPlan());
    const succeeded = await s.phase(id, 'Succeeded');
    expect(succeeded.undo?.state).toBe('open');
    // Let the guard see production working for a few checks, then green stalls.
    const looks = s.calls('observeProgress').length;
    await s.runUntil(id, () => s.calls('observeProgress').length >= looks + 3);
    expect(s.flags.current()?.active).toBe('web--v2');
    workers.v2!.stallsWhenActive = true;

    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(/^post-promotion guard: web--v2 is stalled/);
    expect(status.undo).toEqual(expect.objectContaining({ state: 'closed', by: 'guard' }));
    expect(status.timeline.map((t) => t.phase).slice(-3)).toEqual(['Succeeded', 'RollingBack', 'RolledBack']);
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: blue, epoch: 3 }));
    expect(status.checks.flip).toEqual(expect.objectContaining({ name: 'flip back', ok: true }));
    expect(s.containerApps.revisionState('web--v2')?.active).toBe(false);
    expect(s.containerApps.revisionState(blue)?.active).toBe(true);
    expectEpochsForward();
  });

  it('the guard does nothing after the window: a later stall is not flipped back', async () => {
    const workers: Record<string, WorkerBehaviour> = { v2: {} };
    s = new Scenario({ workers });
    const id = await s.start('v2', guardedPlan());
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(status.undo?.state).toBe('closed');
    // It watched the whole window (10 minutes at 5 s), continuing as new to keep history bounded.
    expect(s.calls('observeProgress').length).toBeGreaterThan(100);
    expect((await s.instance(`${id}:guard`))?.runtimeStatus).toBe('Completed');
    const looks = s.calls('observeProgress').length;
    workers.v2!.stallsWhenActive = true;
    await s.runUntil(id, () => false, 3).catch(() => undefined);
    expect(s.calls('observeProgress').length).toBe(looks);
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: 'web--v2', epoch: 2 }));
    expect(s.flags.current()?.revisions[blue]).toEqual({ mode: 'standby', binding: 'prod' });
  });

  it('with the guard off, a stall in the window is left alone', async () => {
    const workers: Record<string, WorkerBehaviour> = { v2: {} };
    s = new Scenario({ workers });
    const id = await s.start('v2', guardedPlan(false));
    await s.phase(id, 'Succeeded');
    workers.v2!.stallsWhenActive = true;
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: 'web--v2', epoch: 2 }));
    expect(await s.instance(`${id}:guard`)).toBeUndefined();
  });

  describe('lag behind the source (the source publishes its position; 10 frames per check)', () => {
    it('the watch flips back a green that writes, but falls further behind than maxLagFrames for a whole interval', async () => {
      s = new Scenario({ workers: { v2: { commitsPerLook: 2 } } });
      s.flags.publishesSource = true;
      const id = await s.start('v2', guardedPlan(true, 20, 60_000));
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      // 8 more behind at every check: 24 at the third is over the limit, 32 at the fourth still is.
      expect(result.reason).toMatch(
        /^post-promotion watch failed: web--v2 is 32 frames behind the source at 40 \(at most 20\), and was 24 behind 5\.0s before: it is not keeping up/,
      );
      expect(s.flags.current()).toEqual(expect.objectContaining({ active: blue, epoch: 3 }));
      expect(status.checks.flip).toEqual(expect.objectContaining({ name: 'flip back', ok: true }));
      expectEpochsForward();
    });

    it('the guard flips back a green that falls behind inside the undo window', async () => {
      const workers: Record<string, WorkerBehaviour> = { v2: {} };
      s = new Scenario({ workers });
      s.flags.publishesSource = true;
      const id = await s.start('v2', guardedPlan(true, 20));
      await s.phase(id, 'Succeeded');
      workers.v2!.commitsPerLook = 2;
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(result.reason).toMatch(
        /^post-promotion guard: web--v2 is \d+ frames behind the source at \d+ \(at most 20\), and was \d+ behind 5\.0s before: it is not keeping up/,
      );
      expect(status.undo).toEqual(expect.objectContaining({ state: 'closed', by: 'guard' }));
      expect(s.flags.current()).toEqual(expect.objectContaining({ active: blue, epoch: 3 }));
      expectEpochsForward();
    });

    it('without the source position the same green passes: the lag cannot be measured', async () => {
      s = new Scenario({ workers: { v2: { commitsPerLook: 2 } } });
      const id = await s.start('v2', guardedPlan(false, 20, 60_000));
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(s.flags.lag()).toBeGreaterThan(20);
    });

    it('a lag over the limit at one check that is caught up by the next is not a stall', async () => {
      const workers: Record<string, WorkerBehaviour> = { v2: { commitsPerLook: 1 } };
      s = new Scenario({ workers });
      s.flags.publishesSource = true;
      const id = await s.start('v2', guardedPlan(true, 15, 60_000));
      await s.runUntil(id, () => s.calls('observeProgress').length >= 2);
      expect(s.flags.lag()).toBe(18);
      workers.v2!.commitsPerLook = 40;
      await s.runUntil(id, () => s.calls('observeProgress').length >= 3);
      expect(s.flags.lag()).toBe(0);
      workers.v2!.commitsPerLook = 10;
      const { result } = await s.finish(id);
      expect(result.outcome).toBe('Succeeded');
      expect(s.flags.current()).toEqual(expect.objectContaining({ active: 'web--v2', epoch: 2 }));
    });
  });
});
