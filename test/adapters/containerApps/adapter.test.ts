import { isRestError } from '@azure/arm-appcontainers';
import { toGreenlightError } from '../../../src/adapters/containerApps/errors';
import type { TrafficEntry } from '../../../src/domain/ports/containerApps';
import { errorCode } from '../../../src/domain/errors';
import { revisionSuffixFor } from '../../../src/domain/revisionSuffix';
import {
  type EmulatorFixture,
  rejectionOf,
  startEmulatorWithApp,
  waitForRevisionToSettle,
} from '../../support/emulator';

const blue = 'web--v1';
const v2 = 'greenlight.azurecr.io/web:v2';
const green = `web--${revisionSuffixFor(v2)}`;

let fx: EmulatorFixture;
afterEach(async () => {
  await fx?.stop();
});

const patches = (f: EmulatorFixture): number =>
  f.emulator.requestLog.filter((r) => r.method === 'PATCH').length;

async function deployV2(f: EmulatorFixture, image = v2) {
  return f.adapter.deployGreen(f.app, { image, revisionSuffix: revisionSuffixFor(image) });
}

async function getJson(
  fqdn: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${fqdn}${path}`, { headers: { accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('snapshot', () => {
  it('reads the app, its revisions and its traffic with latestRevision resolved to a name', async () => {
    fx = await startEmulatorWithApp({ app: { labels: ['prod'] } });
    const snap = await fx.adapter.getSnapshot(fx.app);
    expect(snap).toMatchObject({
      app: fx.app,
      resourceId: expect.stringContaining('/providers/Microsoft.App/containerApps/web'),
      revisionMode: 'Multiple',
      latestRevisionName: blue,
      latestReadyRevisionName: blue,
      image: 'greenlight.azurecr.io/web:v1',
      ingressFqdn: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      traffic: [
        { revisionName: blue, weight: 100 },
        { revisionName: blue, weight: 0, label: 'prod' },
      ],
    });
    expect(snap.revisions).toEqual([
      expect.objectContaining({
        name: blue,
        active: true,
        provisioningState: 'Provisioned',
        healthState: 'Healthy',
        runningState: 'Running',
        trafficWeight: 100,
        replicas: 1,
      }),
    ]);
    // Crosses the durable boundary as JSON: no Dates or class instances.
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  it('reports a missing app as NotFound', async () => {
    fx = await startEmulatorWithApp();
    const e = await rejectionOf(fx.adapter.getSnapshot({ ...fx.app, name: 'nope' }));
    expect(errorCode(e)).toBe('NotFound');
    expect(e.message).toContain("app 'nope' not found in resource group");
  });
});

describe('deploy green', () => {
  it('keeps blue at 100% and green at 0%, even after green is ready', async () => {
    fx = await startEmulatorWithApp();
    const result = await deployV2(fx);
    expect(result).toEqual({ revisionName: green, created: true });

    const { revision } = await waitForRevisionToSettle(fx, green);
    expect(revision).toMatchObject({ name: green, healthState: 'Healthy', trafficWeight: 0, active: true });
    const snap = await fx.adapter.getSnapshot(fx.app);
    expect(snap.traffic).toEqual([{ revisionName: blue, weight: 100 }]);
    expect(snap.latestRevisionName).toBe(green);
    expect(snap.image).toBe(v2);

    // Users keep landing on blue.
    const ingress = snap.ingressFqdn!;
    for (let i = 0; i < 5; i++) expect((await getJson(ingress, '/')).body).toMatchObject({ revision: blue });
  });

  it('pins latestRevision traffic in the same change, where a plain template update would hand it to green', async () => {
    fx = await startEmulatorWithApp();
    const before = fx.emulator.getApp(fx.app) as {
      properties: { configuration: { ingress: { traffic: unknown } } };
    };
    expect(before.properties.configuration.ingress.traffic).toEqual([{ latestRevision: true, weight: 100 }]);

    await deployV2(fx);
    const after = fx.emulator.getApp(fx.app) as typeof before;
    expect(after.properties.configuration.ingress.traffic).toEqual([{ revisionName: blue, weight: 100 }]);

    // The same deploy without pinning (raw client): once green is ready, latestRevision follows it.
    const current = await fx.client.containerApps.get(fx.app.resourceGroup, fx.app.name);
    await fx.client.containerApps.update(
      fx.app.resourceGroup,
      fx.app.name,
      {
        location: current.location,
        template: {
          ...current.template,
          revisionSuffix: 'naive',
          containers: [{ ...current.template!.containers![0]!, image: 'greenlight.azurecr.io/web:v3' }],
        },
        configuration: { ingress: { traffic: [{ latestRevision: true, weight: 100 }] } },
      },
      { updateIntervalInMs: 10 },
    );
    await waitForRevisionToSettle(fx, 'web--naive');
    expect(fx.emulator.traffic(fx.app)).toEqual([{ revisionName: 'web--naive', weight: 100 }]);
  });

  it('creates no second revision when retried, and says so', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    const patchesAfterFirst = patches(fx);
    const again = await deployV2(fx);
    expect(again).toEqual({ revisionName: green, created: false });
    expect(patches(fx)).toBe(patchesAfterFirst);
    expect((await fx.adapter.getSnapshot(fx.app)).revisions.map((r) => r.name)).toEqual([blue, green]);
  });

  it('reactivates an existing but inactive green on a retried deploy', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    await fx.adapter.deactivateRevision(fx.app, green);
    expect(await deployV2(fx)).toEqual({ revisionName: green, created: false });
    expect((await fx.adapter.getRevision(fx.app, green)).active).toBe(true);
  });

  it('refuses the same suffix for a different image with a Conflict', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    const e = await rejectionOf(
      fx.adapter.deployGreen(fx.app, {
        image: 'greenlight.azurecr.io/web:v9',
        revisionSuffix: revisionSuffixFor(v2),
      }),
    );
    expect(errorCode(e)).toBe('Conflict');
    expect(e.message).toContain(`revision '${green}' already exists with image '${v2}'`);
  });

  it('updates the named container and merges env vars', async () => {
    fx = await startEmulatorWithApp({ app: { env: { KEEP: '1', MODE: 'old' } } });
    await fx.adapter.deployGreen(fx.app, {
      image: v2,
      revisionSuffix: revisionSuffixFor(v2),
      containerName: 'web',
      env: { MODE: 'green', GREENLIGHT_REVISION: green },
    });
    const revisions = fx.emulator.getRevisions(fx.app) as {
      name: string;
      properties: { template: { containers: { image: string; env: unknown[] }[] } };
    }[];
    const container = revisions.find((r) => r.name === green)!.properties.template.containers[0]!;
    expect(container.image).toBe(v2);
    expect(container.env).toEqual([
      { name: 'KEEP', value: '1' },
      { name: 'MODE', value: 'green' },
      { name: 'GREENLIGHT_REVISION', value: green },
    ]);
  });

  it('rejects bad input before calling ARM', async () => {
    fx = await startEmulatorWithApp();
    const short = await rejectionOf(fx.adapter.deployGreen(fx.app, { image: 'web', revisionSuffix: 'gl-x' }));
    expect(errorCode(short)).toBe('InvalidRequest');
    expect(short.message).toContain(
      "image must be a fully qualified reference (registry/repo:tag or registry/repo@sha256:...); got 'web'",
    );
    const suffix = await rejectionOf(
      fx.adapter.deployGreen(fx.app, { image: v2, revisionSuffix: 'Bad--Suffix' }),
    );
    expect(errorCode(suffix)).toBe('InvalidRequest');
    const container = await rejectionOf(
      fx.adapter.deployGreen(fx.app, { image: v2, revisionSuffix: 'gl-x', containerName: 'sidecar' }),
    );
    expect(container.message).toContain("container 'sidecar' not found in app 'web'; its containers: web");
    expect(patches(fx)).toBe(0);
  });

  it('surfaces a crashing image as a Failed revision with its provisioning error', async () => {
    fx = await startEmulatorWithApp();
    const image = 'greenlight.azurecr.io/web:v2-crash';
    const { revisionName } = await deployV2(fx, image);
    const { revision } = await waitForRevisionToSettle(fx, revisionName);
    expect(revision).toMatchObject({
      provisioningState: 'Failed',
      runningState: 'Failed',
      provisioningError: 'container exited with code 1',
      trafficWeight: 0,
    });
    expect((await fx.adapter.getSnapshot(fx.app)).latestReadyRevisionName).toBe(blue);
  });

  it('surfaces an unhealthy image as Provisioned but Unhealthy, and its endpoint says so', async () => {
    fx = await startEmulatorWithApp();
    const { revisionName } = await deployV2(fx, 'greenlight.azurecr.io/web:v2-unhealthy');
    const { revision } = await waitForRevisionToSettle(fx, revisionName);
    expect(revision).toMatchObject({
      provisioningState: 'Provisioned',
      healthState: 'Unhealthy',
      runningState: 'Degraded',
    });
    expect((await getJson(revision.fqdn!, '/healthz')).status).toBe(503);
  });

  it("serves the green revision's own endpoint for smoke tests", async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    const { revision } = await waitForRevisionToSettle(fx, green);
    expect(revision.fqdn).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await getJson(revision.fqdn!, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await getJson(revision.fqdn!, '/')).body).toEqual({
      app: 'web',
      revision: green,
      image: v2,
      version: 'v2',
    });
  });

  it('reports a failed operation as ArmError with ARM code, and finds the revision on retry', async () => {
    fx = await startEmulatorWithApp();
    fx.emulator.faults.failProvisioning({ message: 'image pull failed' });
    const e = await rejectionOf(deployV2(fx));
    expect(errorCode(e)).toBe('ArmError');
    expect(e.message).toMatch(
      /^\[ArmError\] ARM operation PATCH app 'web' failed \(ContainerAppOperationError\): /,
    );
    expect(e.message).toContain('image pull failed');
    expect(await deployV2(fx)).toEqual({ revisionName: green, created: false });
    const { revision } = await waitForRevisionToSettle(fx, green);
    expect(revision).toMatchObject({ provisioningState: 'Failed', provisioningError: 'image pull failed' });
  });
});

describe('retries', () => {
  it('retries 429 with Retry-After and the call still succeeds', async () => {
    fx = await startEmulatorWithApp();
    fx.emulator.faults.throttle({ count: 2, method: 'PATCH', retryAfterSeconds: 1, retryAfterMs: 5 });
    await deployV2(fx);
    const statuses = fx.emulator.requestLog.filter((r) => r.method === 'PATCH').map((r) => r.status);
    expect(statuses).toEqual([429, 429, 202]);
  });

  it('retries 500 and a dropped connection, and the call still succeeds', async () => {
    fx = await startEmulatorWithApp();
    fx.emulator.faults.serverError({ count: 1, method: 'GET', path: '/revisions$' });
    fx.emulator.faults.dropConnection({ count: 1, method: 'GET', path: '/containerApps/web$' });
    const snap = await fx.adapter.getSnapshot(fx.app);
    expect(snap.revisions).toHaveLength(1);
    const faults = fx.emulator.requestLog.filter((r) => r.fault).map((r) => [r.fault, r.status]);
    expect(faults).toEqual(
      expect.arrayContaining([
        ['serverError', 500],
        ['dropConnection', 0],
      ]),
    );
  });

  it('retries faults while polling a long-running operation', async () => {
    fx = await startEmulatorWithApp();
    fx.emulator.faults.slowLro({ polls: 3 });
    fx.emulator.faults.serverError({ count: 1, path: 'containerappOperationStatuses' });
    await deployV2(fx);
    const polls = fx.emulator.requestLog.filter((r) => r.path.includes('containerappOperationStatuses'));
    expect(polls.length).toBeGreaterThanOrEqual(5);
    expect(fx.emulator.appView(fx.app)?.provisioningState).toBe('Succeeded');
  });

  it('gives up with ArmThrottled when throttling outlasts the retries', async () => {
    fx = await startEmulatorWithApp({ adapter: { maxRetries: 2 } });
    fx.emulator.faults.throttle({ count: 10, retryAfterMs: 1 });
    const e = await rejectionOf(fx.adapter.getRevision(fx.app, blue));
    expect(errorCode(e)).toBe('ArmThrottled');
    expect(e.message).toContain(`GET revision '${blue}' of app 'web'`);
    expect(e.message).toContain('429 TooManyRequests');
    expect(fx.emulator.requestLog).toHaveLength(3);
  });

  it('gives up with ArmUnavailable when 5xx or dropped connections outlast the retries', async () => {
    fx = await startEmulatorWithApp({ adapter: { maxRetries: 1 } });
    fx.emulator.faults.serverError({ count: 2, status: 503, code: 'ServiceUnavailable' });
    const e5 = await rejectionOf(fx.adapter.getRevision(fx.app, blue));
    expect(errorCode(e5)).toBe('ArmUnavailable');
    expect(e5.message).toContain('(503 ServiceUnavailable)');
    fx.emulator.faults.dropConnection({ count: 2 });
    const dropped = await rejectionOf(fx.adapter.getRevision(fx.app, blue));
    expect(errorCode(dropped)).toBe('ArmUnavailable');
    expect(dropped.message).toContain('ECONNRESET');
  });
});

describe('traffic', () => {
  it('rejects bad weights with InvalidTraffic naming each problem, without calling ARM', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    const cases: [TrafficEntry[], string][] = [
      [
        [
          { revisionName: blue, weight: 60 },
          { revisionName: green, weight: 30 },
        ],
        'weights must sum to 100; got 90',
      ],
      [
        [
          { revisionName: blue, weight: 50.5 },
          { revisionName: green, weight: 49.5 },
        ],
        'traffic[0].weight must be a whole number',
      ],
      [
        [
          { revisionName: blue, weight: 100 },
          { revisionName: 'web--ghost', weight: 0 },
        ],
        "revision 'web--ghost' does not exist",
      ],
      [
        [
          { revisionName: blue, weight: 100, label: 'prod' },
          { revisionName: green, weight: 0, label: 'prod' },
        ],
        "label 'prod' is already used by another entry",
      ],
      [[], 'traffic must hold at least one entry'],
    ];
    fx.emulator.resetRequestLog();
    for (const [entries, expected] of cases) {
      const e = await rejectionOf(fx.adapter.setTraffic(fx.app, entries));
      expect(errorCode(e)).toBe('InvalidTraffic');
      expect(e.message).toContain(expected);
    }
    expect(patches(fx)).toBe(0);
  });

  it('refuses weight on an inactive revision', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    await fx.adapter.deactivateRevision(fx.app, green);
    const e = await rejectionOf(
      fx.adapter.setTraffic(fx.app, [
        { revisionName: blue, weight: 90 },
        { revisionName: green, weight: 10 },
      ]),
    );
    expect(errorCode(e)).toBe('InvalidTraffic');
    expect(e.message).toContain(`revision '${green}' is inactive and cannot take 10%`);
  });

  it("carries ARM's code when ARM itself rejects traffic (adapter checks bypassed)", async () => {
    fx = await startEmulatorWithApp();
    const current = await fx.client.containerApps.get(fx.app.resourceGroup, fx.app.name);
    let raw: unknown;
    try {
      await fx.client.containerApps.update(fx.app.resourceGroup, fx.app.name, {
        location: current.location,
        configuration: { ingress: { traffic: [{ revisionName: blue, weight: 50 }] } },
      });
    } catch (e) {
      raw = e;
    }
    expect(isRestError(raw) && raw.statusCode).toBe(400);
    const typed = toGreenlightError(raw, { verb: 'PATCH', what: "app 'web'", app: fx.app });
    expect(typed.code).toBe('ArmError');
    expect(typed.message).toBe(
      "[ArmError] ARM rejected PATCH app 'web' (400 ContainerAppInvalidTraffic): traffic weights must sum to 100; got 50.",
    );
    expect(typed.details).toMatchObject({
      status: 400,
      armCode: 'ContainerAppInvalidTraffic',
      operation: "PATCH app 'web'",
    });
  });

  it('turns an ARM refusal of a valid-looking change into ArmError with code, status and message', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    fx.emulator.faults.serverError({
      method: 'PATCH',
      status: 400,
      code: 'ContainerAppInvalidTraffic',
      message: 'weights must sum to 100',
    });
    const e = await rejectionOf(
      fx.adapter.setTraffic(fx.app, [
        { revisionName: blue, weight: 50 },
        { revisionName: green, weight: 50 },
      ]),
    );
    expect(e.message).toBe(
      "[ArmError] ARM rejected PATCH app 'web' (400 ContainerAppInvalidTraffic): weights must sum to 100",
    );
    expect((e as unknown as { details: unknown }).details).toMatchObject({
      status: 400,
      armCode: 'ContainerAppInvalidTraffic',
      armMessage: 'weights must sum to 100',
    });
  });

  it('sets known traffic without reading the app: its revisions, then one PATCH; twice is the same', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    await fx.adapter.getSnapshot(fx.app);
    fx.emulator.resetRequestLog();
    await fx.adapter.setTraffic(fx.app, [{ revisionName: blue, weight: 100, label: 'blue' }]);
    await fx.adapter.setTraffic(fx.app, [{ revisionName: blue, weight: 100, label: 'blue' }]);
    const calls = fx.emulator.requestLog
      .filter((r) => !/containerappOperation/.test(r.path))
      .map((r) => `${r.method} ${r.path.replace(/^.*\/containerApps\/web/, '')}`);
    expect(calls).toEqual(['GET /revisions', 'PATCH ', 'GET /revisions', 'PATCH ']);
    expect(fx.emulator.appView(fx.app)?.traffic).toEqual([
      { revisionName: blue, weight: 100, label: 'blue' },
    ]);
  });

  it('pins latestRevision traffic even when the weights already match', async () => {
    fx = await startEmulatorWithApp();
    await fx.adapter.setTraffic(fx.app, [{ revisionName: blue, weight: 100 }]);
    expect(patches(fx)).toBe(1);
    expect(fx.emulator.appView(fx.app)?.traffic).toEqual([{ revisionName: blue, weight: 100 }]);
  });

  it("restores a snapshot's traffic exactly after a split", async () => {
    fx = await startEmulatorWithApp({ app: { labels: ['prod'] } });
    const before = await fx.adapter.getSnapshot(fx.app);
    await deployV2(fx);
    await waitForRevisionToSettle(fx, green);
    await fx.adapter.setTraffic(fx.app, [
      { revisionName: blue, weight: 50, label: 'blue' },
      { revisionName: green, weight: 50, label: 'green' },
    ]);
    expect(fx.emulator.traffic(fx.app)).toEqual([
      { revisionName: blue, weight: 50, label: 'blue' },
      { revisionName: green, weight: 50, label: 'green' },
    ]);
    await fx.adapter.setTraffic(fx.app, before.traffic);
    expect((await fx.adapter.getSnapshot(fx.app)).traffic).toEqual(before.traffic);
    expect(fx.emulator.traffic(fx.app)).toEqual(before.traffic);
  });

  it('sets, moves and removes a label, each idempotent', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    await deployV2(fx);
    await fx.adapter.setLabel(fx.app, 'candidate', green);
    expect(fx.emulator.traffic(fx.app)).toEqual([
      { revisionName: blue, weight: 100 },
      { revisionName: green, weight: 0, label: 'candidate' },
    ]);
    const afterSet = patches(fx);
    await fx.adapter.setLabel(fx.app, 'candidate', green);
    expect(patches(fx)).toBe(afterSet);

    await fx.adapter.setLabel(fx.app, 'candidate', blue);
    expect(fx.emulator.traffic(fx.app)).toEqual([{ revisionName: blue, weight: 100, label: 'candidate' }]);

    await fx.adapter.removeLabel(fx.app, 'candidate');
    expect(fx.emulator.traffic(fx.app)).toEqual([{ revisionName: blue, weight: 100 }]);
    const afterRemove = patches(fx);
    await fx.adapter.removeLabel(fx.app, 'candidate');
    expect(patches(fx)).toBe(afterRemove);

    const bad = await rejectionOf(fx.adapter.setLabel(fx.app, 'Not_A_Label', green));
    expect(errorCode(bad)).toBe('InvalidTraffic');
  });
});

describe('revision mode and activation', () => {
  it('switches a Single-mode app to Multiple once', async () => {
    fx = await startEmulatorWithApp({ app: { revisionMode: 'Single' } });
    expect((await fx.adapter.getSnapshot(fx.app)).revisionMode).toBe('Single');
    expect(await fx.adapter.ensureMultipleRevisionMode(fx.app)).toEqual({ changed: true });
    expect(await fx.adapter.ensureMultipleRevisionMode(fx.app)).toEqual({ changed: false });
    expect((await fx.adapter.getSnapshot(fx.app)).revisionMode).toBe('Multiple');
    expect(patches(fx)).toBe(1);
  });

  it('refuses to deactivate a revision that carries traffic, and toggles one that does not', async () => {
    fx = await startEmulatorWithApp();
    await deployV2(fx);
    const refused = await rejectionOf(fx.adapter.deactivateRevision(fx.app, blue));
    expect(errorCode(refused)).toBe('Conflict');
    expect(refused.message).toContain(
      `refusing to deactivate revision '${blue}' of app 'web': it carries 100% of traffic`,
    );

    await fx.adapter.deactivateRevision(fx.app, green);
    await fx.adapter.deactivateRevision(fx.app, green);
    expect((await fx.adapter.getRevision(fx.app, green)).active).toBe(false);
    await fx.adapter.activateRevision(fx.app, green);
    await fx.adapter.activateRevision(fx.app, green);
    expect((await fx.adapter.getRevision(fx.app, green)).active).toBe(true);
    const posts = fx.emulator.requestLog
      .filter((r) => r.method === 'POST')
      .map((r) => r.path.split('/').pop());
    expect(posts).toEqual(['deactivate', 'activate']);
  });

  it('reports an unknown revision as NotFound', async () => {
    fx = await startEmulatorWithApp();
    const e = await rejectionOf(fx.adapter.getRevision(fx.app, 'web--ghost'));
    expect(errorCode(e)).toBe('NotFound');
    expect(e.message).toContain("revision 'web--ghost' of app 'web' not found");
  });
});
