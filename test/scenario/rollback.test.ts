import type { ContainerAppsPort } from '../../src/domain/ports';
import type { RolloutStatus } from '../../src/domain/rollout/types';
import type { Outage } from './fakes/containerApps';
import { Scenario, blue, flagPlan, gate, trafficPlan } from './harness';

const minute = 60_000;
const hour = 60 * minute;
const green = 'web--v2';

/** A traffic rollout whose each-step gate fails at 10%: the rollback starts with green serving 10%. */
function failingAtFirstStep(): Scenario {
  return new Scenario({ gates: { 'error-rate': [{ value: 0.5, sampleSize: 100 }] } });
}
const trafficWithBound = (retryForMs = hour) =>
  trafficPlan({
    gates: [gate('error-rate', { phases: ['eachStep'] })],
    rollback: { retryForMs, maxIntervalMs: 5 * minute },
  });

function greenWeightOf(traffic: { revisionName: string; weight: number }[] | undefined): number {
  return (traffic ?? []).filter((t) => t.revisionName === green).reduce((s, t) => s + t.weight, 0);
}

/** Every setTraffic the rollout attempted (accepted, refused or lost to the outage), as green's weight. */
function attemptedGreenWeights(s: Scenario): number[] {
  return s
    .calls('setTraffic')
    .map((c) => greenWeightOf((c as { traffic: { revisionName: string; weight: number }[] }).traffic));
}

function rollbackStart(status: RolloutStatus): number {
  const entry = status.timeline.find((t) => t.phase === 'RollingBack');
  if (!entry) throw new Error('the rollout never rolled back');
  return Date.parse(entry.at);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What `leftToDo` says of an undo that failed every attempt the outage refused, until the bound. */
function gaveUp(what: string, error: string, outage: Outage, until: number): string {
  const n = outage.refused.length;
  return `${what}: ${error} (${n === 1 ? 'tried once' : `tried ${n} times`}, retried until ${iso(until)})`;
}

describe('compensation that outlasts an outage (virtual clock)', () => {
  let s: Scenario;
  afterEach(() => s.stop());

  describe.each<[keyof ContainerAppsPort, string]>([
    ['setTraffic', `restore traffic to ${blue}=100`],
    ['deactivateRevision', `deactivate revision ${green}`],
  ])('traffic: ARM refuses %s', (op, what) => {
    it('for 5 minutes: stays RollingBack with attempts and the next retry shown, then restores the snapshot exactly', async () => {
      s = failingAtFirstStep();
      const id = await s.start('v2', trafficWithBound());
      await s.phase(id, 'Promoting');
      await s.runUntil(id, () =>
        s.containerApps.currentTraffic().some((t) => t.revisionName === green && t.weight === 10),
      );
      const promotedWeights = attemptedGreenWeights(s).length;
      const outage = s.containerApps.failFor(5 * minute, [op]);

      const during = await s.runUntil(id, (st) => (st.rollback?.attempts ?? 0) >= 3);
      expect(during.phase).toBe('RollingBack');
      expect(during.outcome).toBeUndefined();
      expect(during.rollback).toEqual(
        expect.objectContaining({ step: expect.stringContaining(what.split(' ')[0]!), attempts: 3 }),
      );
      expect(during.rollback?.lastError).toContain('503');
      expect(Date.parse(during.rollback!.nextRetryAt!)).toBeGreaterThan(s.clock.now());

      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(status.phase).toBe('RolledBack');
      expect(status.leftToDo).toBeUndefined();
      expect(status.rollback).toBeUndefined();
      expect(s.containerApps.currentTraffic()).toEqual([{ revisionName: blue, weight: 100 }]);
      expect(s.containerApps.revisionState(green)?.active).toBe(false);
      expect(s.containerApps.refusedWrites()).toEqual([]);
      // It kept trying through the outage, and finished soon after it ended.
      expect(outage.refused.length).toBeGreaterThanOrEqual(4);
      const end = Date.parse(status.updatedAt);
      const outageEnd = outage.startedAt! + 5 * minute;
      expect(end).toBeGreaterThanOrEqual(outageEnd);
      expect(end - outageEnd).toBeLessThanOrEqual(5 * minute);
      // No attempt after the rollback began moved traffic towards green.
      const after = attemptedGreenWeights(s).slice(promotedWeights);
      expect(after.every((w) => w <= 10)).toBe(true);
    });

    it('for 2 hours with a 1-hour bound: RollbackFailed only after the bound, leftToDo exact', async () => {
      s = failingAtFirstStep();
      const id = await s.start('v2', trafficWithBound(hour));
      await s.phase(id, 'Promoting');
      await s.runUntil(id, () =>
        s.containerApps.currentTraffic().some((t) => t.revisionName === green && t.weight === 10),
      );
      const promotedWeights = attemptedGreenWeights(s).length;
      const outage = s.containerApps.failFor(2 * hour, [op]);

      const during = await s.runUntil(
        id,
        (st) =>
          s.clock.now() -
            (st.timeline.find((t) => t.phase === 'RollingBack') ? rollbackStart(st) : s.clock.now()) >
          30 * minute,
      );
      expect(during.phase).toBe('RollingBack');
      expect(during.rollback?.nextRetryAt).toBeDefined();

      const { status, result } = await s.finish(id);
      const start = rollbackStart(status);
      expect(result.outcome).toBe('RollbackFailed');
      expect(status.phase).toBe('RollbackFailed');
      const failedAt = Date.parse(status.timeline.at(-1)!.at);
      expect(failedAt - start).toBeGreaterThan(55 * minute);
      expect(failedAt - start).toBeLessThanOrEqual(hour);
      const until = start + hour;
      if (op === 'setTraffic') {
        // Green keeps its 10%, so ACA refuses to deactivate it; it too is retried, in what is left of
        // the bound (from the 17th restore at 55:15: 5, 10, 20, 40 and 80 s apart, then 160 s would pass it).
        expect(result.leftToDo).toEqual([
          gaveUp(what, '[ArmUnavailable] ARM answered 503 Service Unavailable to setTraffic', outage, until),
          `deactivate revision ${green}: [ArmError] revision ${green} still serves 10% of traffic (tried 6 times, retried until ${iso(until)})`,
        ]);
        expect(greenWeightOf(s.containerApps.currentTraffic())).toBe(10);
      } else {
        expect(result.leftToDo).toEqual([
          gaveUp(
            what,
            '[ArmUnavailable] ARM answered 503 Service Unavailable to deactivateRevision',
            outage,
            until,
          ),
        ]);
        expect(s.containerApps.currentTraffic()).toEqual([{ revisionName: blue, weight: 100 }]);
      }
      expect(status.leftToDo).toEqual(result.leftToDo);
      expect(
        attemptedGreenWeights(s)
          .slice(promotedWeights)
          .every((w) => w <= 10),
      ).toBe(true);
      // A bounded loop: an hour of retries is a few dozen history events, not thousands.
      const history = (await s.instance(id))!.history.length;
      expect(history).toBeLessThan(400);
    });
  });

  it('waits what a 429 asks (Retry-After), longer than its own backoff', async () => {
    s = failingAtFirstStep();
    const id = await s.start('v2', trafficWithBound());
    await s.phase(id, 'Promoting');
    await s.runUntil(id, () =>
      s.containerApps.currentTraffic().some((t) => t.revisionName === green && t.weight === 10),
    );
    const outage = s.containerApps.failFor(25 * minute, ['setTraffic'], { retryAfterMs: 10 * minute });
    const during = await s.runUntil(id, (st) => st.rollback?.attempts === 1);
    expect(Date.parse(during.rollback!.nextRetryAt!) - s.clock.now()).toBe(10 * minute);
    const { result } = await s.finish(id);
    expect(result.outcome).toBe('RolledBack');
    const gaps = outage.refused.slice(1).map((r, i) => r.at - outage.refused[i]!.at);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    expect(gaps.every((g) => g >= 10 * minute)).toBe(true);
  });

  describe.each<['restore' | 'drop', string]>([
    ['restore', `restore the control record (active ${blue}) and see it process`],
    ['drop', `delete ${green}'s keys on the temporary Redis`],
  ])('flag: the %s call fails', (op, what) => {
    const plan = (retryForMs: number) => flagPlan({ rollback: { retryForMs, maxIntervalMs: 5 * minute } });

    it('for 5 minutes: RolledBack with the control record restored', async () => {
      s = new Scenario({ workers: { v2: { crashesWhenActive: true } } });
      const outage = s.flags.failFor(5 * minute, [op]);
      const id = await s.start('v2', plan(hour));
      const during = await s.runUntil(id, (st) => (st.rollback?.attempts ?? 0) >= 2);
      expect(during.phase).toBe('RollingBack');
      expect(during.rollback?.step).toBe(what);
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RolledBack');
      expect(status.leftToDo).toBeUndefined();
      expect(s.flags.current()?.active).toBe(blue);
      expect(s.flags.mockKeysDropped(green)).toBe(true);
      expect(s.containerApps.revisionState(green)?.active).toBe(false);
      expect(outage.refused.length).toBeGreaterThanOrEqual(4);
    });

    it('for 2 hours with a 1-hour bound: RollbackFailed with exactly that undo left to do', async () => {
      s = new Scenario({ workers: { v2: { crashesWhenActive: true } } });
      const outage = s.flags.failFor(2 * hour, [op]);
      const id = await s.start('v2', plan(hour));
      const { status, result } = await s.finish(id);
      expect(result.outcome).toBe('RollbackFailed');
      const until = rollbackStart(status) + hour;
      expect(result.leftToDo).toEqual([
        gaveUp(
          what,
          `[ProviderUnavailable] Redis unreachable for ${op}: connect ECONNREFUSED`,
          outage,
          until,
        ),
      ]);
      // The other undos ran: green is off either way.
      expect(s.containerApps.revisionState(green)?.active).toBe(false);
    });
  });
});
