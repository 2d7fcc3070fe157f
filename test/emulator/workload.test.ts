import { VirtualClock } from '../../local/clock';
import { type ContainerAppsEmulator, startContainerAppsEmulator } from '../../local/containerapps-emulator';
import { appPath, emulatorRequest, testResourceGroup, testSubscription } from '../support/emulator';

let emulator: ContainerAppsEmulator;
afterEach(async () => {
  await emulator?.stop();
});

const ref = (name: string) => ({ subscriptionId: testSubscription, resourceGroup: testResourceGroup, name });

async function get(fqdn: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${fqdn}${path}`, { headers: { accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function seed(
  name: string,
  image: string,
  extra: object = {},
): Promise<{ fqdn: string; revision: string }> {
  const view = await emulator.seedApp({ ...ref(name), image, ...extra });
  return { fqdn: view.revisions[0]!.fqdn!, revision: view.revisions[0]!.name };
}

/** PATCH through raw HTTPS and wait for the operation, to keep these tests free of the adapter. */
async function patch(name: string, body: object): Promise<void> {
  const res = await emulatorRequest(emulator, 'PATCH', `${appPath(ref(name))}?api-version=2026-07-01`, {
    body,
  });
  expect(res.status).toBe(202);
  const status = new URL(res.headers['azure-asyncoperation'] as string);
  for (;;) {
    const poll = await emulatorRequest(emulator, 'GET', status.pathname + status.search);
    if (poll.body.status !== 'InProgress') return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('revision endpoints', () => {
  it('serve the sample workload: /, /healthz, /dependencies, with counters', async () => {
    emulator = await startContainerAppsEmulator({ provisioningDelayMs: 10 });
    const { fqdn, revision } = await seed('web', 'greenlight.azurecr.io/web:v1');
    expect(await get(fqdn, '/')).toEqual({
      status: 200,
      body: { app: 'web', revision, image: 'greenlight.azurecr.io/web:v1', version: 'v1' },
    });
    expect(await get(fqdn, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get(fqdn, '/dependencies')).toEqual({ status: 200, body: { redis: 'ok', database: 'ok' } });
    expect((await get(fqdn, '/nope')).status).toBe(404);
    expect(emulator.revisionCounters(ref('web'), revision)).toMatchObject({
      count: 4,
      byStatus: { '200': 3, '404': 1 },
      totalLatencyMs: expect.any(Number),
    });
  });

  it('behave as the image tag says: unhealthy, depfail, errors, slow, crash', async () => {
    emulator = await startContainerAppsEmulator({
      provisioningDelayMs: 0,
      slowLatencyMs: 30,
      errorShare: 0.5,
    });
    const unhealthy = await seed('a', 'greenlight.azurecr.io/a:v1-unhealthy');
    expect((await get(unhealthy.fqdn, '/healthz')).status).toBe(503);
    const depfail = await seed('b', 'greenlight.azurecr.io/b:v1-depfail');
    expect(await get(depfail.fqdn, '/dependencies')).toMatchObject({
      status: 503,
      body: { redis: 'failed' },
    });
    const errors = await seed('c', 'greenlight.azurecr.io/c:v1-err5');
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await get(errors.fqdn, '/')).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(5);
    expect((await get(errors.fqdn, '/healthz')).status).toBe(200);
    const slow = await seed('d', 'greenlight.azurecr.io/d:v1-slow');
    expect((await get(slow.fqdn, '/')).status).toBe(200);
    expect(emulator.revisionCounters(ref('d'), slow.revision)!.totalLatencyMs).toBeGreaterThanOrEqual(25);
    const crash = await seed('e', 'greenlight.azurecr.io/e:v1-crash');
    expect(await get(crash.fqdn, '/')).toEqual({
      status: 502,
      body: { error: 'container exited with code 1' },
    });
    expect(emulator.appView(ref('e'))!.revisions[0]).toMatchObject({
      provisioningState: 'Failed',
      runningState: 'Failed',
      provisioningError: 'container exited with code 1',
    });
  });

  it('provision on the injected clock: a virtual clock holds a new revision in Provisioning until moved', async () => {
    const clock = new VirtualClock();
    emulator = await startContainerAppsEmulator({ clock, provisioningDelayMs: 60_000 });
    await seed('web', 'greenlight.azurecr.io/web:v1');
    await patch('web', {
      properties: {
        template: {
          revisionSuffix: 'v2',
          containers: [{ name: 'web', image: 'greenlight.azurecr.io/web:v2' }],
        },
        configuration: { ingress: { traffic: [{ revisionName: 'web--v1', weight: 100 }] } },
      },
    });
    const v2 = () => emulator.appView(ref('web'))!.revisions.find((r) => r.name === 'web--v2')!;
    expect(v2()).toMatchObject({ provisioningState: 'Provisioning', healthState: 'None', replicas: 0 });
    expect((await get(v2().fqdn!, '/healthz')).status).toBe(503);
    clock.advanceBy(59_999);
    expect(v2().provisioningState).toBe('Provisioning');
    clock.advanceBy(1);
    expect(v2()).toMatchObject({
      provisioningState: 'Provisioned',
      healthState: 'Healthy',
      runningState: 'Running',
    });
    expect((await get(v2().fqdn!, '/healthz')).status).toBe(200);
  });

  it('stop serving when deactivated and serve again when activated', async () => {
    emulator = await startContainerAppsEmulator({ provisioningDelayMs: 0 });
    await seed('web', 'greenlight.azurecr.io/web:v1', { traffic: 'pinned' });
    await patch('web', {
      properties: {
        template: {
          revisionSuffix: 'v2',
          containers: [{ name: 'web', image: 'greenlight.azurecr.io/web:v2' }],
        },
      },
    });
    const fqdn = emulator.appView(ref('web'))!.revisions[1]!.fqdn!;
    const action = (a: string) =>
      emulatorRequest(
        emulator,
        'POST',
        `${appPath(ref('web'), `/revisions/web--v2/${a}`)}?api-version=2026-07-01`,
      );
    expect((await action('deactivate')).status).toBe(200);
    await expect(fetch(`http://${fqdn}/`)).rejects.toThrow();
    expect((await action('activate')).status).toBe(200);
    expect((await get(fqdn, '/')).body).toMatchObject({ revision: 'web--v2', version: 'v2' });
  });
});

describe('app ingress endpoint', () => {
  it('routes by the current traffic weights', async () => {
    emulator = await startContainerAppsEmulator({ provisioningDelayMs: 0 });
    const view = await emulator.seedApp({
      ...ref('web'),
      image: 'greenlight.azurecr.io/web:v1',
      traffic: 'pinned',
    });
    const ingress = view.ingressFqdn!;
    await patch('web', {
      properties: {
        template: {
          revisionSuffix: 'v2',
          containers: [{ name: 'web', image: 'greenlight.azurecr.io/web:v2' }],
        },
      },
    });
    const versions = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const v = (await get(ingress, '/')).body.version as string;
        seen[v] = (seen[v] ?? 0) + 1;
      }
      return seen;
    };
    expect(await versions(10)).toEqual({ v1: 10 });
    await patch('web', {
      properties: {
        configuration: {
          ingress: {
            traffic: [
              { revisionName: 'web--v1', weight: 50 },
              { revisionName: 'web--v2', weight: 50 },
            ],
          },
        },
      },
    });
    const split = await versions(60);
    expect(split.v1).toBeGreaterThan(10);
    expect(split.v2).toBeGreaterThan(10);
    expect(emulator.revisionCounters(ref('web'), 'web--v2')!.count).toBe(split.v2);
  });
});
