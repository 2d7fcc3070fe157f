import { VirtualClock } from '../../local/clock';
import type { ContainerApp } from '@azure/arm-appcontainers';
import { isRestError } from '@azure/arm-appcontainers';
import {
  appPath,
  emulatorRequest,
  type EmulatorFixture,
  startEmulatorWithApp,
  testResourceGroup,
  waitForRevisionToSettle,
} from '../support/emulator';

let fx: EmulatorFixture;
afterEach(async () => {
  await fx?.stop();
});

const rg = testResourceGroup;

async function armError(p: Promise<unknown>): Promise<{ status?: number; code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isRestError(e)) return { status: e.statusCode, code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected ARM to refuse the request');
}

async function update(
  f: EmulatorFixture,
  change: Omit<ContainerApp, 'location'>,
  name = 'web',
): Promise<ContainerApp> {
  return f.client.containerApps.update(
    rg,
    name,
    { location: 'westeurope', ...change },
    { updateIntervalInMs: 10 },
  );
}

async function withImage(f: EmulatorFixture, image: string, revisionSuffix?: string): Promise<ContainerApp> {
  const current = await f.client.containerApps.get(rg, 'web');
  return update(f, {
    template: {
      ...current.template,
      revisionSuffix,
      containers: [{ ...current.template!.containers![0]!, image }],
    },
  });
}

describe('api-version and authentication', () => {
  it.each(['2022-03-01', '2022-10-01', '2023-05-01', '2024-03-01', '2025-01-01', '2025-07-01', '2026-07-01'])(
    'serves stable api-version %s',
    async (v) => {
      fx = await startEmulatorWithApp();
      const res = await emulatorRequest(fx.emulator, 'GET', `${appPath(fx.app)}?api-version=${v}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'web', type: 'Microsoft.App/containerApps' });
      expect(res.body.properties.configuration.ingress.traffic).toEqual([
        { latestRevision: true, weight: 100 },
      ]);
    },
  );

  it.each([
    ['2024-02-02-preview', 'InvalidApiVersionParameter'],
    ['2021-03-01', 'InvalidApiVersionParameter'],
    ['2023-02-30', 'InvalidApiVersionParameter'],
    ['latest', 'InvalidApiVersionParameter'],
  ])('rejects api-version %s with %s', async (v, code) => {
    fx = await startEmulatorWithApp();
    const res = await emulatorRequest(fx.emulator, 'GET', `${appPath(fx.app)}?api-version=${v}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toContain(`'${v}'`);
  });

  it('requires an api-version', async () => {
    fx = await startEmulatorWithApp();
    const res = await emulatorRequest(fx.emulator, 'GET', appPath(fx.app));
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'MissingApiVersionParameter' } } });
  });

  it('answers 401 AuthenticationFailed without a bearer token', async () => {
    fx = await startEmulatorWithApp();
    const none = await emulatorRequest(fx.emulator, 'GET', `${appPath(fx.app)}?api-version=2026-07-01`, {
      token: null,
    });
    expect(none).toMatchObject({ status: 401, body: { error: { code: 'AuthenticationFailed' } } });
    expect(fx.emulator.requestLog.at(-1)).toMatchObject({ method: 'GET', status: 401 });
  });

  it('answers ARM-shaped 404s', async () => {
    fx = await startEmulatorWithApp();
    const app = await emulatorRequest(
      fx.emulator,
      'GET',
      `${appPath({ ...fx.app, name: 'ghost' })}?api-version=2026-07-01`,
    );
    expect(app).toMatchObject({ status: 404, body: { error: { code: 'ResourceNotFound' } } });
    const rev = await emulatorRequest(
      fx.emulator,
      'GET',
      `${appPath(fx.app, '/revisions/web--ghost')}?api-version=2026-07-01`,
    );
    expect(rev).toMatchObject({ status: 404, body: { error: { code: 'ResourceNotFound' } } });
  });
});

describe('long-running operations with the SDK poller', () => {
  it('completes beginCreateOrUpdateAndWait (201 + Azure-AsyncOperation) and beginUpdateAndWait (202 + Location)', async () => {
    fx = await startEmulatorWithApp();
    const created = await fx.client.containerApps.beginCreateOrUpdateAndWait(
      rg,
      'api',
      {
        location: 'westeurope',
        configuration: { activeRevisionsMode: 'Multiple', ingress: { external: true, targetPort: 8080 } },
        template: {
          revisionSuffix: 'one',
          containers: [{ name: 'api', image: 'greenlight.azurecr.io/api:v1' }],
        },
      },
      { updateIntervalInMs: 10 },
    );
    expect(created).toMatchObject({ provisioningState: 'Succeeded', latestRevisionName: 'api--one' });
    const put = fx.emulator.requestLog.find((r) => r.method === 'PUT');
    expect(put?.status).toBe(201);

    const updated = await fx.client.containerApps.beginUpdateAndWait(
      rg,
      'api',
      {
        location: 'westeurope',
        configuration: { ingress: { traffic: [{ revisionName: 'api--one', weight: 100 }] } },
      },
      { updateIntervalInMs: 10 },
    );
    expect(updated.configuration?.ingress?.traffic).toEqual([{ revisionName: 'api--one', weight: 100 }]);
    expect(fx.emulator.requestLog.find((r) => r.method === 'PATCH')?.status).toBe(202);
  });

  it('keeps the operation InProgress for the polls a slow-LRO fault asks for', async () => {
    fx = await startEmulatorWithApp();
    fx.emulator.faults.slowLro({ polls: 4 });
    fx.emulator.resetRequestLog();
    await update(fx, { configuration: { activeRevisionsMode: 'Multiple' } });
    const polls = fx.emulator.requestLog.filter((r) => r.path.includes('containerappOperationStatuses'));
    expect(polls.length).toBeGreaterThanOrEqual(5);
  });

  it('fails the operation and the revision when provisioning is made to fail', async () => {
    fx = await startEmulatorWithApp();
    fx.emulator.faults.failProvisioning({ message: 'quota exceeded' });
    await expect(withImage(fx, 'greenlight.azurecr.io/web:v2', 'v2')).rejects.toThrow(
      /long-running operation has failed.*ContainerAppOperationError.*quota exceeded/,
    );
    const view = fx.emulator.appView(fx.app)!;
    expect(view.provisioningState).toBe('Failed');
    await waitForRevisionToSettle(fx, 'web--v2');
    expect(fx.emulator.appView(fx.app)!.revisions.find((r) => r.name === 'web--v2')).toMatchObject({
      provisioningState: 'Failed',
      provisioningError: 'quota exceeded',
    });
  });
});

describe('revision semantics', () => {
  it('creates a revision for a template change and none for a traffic-only change', async () => {
    fx = await startEmulatorWithApp();
    const a = await withImage(fx, 'greenlight.azurecr.io/web:v2');
    expect(a.latestRevisionName).toMatch(/^web--r[0-9a-f]{6}$/);
    await update(fx, { configuration: { ingress: { traffic: [{ revisionName: 'web--v1', weight: 100 }] } } });
    const names = fx.emulator.getRevisions(fx.app).map((r) => r.name);
    expect(names).toEqual(['web--v1', a.latestRevisionName]);
    const suffixOnly = await withImage(fx, 'greenlight.azurecr.io/web:v2', 'again');
    expect(suffixOnly.latestRevisionName).toBe('web--again');
  });

  it('refuses to reuse a revision suffix for a different template (409)', async () => {
    fx = await startEmulatorWithApp();
    await withImage(fx, 'greenlight.azurecr.io/web:v2', 'v2');
    const e = await armError(withImage(fx, 'greenlight.azurecr.io/web:v3', 'v2'));
    expect(e).toMatchObject({ status: 409, code: 'ContainerAppRevisionAlreadyExists' });
  });

  it('validates images, suffixes and traffic as ACA does', async () => {
    fx = await startEmulatorWithApp();
    expect(await armError(withImage(fx, 'Greenlight.azurecr.io/Web:v2'))).toMatchObject({
      status: 400,
      code: 'ContainerAppInvalidImage',
    });
    expect(await armError(withImage(fx, 'greenlight.azurecr.io/web:v2', '2-bad'))).toMatchObject({
      status: 400,
      code: 'ContainerAppInvalidRevisionName',
    });
    const traffic = (t: object[]) => update(fx, { configuration: { ingress: { traffic: t } } });
    const unknown = await armError(traffic([{ revisionName: 'web--ghost', weight: 100 }]));
    expect(unknown).toMatchObject({ status: 400, code: 'ContainerAppInvalidTraffic' });
    expect(unknown.message).toContain("revision 'web--ghost' does not exist");
    const labels = await armError(
      traffic([
        { revisionName: 'web--v1', weight: 100, label: 'a' },
        { latestRevision: true, weight: 0, label: 'a' },
      ]),
    );
    expect(labels.message).toContain("label 'a' is used by more than one traffic entry");
    const sum = await armError(traffic([{ revisionName: 'web--v1', weight: 90 }]));
    expect(sum.message).toContain('traffic weights must sum to 100; got 90');
  });

  it('lets an inactive revision keep a 0% entry but not receive traffic', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    await withImage(fx, 'greenlight.azurecr.io/web:v2', 'v2');
    await fx.client.containerAppsRevisions.deactivateRevision(rg, 'web', 'web--v2');
    const e = await armError(
      update(fx, {
        configuration: {
          ingress: {
            traffic: [
              { revisionName: 'web--v1', weight: 50 },
              { revisionName: 'web--v2', weight: 50 },
            ],
          },
        },
      }),
    );
    expect(e.message).toContain("revision 'web--v2' is inactive and cannot receive traffic");
    const refused = await armError(fx.client.containerAppsRevisions.deactivateRevision(rg, 'web', 'web--v1'));
    expect(refused).toMatchObject({ status: 400, code: 'ContainerAppRevisionInUse' });
  });

  it('in Single mode keeps only the latest ready revision active, with all traffic', async () => {
    // Provisioning on a virtual clock: "while v2 provisions" is a state the test holds, not a race.
    const clock = new VirtualClock();
    fx = await startEmulatorWithApp({
      app: { revisionMode: 'Single' },
      emulator: { clock, provisioningDelayMs: 60_000 },
    });
    await withImage(fx, 'greenlight.azurecr.io/web:v2', 'v2');
    // While v2 provisions, v1 still serves.
    expect(fx.emulator.traffic(fx.app)).toEqual([{ revisionName: 'web--v1', weight: 100 }]);
    clock.advanceBy(60_000);
    await waitForRevisionToSettle(fx, 'web--v2');
    const view = fx.emulator.appView(fx.app)!;
    expect(view.revisions.map((r) => [r.name, r.active])).toEqual([
      ['web--v1', false],
      ['web--v2', true],
    ]);
    expect(view.effectiveTraffic).toEqual([{ revisionName: 'web--v2', weight: 100 }]);
  });

  it('in Single mode keeps the old revision serving when the new one crashes', async () => {
    fx = await startEmulatorWithApp({ app: { revisionMode: 'Single' } });
    await withImage(fx, 'greenlight.azurecr.io/web:v2-crash', 'v2');
    await waitForRevisionToSettle(fx, 'web--v2');
    const view = fx.emulator.appView(fx.app)!;
    expect(view.revisions.map((r) => [r.name, r.active, r.provisioningState])).toEqual([
      ['web--v1', true, 'Provisioned'],
      ['web--v2', true, 'Failed'],
    ]);
    expect(view.effectiveTraffic).toEqual([{ revisionName: 'web--v1', weight: 100 }]);
  });

  it('in Multiple mode latestRevision traffic follows the latest ready revision', async () => {
    const clock = new VirtualClock();
    fx = await startEmulatorWithApp({ emulator: { clock, provisioningDelayMs: 60_000 } });
    await withImage(fx, 'greenlight.azurecr.io/web:v2', 'v2');
    expect(fx.emulator.traffic(fx.app)).toEqual([{ revisionName: 'web--v1', weight: 100 }]);
    clock.advanceBy(60_000);
    await waitForRevisionToSettle(fx, 'web--v2');
    expect(fx.emulator.traffic(fx.app)).toEqual([{ revisionName: 'web--v2', weight: 100 }]);
    expect(fx.emulator.appView(fx.app)!.revisions.every((r) => r.active)).toBe(true);
  });

  it('lists apps of a resource group and revisions of an app through the SDK pagers', async () => {
    fx = await startEmulatorWithApp();
    const apps = [];
    for await (const a of fx.client.containerApps.listByResourceGroup(rg)) apps.push(a.name);
    expect(apps).toEqual(['web']);
    const revisions = [];
    for await (const r of fx.client.containerAppsRevisions.listRevisions(rg, 'web')) revisions.push(r.name);
    expect(revisions).toEqual(['web--v1']);
  });
});
