import { createActivities, type ActivityHandlers, type ActivityInvocation } from '../../src/activities';
import { InMemoryEmergencyStopStore } from '../../src/domain/changeControl/memoryStore';
import { InMemoryAuditLog } from '../../src/domain/audit/memory';
import { FakeNotify } from '../scenario/fakes/notify';
import { GreenlightError } from '../../src/domain/errors';
import type {
  AppRef,
  AppSnapshot,
  ContainerAppsPort,
  QueuedRollout,
  RevisionInfo,
  RolloutPorts,
  RolloutSlots,
  TrafficEntry,
} from '../../src/domain/ports';
import type { GateSpec } from '../../src/domain/rollout/types';

const app: AppRef = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'web' };

function revision(name: string, createdTime: string, active = true): RevisionInfo {
  return { name, createdTime, active, replicas: 1, trafficWeight: 0 };
}

/** Container Apps in memory: a list of revisions and a traffic table, with the calls it was asked for. */
function inMemoryContainerApps(revisions: RevisionInfo[], traffic: TrafficEntry[]) {
  const deactivated: string[] = [];
  const port: ContainerAppsPort = {
    getSnapshot: async (): Promise<AppSnapshot> => ({
      app,
      resourceId: 'id',
      revisionMode: 'Multiple',
      traffic: traffic.map((t) => ({ ...t })),
      revisions: revisions.map((r) => ({ ...r })),
    }),
    ensureMultipleRevisionMode: async () => ({ changed: false }),
    deployGreen: async (_app, request) => ({ revisionName: `web--${request.revisionSuffix}`, created: true }),
    getRevision: async (_app, name) => {
      const rev = revisions.find((r) => r.name === name);
      if (!rev) throw new GreenlightError('NotFound', `revision ${name} does not exist`);
      return { ...rev };
    },
    setTraffic: async () => undefined,
    setLabel: async () => undefined,
    removeLabel: async () => undefined,
    activateRevision: async () => undefined,
    deactivateRevision: async (_app, name) => {
      const rev = revisions.find((r) => r.name === name);
      if (!rev) throw new GreenlightError('NotFound', `revision ${name} does not exist`);
      rev.active = false;
      deactivated.push(name);
    },
    setSessionAffinity: async () => ({ changed: false }),
  };
  return { port, deactivated };
}

/** The app's slot and queue in memory. */
function inMemorySlots(holder: string | undefined, queue: QueuedRollout[]) {
  const state = { holder, queue };
  const slots: RolloutSlots = {
    releaseApp: async (_app, rolloutId) => {
      if (state.holder !== rolloutId) return false;
      state.holder = undefined;
      return true;
    },
    claimNext: async () => {
      if (state.holder) return undefined;
      const next = state.queue.shift();
      if (next) state.holder = next.rolloutId;
      return next;
    },
    latestRollout: async () => undefined,
    unclaimNext: async (_app, item) => {
      if (state.holder === item.rolloutId) state.holder = undefined;
      state.queue.unshift(item);
    },
  };
  return { slots, state };
}

function unused(what: string): never {
  throw new Error(`this test does not use ${what}`);
}

function portsWith(overrides: Partial<RolloutPorts>): RolloutPorts {
  return {
    containerApps: inMemoryContainerApps([], []).port,
    flags: () => unused('flags'),
    gateProviders: () => unused('gate providers'),
    smoke: { run: () => unused('smoke') },
    revisionUrlScheme: 'https',
    approvalLinks: { create: () => unused('approval links') },
    slots: inMemorySlots(undefined, []).slots,
    emergencyStops: new InMemoryEmergencyStopStore(),
    audit: new InMemoryAuditLog(),
    notify: new FakeNotify(() => Date.parse('2026-01-02T03:04:05.000Z')).ports(),
    now: () => new Date('2026-01-02T03:04:05.000Z'),
    ...overrides,
  };
}

const noHost: ActivityInvocation = { startRollout: async () => unused('the durable client') };

describe('activities built from in-memory ports', () => {
  it('retireRevisions keeps the newest, the protected and whatever carries traffic or a label', async () => {
    const ca = inMemoryContainerApps(
      [
        revision('web--a', '2026-01-01T00:00:00Z'),
        revision('web--b', '2026-01-02T00:00:00Z'),
        revision('web--c', '2026-01-03T00:00:00Z'),
        revision('web--d', '2026-01-04T00:00:00Z'),
        revision('web--e', '2026-01-05T00:00:00Z'),
      ],
      [
        { revisionName: 'web--e', weight: 100 },
        { revisionName: 'web--b', weight: 0, label: 'blue' },
      ],
    );
    const activities: ActivityHandlers = createActivities(portsWith({ containerApps: ca.port }));
    const out = await activities.retireRevisions({ app, keep: 1, protect: ['web--c'] }, noHost);
    expect(out.deactivated).toEqual(['web--d', 'web--a']);
    expect(ca.deactivated).toEqual(['web--d', 'web--a']);
  });

  it('deactivateRevision counts a revision that was never created as done only when asked to', async () => {
    const activities = createActivities(portsWith({}));
    await expect(
      activities.deactivateRevision({ app, revisionName: 'web--never', missingOk: true }, noHost),
    ).resolves.toEqual({ deactivated: false });
    await expect(activities.deactivateRevision({ app, revisionName: 'web--never' }, noHost)).rejects.toThrow(
      /\[NotFound\] revision web--never does not exist/,
    );
  });

  it('finishRollout frees the app and starts the rollout queued behind it', async () => {
    const { slots, state } = inMemorySlots('r1', [{ rolloutId: 'r2', input: { image: 'next' } }]);
    const started: { rolloutId: string; input: unknown }[] = [];
    const host: ActivityInvocation = {
      startRollout: async (rolloutId, input) => {
        started.push({ rolloutId, input });
      },
    };
    const activities = createActivities(portsWith({ slots }));
    await expect(
      activities.finishRollout({ rolloutId: 'r1', app, outcome: 'Succeeded' }, host),
    ).resolves.toEqual({ released: true, started: 'r2' });
    expect(started).toEqual([{ rolloutId: 'r2', input: { image: 'next' } }]);
    expect(state).toEqual({ holder: 'r2', queue: [] });
    // At least once: the retried finish of r1 finds r2 holding the app and changes nothing.
    await expect(
      activities.finishRollout({ rolloutId: 'r1', app, outcome: 'Succeeded' }, host),
    ).resolves.toEqual({ released: true, started: null });
    expect(state).toEqual({ holder: 'r2', queue: [] });
  });

  it('finishRollout puts a queued rollout back first in line when it cannot be started', async () => {
    const { slots, state } = inMemorySlots('r1', [
      { rolloutId: 'r2', input: {} },
      { rolloutId: 'r3', input: {} },
    ]);
    const host: ActivityInvocation = {
      startRollout: async () => {
        throw new Error('task hub unavailable');
      },
    };
    const activities = createActivities(portsWith({ slots }));
    await expect(
      activities.finishRollout({ rolloutId: 'r1', app, outcome: 'RolledBack' }, host),
    ).rejects.toThrow('task hub unavailable');
    expect(state).toEqual({
      holder: undefined,
      queue: [
        { rolloutId: 'r2', input: {} },
        { rolloutId: 'r3', input: {} },
      ],
    });
  });

  it('runSmokeChecks probes the revision on the configured scheme, and fails without an FQDN', async () => {
    const urls: string[] = [];
    const activities = createActivities(
      portsWith({
        revisionUrlScheme: 'http',
        smoke: {
          run: async (baseUrl) => {
            urls.push(baseUrl);
            return { passed: true, url: baseUrl, results: [] };
          },
        },
      }),
    );
    await activities.runSmokeChecks({ fqdn: 'web--b.example.test', checks: [] }, noHost);
    expect(urls).toEqual(['http://web--b.example.test/']);
    const noFqdn = await activities.runSmokeChecks({ checks: [] }, noHost);
    expect(noFqdn.passed).toBe(false);
    expect(noFqdn.results[0]?.message).toMatch(/no FQDN/);
    expect(urls).toHaveLength(1);
  });

  it('measureGate turns a provider failure into a measurement with an error, stamped by the clock', async () => {
    const gate: GateSpec = {
      name: 'errors',
      provider: 'prometheus',
      query: 'sum(rate(errors[1m]))',
      address: 'http://prometheus.test',
      intervalMs: 60_000,
      count: 1,
      successCondition: 'result < 1',
      failureLimit: 0,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 0,
      phases: ['prePromotion'],
      onInconclusive: 'fail',
    };
    const failing = { measure: async () => Promise.reject(new Error('connect ECONNREFUSED\nstack')) };
    const activities = createActivities(
      portsWith({
        gateProviders: () => ({
          prometheus: failing,
          azureMonitorMetrics: failing,
          logAnalytics: failing,
          httpJson: failing,
        }),
      }),
    );
    await expect(
      activities.measureGate({ app, gate, revision: 'web--b', baselineRevision: 'web--a' }, noHost),
    ).resolves.toEqual({ error: 'connect ECONNREFUSED', at: '2026-01-02T03:04:05.000Z' });
  });
});
