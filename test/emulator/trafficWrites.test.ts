import { isRestError } from '@azure/arm-appcontainers';
import { startEmulatorWithApp, testResourceGroup, type EmulatorFixture } from '../support/emulator';
import { trafficInvariantProblems } from '../support/trafficInvariant';

let fx: EmulatorFixture;
afterEach(async () => {
  await fx?.stop();
});

/** 'accepted', or the ARM error code of the refusal. */
async function setTraffic(f: EmulatorFixture, traffic: object[]): Promise<string> {
  try {
    await f.client.containerApps.update(
      testResourceGroup,
      f.app.name,
      { location: 'westeurope', configuration: { ingress: { traffic } } },
      { updateIntervalInMs: 10 },
    );
    return 'accepted';
  } catch (e) {
    if (isRestError(e)) return e.code ?? 'refused';
    throw e;
  }
}

async function deploy(f: EmulatorFixture, tag: string): Promise<void> {
  const current = await f.client.containerApps.get(testResourceGroup, f.app.name);
  await f.client.containerApps.update(
    testResourceGroup,
    f.app.name,
    {
      location: 'westeurope',
      template: {
        ...current.template,
        revisionSuffix: tag,
        containers: [{ ...current.template!.containers![0]!, image: `greenlight.azurecr.io/web:${tag}` }],
      },
    },
    { updateIntervalInMs: 10 },
  );
}

describe('the emulator records every traffic write, so the rollout invariant can fail', () => {
  it('keeps a refused write (weights summing to 90) next to the accepted ones, and the invariant names it', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    expect(await setTraffic(fx, [{ revisionName: 'web--v1', weight: 100 }])).toBe('accepted');
    expect(await setTraffic(fx, [{ revisionName: 'web--v1', weight: 90 }])).toBe(
      'ContainerAppInvalidTraffic',
    );

    // Where traffic went: only the accepted write.
    expect(fx.emulator.trafficHistory(fx.app).map((c) => c.traffic)).toEqual([
      [{ revisionName: 'web--v1', weight: 100 }],
    ]);
    // What was attempted: both, the refused one with ACA's reason.
    const writes = fx.emulator.trafficWrites(fx.app);
    expect(writes.map((w) => [w.accepted, w.traffic])).toEqual([
      [true, [{ revisionName: 'web--v1', weight: 100 }]],
      [false, [{ revisionName: 'web--v1', weight: 90 }]],
    ]);
    expect(writes[1]!.refusal).toContain('traffic weights must sum to 100; got 90');

    const problems = trafficInvariantProblems(writes);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^traffic summed to 90 at .*refused: ContainerAppInvalidTraffic/);
    // The same check passes on the accepted writes alone: it is the refused write that fails it.
    expect(trafficInvariantProblems(writes.filter((w) => w.accepted))).toEqual([]);
  });

  it('catches an accepted write that gives weight to a revision still provisioning', async () => {
    fx = await startEmulatorWithApp({
      app: { traffic: 'pinned' },
      emulator: { provisioningDelayMs: 60_000 },
    });
    await deploy(fx, 'v2');
    const split = [
      { revisionName: 'web--v1', weight: 50 },
      { revisionName: 'web--v2', weight: 50 },
    ];
    // ACA accepts weight on a revision that is still provisioning; a blue-green rollout must never send it.
    expect(await setTraffic(fx, split)).toBe('accepted');
    const problems = trafficInvariantProblems(fx.emulator.trafficWrites(fx.app));
    expect(problems).toEqual([expect.stringMatching(/^web--v2 got 50% while not ready at .*\(accepted\)$/)]);
  });

  it('catches a refused attempt to serve a green that failed its checks', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    await deploy(fx, 'v2');
    await fx.client.containerAppsRevisions.deactivateRevision(testResourceGroup, 'web', 'web--v2');
    const split = [
      { revisionName: 'web--v1', weight: 80 },
      { revisionName: 'web--v2', weight: 20 },
    ];
    expect(await setTraffic(fx, split)).toBe('ContainerAppInvalidTraffic');
    const problems = trafficInvariantProblems(fx.emulator.trafficWrites(fx.app), {
      greenNeverServed: 'web--v2',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^web--v2 got 20% while not ready at .*refused/),
      expect.stringMatching(/^web--v2 failed its checks but got 20% at .*refused/),
    ]);
  });
});
