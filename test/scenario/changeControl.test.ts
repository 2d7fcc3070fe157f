import {
  newEmergencyStop,
  parseChangeControl,
  type ChangeControlRules,
} from '../../src/domain/changeControl';
import type { Override } from '../../src/domain/changeControl/override';
import type { GuardrailSettings } from '../../src/domain/guardrails';
import type { RolloutPlan } from '../../src/domain/rollout/types';
import { Events } from '../../src/names';
import { admitChangeControl } from '../../src/services/changeControl';
import { app, Scenario, trafficPlan } from './harness';

const guardrails: GuardrailSettings = {
  stickySessions: 'refuse',
  labelsMode: 'refuse',
  scaleToZero: 'holdOneReplica',
  drift: 'warn',
  revisionLimit: 'cleanup',
};

function rules(raw: unknown, layer: 'policy' | 'global' = 'policy'): ChangeControlRules {
  const parsed = parseChangeControl(raw, layer);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.rules;
}

const hour = 3_600_000;

let s: Scenario;
afterEach(() => s?.stop());

/** Admits as the request service does (stops from the store, the verdict on the virtual clock), then starts. */
async function push(
  tag: string,
  plan: RolloutPlan,
  opts: { global?: ChangeControlRules; override?: Override } = {},
) {
  const admitted = await admitChangeControl(
    { stops: s.stops, now: () => s.clock.now(), ...(opts.global ? { global: opts.global } : {}) },
    app,
    plan.changeControl,
    opts.override,
  );
  if (admitted.admission.verdict === 'reject') return { admitted };
  const id = await s.start(tag, plan, undefined, { changeControl: admitted });
  return { admitted, id };
}

function snapshotCalls(): number {
  return s.calls('snapshotApp').length;
}

describe('deploy windows across time zones and daylight saving', () => {
  const newYorkHours = rules({
    windows: [{ days: 'Mon-Fri', start: '09:00', end: '17:00', timeZone: 'America/New_York' }],
    outsideWindows: 'wait',
  });

  it('a push before the window opens waits on a durable timer, then runs once it opens', async () => {
    s = new Scenario(); // Monday 2026-03-02 09:00Z = 04:00 in New York (EST, UTC-5)
    const { admitted, id } = await push('v2', trafficPlan({ changeControl: newYorkHours, guardrails }));
    expect(admitted.admission).toMatchObject({ verdict: 'wait', until: '2026-03-02T14:00:00.000Z' });
    const waiting = await s.runUntil(id!, (st) => st.changeControl?.admission?.verdict === 'wait');
    expect(waiting.phase).toBe('Initializing');
    expect(snapshotCalls()).toBe(0); // nothing read or written while it waits
    const { status, result } = await s.finish(id!);
    expect(result.outcome).toBe('Succeeded');
    const deployed = status.timeline.find((t) => t.phase === 'Deploying');
    expect(Date.parse(deployed!.at)).toBeGreaterThanOrEqual(Date.parse('2026-03-02T14:00:00Z'));
  });

  it('over the spring-forward weekend the window opens at 09:00 EDT, which is 13:00Z, not 14:00Z', async () => {
    s = new Scenario();
    s.clock.advanceTo(Date.parse('2026-03-07T20:00:00Z')); // Saturday; DST starts Sunday 2026-03-08 in New York
    const { admitted, id } = await push('v2', trafficPlan({ changeControl: newYorkHours, guardrails }));
    expect(admitted.admission).toMatchObject({ verdict: 'wait', until: '2026-03-09T13:00:00.000Z' });
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    const deployed = status.timeline.find((t) => t.phase === 'Deploying');
    expect(deployed!.at >= '2026-03-09T13:00:00.000Z' && deployed!.at < '2026-03-09T14:00:00.000Z').toBe(
      true,
    );
  });

  it('Amsterdam and New York windows meet only where both are open, across Europe’s later DST change', async () => {
    s = new Scenario();
    // Tuesday 2026-03-10: New York already on EDT (UTC-4), Amsterdam still on CET (UTC+1).
    s.clock.advanceTo(Date.parse('2026-03-10T06:00:00Z'));
    const global = rules(
      { windows: [{ days: 'Mon-Fri', start: '09:00', end: '17:00', timeZone: 'Europe/Amsterdam' }] },
      'global',
    );
    const { admitted } = await push('v2', trafficPlan({ changeControl: newYorkHours, guardrails }), {
      global,
    });
    // New York opens 13:00Z; Amsterdam closes 16:00Z: both open from 13:00Z.
    expect(admitted.admission).toMatchObject({ verdict: 'wait', until: '2026-03-10T13:00:00.000Z' });
  });
});

describe('a push during a freeze', () => {
  const freeze = (duringFreeze: 'wait' | 'reject' | 'run') =>
    rules({
      freezes: [
        {
          name: 'spring-release',
          start: '2026-03-02T00:00:00Z',
          end: '2026-03-04T00:00:00Z',
          reason: 'release week',
        },
      ],
      duringFreeze,
    });

  it('wait: starts when the freeze ends', async () => {
    s = new Scenario();
    const { admitted, id } = await push('v2', trafficPlan({ changeControl: freeze('wait'), guardrails }));
    expect(admitted.admission).toMatchObject({
      verdict: 'wait',
      until: '2026-03-04T00:00:00.000Z',
      rule: 'policy.freeze:spring-release',
    });
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    expect(status.timeline.find((t) => t.phase === 'Deploying')!.at >= '2026-03-04T00:00:00.000Z').toBe(true);
  });

  it('reject: is refused, and nothing starts', async () => {
    s = new Scenario();
    const { admitted, id } = await push('v2', trafficPlan({ changeControl: freeze('reject'), guardrails }));
    expect(admitted.admission.verdict).toBe('reject');
    expect(admitted.admission.reason).toMatch(/spring-release.*release week/);
    expect(id).toBeUndefined();
    expect(s.containerApps.writes).toEqual([]);
  });

  it('run: runs at once and says so in its status', async () => {
    s = new Scenario();
    const { id } = await push('v2', trafficPlan({ changeControl: freeze('run'), guardrails }));
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    expect(status.changeControl?.admission).toMatchObject({ verdict: 'run-outside' });
    expect(status.changeControl?.gate).toMatchObject({ verdict: 'run-outside' });
    expect(status.timeline.find((t) => t.phase === 'Deploying')!.at < '2026-03-03T00:00:00.000Z').toBe(true);
  });
});

describe('a running rollout reaching a freeze', () => {
  it('pauses before its next production change and resumes when the freeze ends', async () => {
    s = new Scenario(); // 09:00Z; steps at 09:00 (10%), 10:00 (50%), 11:00 (100%)
    const cc = rules({
      freezes: [
        {
          name: 'incident-review',
          start: '2026-03-02T10:30:00Z',
          end: '2026-03-02T18:00:00Z',
          reason: 'review',
        },
      ],
      duringFreeze: 'wait',
    });
    const plan = trafficPlan({
      changeControl: cc,
      guardrails,
      strategy: { type: 'traffic', steps: [10, 50, 100], stepPauseMs: hour, recheckSmokeEachStep: false },
    });
    const { id } = await push('v2', plan);
    const paused = await s.runUntil(id!, (st) => st.changeControl?.gate?.verdict === 'pause');
    expect(paused.changeControl?.gate).toMatchObject({
      before: 'traffic step 100%',
      until: '2026-03-02T18:00:00.000Z',
      rule: 'policy.freeze:incident-review',
    });
    expect(paused.traffic?.find((t) => t.revisionName === 'web--v2')?.weight).toBe(50);
    const writesWhilePaused = s.containerApps.writes.length;
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    const full = status.timeline.find((t) => t.note?.includes('resumed: traffic step 100%'));
    expect(full).toBeDefined();
    // The 100% write came after the freeze.
    expect(s.containerApps.writes.length).toBeGreaterThan(writesWhilePaused);
    expect(s.clock.now()).toBeGreaterThanOrEqual(Date.parse('2026-03-02T18:00:00Z'));
  });
});

describe('emergency stop', () => {
  const plan = () =>
    trafficPlan({
      guardrails,
      strategy: { type: 'traffic', steps: [10, 50, 100], stepPauseMs: hour, recheckSmokeEachStep: false },
    });

  async function engage(scope: 'global' | 'app') {
    const parsed = newEmergencyStop(
      scope === 'global' ? { kind: 'global' } : { kind: 'app', app: 'sub-1/rg/web' },
      { reason: 'INC-7 database failover' },
      'oncall@contoso.com',
      new Date(s.clock.now()),
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    await s.stops.engage(parsed.stop);
  }

  it('refuses new rollouts while engaged', async () => {
    s = new Scenario();
    await engage('global');
    const { admitted, id } = await push('v2', plan());
    expect(admitted.admission).toMatchObject({ verdict: 'reject', rule: 'emergencyStop:global' });
    expect(id).toBeUndefined();
  });

  it('pauses a running rollout before its next production change; lifting it resumes the rollout', async () => {
    s = new Scenario();
    const { id } = await push('v2', plan());
    await s.runUntil(id!, (st) => st.step?.weight === 10);
    await engage('app');
    const paused = await s.runUntil(id!, (st) => st.changeControl?.gate?.verdict === 'pause');
    expect(paused.changeControl?.gate).toMatchObject({
      rule: 'emergencyStop:app',
      before: 'traffic step 50%',
    });
    expect(paused.changeControl?.gate?.until).toBeUndefined();
    // Rechecks every five minutes cost a read, never a write.
    const writes = s.containerApps.writes.length;
    await s.runUntil(id!, () => false, 5).catch(() => undefined);
    expect(s.containerApps.writes.length).toBe(writes);
    expect((await s.status(id!))?.changeControl?.gate?.verdict).toBe('pause');

    await s.stops.lift({ kind: 'app', app: 'sub-1/rg/web' }, 'oncall@contoso.com', new Date().toISOString());
    await s.raise(id!, Events.changeControlChanged, { reason: 'stop lifted' });
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    expect(s.containerApps.currentTraffic().find((t) => t.revisionName === 'web--v2')?.weight).toBe(100);
  });

  it('an abort of a paused rollout rolls back to the snapshot', async () => {
    s = new Scenario();
    const { id } = await push('v2', plan());
    await s.runUntil(id!, (st) => st.step?.weight === 10);
    await engage('global');
    await s.runUntil(id!, (st) => st.changeControl?.gate?.verdict === 'pause');
    await s.abort(id!, 'incident: back to blue');
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('RolledBack');
    expect(s.containerApps.currentTraffic()).toEqual([{ revisionName: 'web--blue', weight: 100 }]);
  });
});

describe('override', () => {
  const freezeNow = rules({
    freezes: [
      { name: 'holidays', start: '2026-03-01T00:00:00Z', end: '2026-03-10T00:00:00Z', reason: 'holidays' },
    ],
    duringFreeze: 'wait',
  });
  const override = (rolloutId?: string): Override => ({
    by: 'lead@contoso.com',
    reason: 'hotfix for INC-42',
    at: '2026-03-02T09:00:00.000Z',
    ...(rolloutId ? { rolloutId } : {}),
  });

  it('starts a rollout during a freeze, recorded with who and why', async () => {
    s = new Scenario();
    const { admitted, id } = await push('v2', trafficPlan({ changeControl: freezeNow, guardrails }), {
      override: override(),
    });
    expect(admitted.admission).toMatchObject({ verdict: 'run-outside', rule: 'override' });
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    expect(status.changeControl?.overrides).toEqual([override()]);
    expect(status.changeControl?.gate).toMatchObject({ verdict: 'run-outside', rule: 'override' });
  });

  it('resumes a rollout paused by a freeze', async () => {
    s = new Scenario();
    const { id } = await push('v2', trafficPlan({ changeControl: freezeNow, guardrails }));
    await s.runUntil(id!, (st) => st.changeControl?.admission?.verdict === 'wait');
    await s.raise(id!, Events.changeControlChanged, { reason: 'override', override: override(id) });
    const { status } = await s.finish(id!);
    expect(status.outcome).toBe('Succeeded');
    expect(status.changeControl?.overrides?.[0]).toMatchObject({ by: 'lead@contoso.com', rolloutId: id });
    expect(s.clock.now()).toBeLessThan(Date.parse('2026-03-10T00:00:00Z'));
  });

  it('an override bound to another rollout does not apply', async () => {
    s = new Scenario();
    const { id } = await push('v2', trafficPlan({ changeControl: freezeNow, guardrails }));
    await s.runUntil(id!, (st) => st.changeControl?.admission?.verdict === 'wait');
    await s.raise(id!, Events.changeControlChanged, { override: override('someone-else') });
    await s.runUntil(id!, () => true); // the event is taken; no timer moves
    expect(snapshotCalls()).toBe(0);
    expect((await s.status(id!))?.changeControl?.overrides).toBeUndefined();
  });
});

describe('guardrails, each handled both ways', () => {
  const run = async (settings: Partial<GuardrailSettings>, setup: (sc: Scenario) => void) => {
    s = new Scenario();
    setup(s);
    const id = await s.start('v2', trafficPlan({ guardrails: { ...guardrails, ...settings } }));
    return s.finish(id);
  };

  it('sticky sessions: refused before any write', async () => {
    const { status } = await run({}, (sc) => (sc.containerApps.settings.stickySessions = 'sticky'));
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/configuration\.ingress\.stickySessions\.affinity/);
    expect(status.guardrails?.[0]).toMatchObject({ kind: 'stickySessions', outcome: 'refuse' });
    expect(s.containerApps.writes).toEqual([]);
  });

  it('sticky sessions: switchAffinity turns affinity off for the rollout and back on (Single mode) after', async () => {
    const { status } = await run(
      { stickySessions: 'switchAffinity' },
      (sc) => (sc.containerApps.settings.stickySessions = 'sticky'),
    );
    expect(status.outcome).toBe('Succeeded');
    const ops = s.containerApps.writes.map(
      (w) => `${w.op}:${w.op === 'affinity' || w.op === 'mode' ? w.detail : ''}`,
    );
    expect(ops[0]).toBe('affinity:none');
    expect(ops[1]).toBe('mode:Multiple');
    expect(ops).toContain('affinity:sticky (Single)');
    expect(s.containerApps.settings.stickySessions).toBe('sticky');
  });

  it('Labels revision mode: refused, never switched', async () => {
    const { status } = await run({}, (sc) => (sc.containerApps.settings.labelsMode = true));
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/Labels revision mode/);
    expect(s.containerApps.writes.filter((w) => w.op === 'mode')).toEqual([]);
  });

  it('Labels revision mode: useLabels rolls out without the mode switch', async () => {
    const { status } = await run(
      { labelsMode: 'useLabels' },
      (sc) => (sc.containerApps.settings.labelsMode = true),
    );
    expect(status.guardrails?.[0]).toMatchObject({ kind: 'labelsMode', outcome: 'adjust' });
    expect(s.containerApps.writes.filter((w) => w.op === 'mode')).toEqual([]);
  });

  it('scale to zero: refused', async () => {
    const { status } = await run(
      { scaleToZero: 'refuse' },
      (sc) => (sc.containerApps.settings.minReplicas = 0),
    );
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/template\.scale\.minReplicas/);
    expect(s.containerApps.writes).toEqual([]);
  });

  it('scale to zero: green held at one replica, and putting the scale back is left to the operator', async () => {
    const { status } = await run({}, (sc) => (sc.containerApps.settings.minReplicas = 0));
    expect(status.outcome).toBe('Succeeded');
    expect(s.containerApps.deployedMinReplicas.get('web--v2')).toBe(1);
    expect(status.leftToDo?.join(' ')).toMatch(/--min-replicas 0/);
  });

  it('internal ingress: refused without a probe endpoint, recorded with one', async () => {
    const refused = await run({}, (sc) => (sc.containerApps.settings.ingressExternal = false));
    expect(refused.status.outcome).toBe('RolledBack');
    expect(refused.status.reason).toMatch(/guardrails\.probeEndpoint|probeEndpoint/);
    s.stop();
    const { status } = await run(
      { probeEndpoint: 'https://gateway.internal/{revision}' },
      (sc) => (sc.containerApps.settings.ingressExternal = false),
    );
    expect(status.guardrails?.[0]).toMatchObject({ kind: 'internalIngress', outcome: 'info' });
  });

  it('revision limit: refused with the names, or cleaned up first', async () => {
    const refused = await run(
      { revisionLimit: 'refuse' },
      (sc) => (sc.containerApps.settings.maxInactiveRevisions = 0),
    );
    expect(refused.status.outcome).toBe('RolledBack');
    expect(refused.status.reason).toMatch(/inactive revisions/);
    s.stop();
    const { status } = await run({}, (sc) => (sc.containerApps.settings.maxInactiveRevisions = 0));
    expect(status.outcome).toBe('Succeeded');
    expect(status.guardrails?.[0]).toMatchObject({ kind: 'revisionLimit', outcome: 'warn' });
    expect(s.calls('retireRevisions').length).toBe(2); // before the deploy, and after finalise
  });
});
