import type { RolloutPlan } from '../../src/domain/rollout/types';
import { Scenario, app, blue, flagPlan, flagStrategy, trafficPlan } from './harness';

/** Ten minutes of undo window, an hour before blue is retired. */
const cleanup: RolloutPlan['cleanup'] = {
  deactivateAfterMs: 3_600_000,
  keepRevisions: 2,
  undoWindowMs: 600_000,
};

describe('undo after promotion (in-memory ports, virtual clock)', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  function trafficWrites(): number {
    return s.containerApps.writes.filter((w) => w.op === 'setTraffic').length;
  }

  it('undo of a traffic rollout restores the exact snapshot, labels included, and ends Undone', async () => {
    s = new Scenario();
    await s.containerApps.setLabel(app, 'stable', blue);
    const before = s.containerApps.currentTraffic();
    expect(before).toContainEqual(expect.objectContaining({ revisionName: blue, label: 'stable' }));
    const id = await s.start('v2', trafficPlan({ cleanup }));

    const succeeded = await s.phase(id, 'Succeeded');
    expect(succeeded.outcome).toBe('Succeeded');
    expect(succeeded.undo).toEqual(
      expect.objectContaining({
        state: 'open',
        until: new Date(Date.parse(succeeded.timeline.at(-1)!.at) + 600_000).toISOString(),
        command: expect.stringMatching(/^greenlight rollout --app web --image /),
      }),
    );
    // The app is released at Succeeded: a newer rollout may start.
    expect(s.slots.holder).toBeUndefined();
    expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: 'web--v2', weight: 100 }),
    ]);
    // Blue stays warm: active, at 0%.
    expect(s.containerApps.revisionState(blue)?.active).toBe(true);

    await s.undo(id, 'customers report errors');
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Undone');
    expect(status.phase).toBe('Undone');
    expect(status.reason).toBe('undone by ops@contoso.com: customers report errors');
    expect(status.undo).toEqual(
      expect.objectContaining({
        state: 'undone',
        by: 'ops@contoso.com',
        reason: 'customers report errors',
        at: expect.any(String),
      }),
    );
    expect(status.timeline.map((t) => t.phase).slice(-3)).toEqual(['Succeeded', 'Undoing', 'Undone']);
    expect(s.containerApps.currentTraffic()).toEqual(before);
    expect(s.containerApps.revisionState('web--v2')?.active).toBe(false);
    expect(s.containerApps.revisionState(blue)?.active).toBe(true);
    expect(s.containerApps.refusedWrites()).toEqual([]);
  });

  it('an abort in the undo window is an undo', async () => {
    s = new Scenario();
    const id = await s.start('v2', trafficPlan({ cleanup }));
    await s.phase(id, 'Succeeded');
    await s.abort(id, 'wrong build');
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('Undone');
    expect(result.reason).toBe('undone by ops@contoso.com: wrong build');
    expect(s.containerApps.currentTraffic()).toEqual([{ revisionName: blue, weight: 100 }]);
  });

  it('a malformed undo is noted and changes nothing', async () => {
    s = new Scenario();
    const id = await s.start('v2', trafficPlan({ cleanup }));
    await s.phase(id, 'Succeeded');
    await s.raise(id, 'undo', { who: 'nobody' });
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(JSON.stringify(status.timeline)).toContain("malformed 'undo' event ignored");
    expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: 'web--v2', weight: 100 }),
    ]);
  });

  it('after the window blue is retired and an undo is refused', async () => {
    s = new Scenario();
    const id = await s.start('v2', trafficPlan({ cleanup }));
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(status.undo?.state).toBe('closed');
    expect(status.timeline.at(-1)?.note).toContain('undo window closed; blue retired');
    // Retired only once the cleanup delay (longer than the window) had passed too.
    const succeededAt = Date.parse(status.timeline.find((t) => t.phase === 'Succeeded')!.at);
    expect(s.clock.now() - succeededAt).toBeGreaterThanOrEqual(3_600_000);
    expect(s.containerApps.currentTraffic()).toEqual([
      { revisionName: 'web--v2', weight: 100, label: 'blue' },
    ]);
    await expect(s.undo(id)).rejects.toThrow(/could not raise undo/);
  });

  it('a newer rollout closes the window: an undo then is not acted on, and blue is left to the newer one', async () => {
    s = new Scenario();
    const first = await s.start('v2', trafficPlan({ cleanup }));
    await s.phase(first, 'Succeeded');
    const second = await s.start('v3', trafficPlan());
    await s.phase(second, 'Promoting');
    const writesBefore = trafficWrites();
    await s.undo(first, 'too late');
    const one = await s.finish(first);
    expect(one.result.outcome).toBe('Succeeded');
    expect(one.status.undo).toEqual(
      expect.objectContaining({
        state: 'closed',
        closedBecause: `a newer rollout of the app started: ${second}`,
      }),
    );
    expect(JSON.stringify(one.status.timeline)).toContain(
      `undo by ops@contoso.com not acted on: rollout ${second}`,
    );
    const two = await s.finish(second);
    expect(two.result.outcome).toBe('Succeeded');
    // The first rollout wrote no traffic after the second started: only the second's steps did.
    const secondsWrites = s.containerApps.writes
      .filter((w) => w.op === 'setTraffic')
      .slice(writesBefore)
      .every((w) => w.traffic?.some((t) => t.revisionName === 'web--v3'));
    expect(secondsWrites).toBe(true);
    expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: 'web--v3', weight: 100 }),
    ]);
  });

  it('undo of a flag rollout flips back, verified, with the epoch moving forward', async () => {
    s = new Scenario();
    const plan = flagPlan({
      strategy: { ...flagStrategy, progress: { log: 'sink', maxLagFrames: 1000 }, guard: { enabled: true } },
      watch: { durationMs: 20_000, intervalMs: 5_000 },
      cleanup,
    });
    const id = await s.start('v2', plan);
    await s.phase(id, 'Succeeded');
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: 'web--v2', epoch: 2 }));
    expect(s.flags.current()?.revisions[blue]).toEqual({ mode: 'standby', binding: 'prod' });

    await s.undo(id, 'latency');
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Undone');
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: blue, epoch: 3 }));
    expect(s.flags.current()?.revisions['web--v2']).toBeUndefined();
    expect(status.checks.flip).toEqual(expect.objectContaining({ name: 'flip back', ok: true }));
    expect(s.flags.epochs.every((e, i, all) => i === 0 || e >= all[i - 1]!)).toBe(true);
    expect(s.containerApps.revisionState('web--v2')?.active).toBe(false);
    expect(s.containerApps.revisionState(blue)?.active).toBe(true);
  });
});
