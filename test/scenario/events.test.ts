import fc from 'fast-check';
import { parseEvent, type EventName } from '../../src/domain/events';
import type { RolloutPhase } from '../../src/domain/rollout/phase';
import type { RolloutStatus } from '../../src/domain/rollout/types';
import { watchInstanceId } from '../../src/names';
import { Scenario, blue, gate, trafficPlan } from './harness';

/** Bounded and seeded: the same inputs on every run, and the suite stays fast. */
const runs = { numRuns: Number(process.env.EVENT_PROPERTY_RUNS ?? 8), seed: 11 };

const names: EventName[] = ['approval', 'abort', 'promote'];
const at = '2026-03-02T09:00:00.000Z';

/** Payloads a route would never send but a caller of the Durable API might: near misses first. */
const nearMiss = fc.constantFrom<unknown>(
  null,
  'x',
  '',
  0,
  true,
  [],
  {},
  { decision: 'maybe' },
  { decision: 'approve' },
  { decision: 'approve', approver: 'alice@contoso.com' },
  { decision: 'approve', approver: 'alice@contoso.com', decidedAt: 'yesterday' },
  { decision: 'reject', approver: '   ', decidedAt: at },
  { decision: 'approve', approver: 'alice@contoso.com', decidedAt: at, extra: true },
  { by: '' },
  { by: '   ' },
  { by: 1 },
  { by: 'ops@contoso.com', extra: 'field' },
  { by: 'x'.repeat(501) },
  { reason: 'no one named' },
  'y'.repeat(100_000),
);

/** An event name with a payload its schema refuses (a payload valid for another name counts as junk). */
const junkEvent = fc
  .tuple(fc.constantFrom(...names), fc.oneof(nearMiss, fc.anything()))
  .filter(([name, payload]) => !parseEvent(name, payload).ok);

/** Every waiting phase, each held long enough to raise events in it. */
const plan = trafficPlan({
  gates: [gate('error-rate', { count: 2 })],
  approval: { required: true, timeoutMs: 3_600_000, onTimeout: 'rollback', approvers: [] },
  bakeMs: 300_000,
  watch: { durationMs: 600_000, intervalMs: 60_000 },
});

const phases: RolloutPhase[] = [
  'WaitingReady',
  'Validating',
  'WaitingApproval',
  'Baking',
  'Promoting',
  'Watching',
];
const afterApproval = (p: RolloutPhase) => phases.indexOf(p) > phases.indexOf('WaitingApproval');

function newScenario(): Scenario {
  return new Scenario({
    images: { v2: { readyAfterReads: 3 } },
    gates: { 'error-rate': [{ value: 0.01, sampleSize: 100 }] },
  });
}

/** Starts a rollout and holds it in `phase`. */
async function reach(s: Scenario, phase: RolloutPhase): Promise<string> {
  const id = await s.start('v2', plan);
  if (afterApproval(phase)) {
    await s.phase(id, 'WaitingApproval');
    await s.approve(id);
  }
  await s.phase(id, phase);
  return id;
}

/**
 * What a person does next: approve (for a rollout not yet past approval) or abort. The junk must change
 * nothing about where that leads.
 */
async function carryOn(s: Scenario, id: string, phase: RolloutPhase): Promise<RolloutStatus> {
  if (afterApproval(phase)) {
    await s.abort(id, `stop during ${phase}`);
  } else {
    await s.phase(id, 'WaitingApproval');
    await s.approve(id);
  }
  return (await s.finish(id)).status;
}

function expectEnd(s: Scenario, status: RolloutStatus, phase: RolloutPhase): void {
  if (afterApproval(phase)) {
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toBe(`aborted by ops@contoso.com: stop during ${phase}`);
    expect(s.containerApps.currentTraffic()).toEqual([{ revisionName: blue, weight: 100 }]);
  } else {
    expect(status.outcome).toBe('Succeeded');
    expect(status.approval).toEqual(
      expect.objectContaining({ state: 'approved', decidedBy: 'alice@contoso.com' }),
    );
    expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: 'web--v2', weight: 100 }),
    ]);
  }
  expect(s.containerApps.refusedWrites()).toEqual([]);
}

describe('malformed operator events are recorded and ignored (property-based, virtual clock)', () => {
  it.each(phases)(
    'while %s: junk changes nothing, and a valid event afterwards still works',
    async (phase) => {
      // The outcome without junk, for comparison.
      const clean = newScenario();
      try {
        const id = await reach(clean, phase);
        expectEnd(clean, await carryOn(clean, id, phase), phase);
      } finally {
        clean.stop();
      }

      await fc.assert(
        fc.asyncProperty(fc.array(junkEvent, { minLength: 1, maxLength: 4 }), async (events) => {
          const s = newScenario();
          try {
            const id = await reach(s, phase);
            const before = (await s.status(id))!;
            const traffic = s.containerApps.currentTraffic();
            for (const [name, payload] of events) await s.raise(id, name, payload);
            // Let it take in what was raised, without moving the clock.
            const after = await s.runUntil(id, () => true);
            expect(after.phase).toBe(phase);
            expect(after.outcome).toBeUndefined();
            expect(after.approval.state).toBe(before.approval.state);
            expect(s.containerApps.currentTraffic()).toEqual(traffic);

            const status = await carryOn(s, id, phase);
            expectEnd(s, status, phase);
            // Each one recorded, with what was wrong with it.
            const ignored = status.ignoredEvents ?? [];
            expect(ignored.map((e) => e.name).sort()).toEqual(events.map(([n]) => n).sort());
            for (const e of ignored)
              expect(e.problem).toMatch(new RegExp(`^malformed '${e.name}' event ignored: `));
          } finally {
            s.stop();
          }
        }),
        runs,
      );
    },
  );

  it('junk raised into the watch instance itself changes nothing; the rollout still succeeds', async () => {
    const s = newScenario();
    try {
      const id = await reach(s, 'Watching');
      for (const payload of ['x', {}, null, { by: 1 }, { reason: 'no one named' }])
        await s.raise(watchInstanceId(id), 'abort', payload);
      const after = await s.runUntil(id, () => true);
      expect(after.phase).toBe('Watching');
      const { status } = await s.finish(id);
      expect(status.outcome).toBe('Succeeded');
      expect(s.containerApps.currentTraffic().filter((t) => t.weight > 0)).toEqual([
        expect.objectContaining({ revisionName: 'web--v2', weight: 100 }),
      ]);
    } finally {
      s.stop();
    }
  });

  it('keeps only the latest 10 ignored events', async () => {
    const s = newScenario();
    try {
      const id = await reach(s, 'WaitingApproval');
      for (let i = 0; i < 13; i++) await s.raise(id, 'approval', { decision: `maybe-${i}` });
      const after = await s.runUntil(id, () => true);
      expect(after.phase).toBe('WaitingApproval');
      expect(after.ignoredEvents).toHaveLength(10);
      await s.approve(id);
      const { status } = await s.finish(id);
      expect(status.outcome).toBe('Succeeded');
    } finally {
      s.stop();
    }
  });
});
