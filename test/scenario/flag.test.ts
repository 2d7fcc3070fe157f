import { Scenario, blue, flagPlan } from './harness';

describe('flag rollout scenarios (in-memory control plane and workloads)', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  /** Fencing only moves forward: no change ever lowered the epoch. */
  function expectEpochsForward(): void {
    const e = s.flags.epochs;
    expect(e.every((x, i) => i === 0 || x >= e[i - 1]!)).toBe(true);
  }

  it('validates green in mock mode, flips, confirms and cleans its temporary keys', async () => {
    s = new Scenario();
    const id = await s.start('v2', flagPlan());
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('Succeeded');
    expect(status.checks.mock?.verdict).toBe('pass');
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: 'web--v2', epoch: 2 }));
    expect(s.flags.current()?.revisions[blue]).toEqual({ mode: 'standby', binding: 'prod' });
    expect(s.flags.mockKeysDropped('web--v2')).toBe(true);
    // Traffic is not how a flag rollout moves work.
    expect(s.containerApps.writes.filter((w) => w.op === 'setTraffic')).toEqual([]);
    expectEpochsForward();
  });

  it('rolls back a green whose mock output is malformed, without ever flipping', async () => {
    s = new Scenario({ workers: { v2: { malformed: ['payload'] } } });
    const id = await s.start('v2', flagPlan());
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toContain('lack required fields');
    expect(s.flags.current()?.active).toBe(blue);
    expect(s.flags.current()?.revisions['web--v2']).toBeUndefined();
    expect(s.flags.mockKeysDropped('web--v2')).toBe(true);
    expectEpochsForward();
  });

  it('rolls back a green that never takes its lease', async () => {
    s = new Scenario({ workers: { v2: { noLease: true } } });
    const id = await s.start('v2', flagPlan());
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(s.flags.current()?.active).toBe(blue);
  });

  it('flips back to blue when green dies after the flip, and sees blue processing again', async () => {
    s = new Scenario({ workers: { v2: { crashesWhenActive: true } } });
    const id = await s.start('v2', flagPlan());
    const { status, result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(result.reason).toMatch(/flip to web--v2 not confirmed/);
    expect(status.checks.flip).toEqual(expect.objectContaining({ name: 'flip back', ok: true }));
    expect(s.flags.current()).toEqual(expect.objectContaining({ active: blue, epoch: 3 }));
    expectEpochsForward();
  });

  it('abort while waiting for approval restores the control record', async () => {
    s = new Scenario();
    const id = await s.start(
      'v2',
      flagPlan({ approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] } }),
    );
    await s.phase(id, 'WaitingApproval');
    await s.abort(id);
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    expect(s.flags.current()?.active).toBe(blue);
    expect(s.containerApps.revisionState('web--v2')?.active).toBe(false);
    expectEpochsForward();
  });
});
