import type { ContainerApp } from '@azure/arm-appcontainers';
import { isRestError } from '@azure/arm-appcontainers';
import { request } from 'node:http';
import {
  appPath,
  emulatorRequest,
  type EmulatorFixture,
  startEmulatorWithApp,
  testResourceGroup as rg,
  waitForRevisionToSettle,
} from '../support/emulator';

let fx: EmulatorFixture;
afterEach(async () => {
  await fx?.stop();
});

const api = '?api-version=2025-01-01';

async function update(change: Omit<ContainerApp, 'location'>): Promise<ContainerApp> {
  return fx.client.containerApps.update(
    rg,
    'web',
    { location: 'westeurope', ...change },
    { updateIntervalInMs: 10 },
  );
}

async function refusal(p: Promise<unknown>): Promise<{ status?: number; code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isRestError(e)) return { status: e.statusCode, code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected ARM to refuse the request');
}

/** A raw PATCH (fields the SDK would drop survive), then wait for its operation. */
async function rawPatch(body: unknown): Promise<{ status: number; body: { error?: { code: string } } }> {
  const res = await emulatorRequest(fx.emulator, 'PATCH', `${appPath(fx.app)}${api}`, { body });
  for (let i = 0; i < 100 && fx.emulator.appView(fx.app)?.provisioningState === 'InProgress'; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return res as { status: number; body: { error?: { code: string } } };
}

/** GET over plain HTTP (the emulator's revision and app endpoints), with optional headers. */
function get(
  hostPort: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const [host, port] = hostPort.split(':');
    const req = request({ host, port: Number(port), path: '/', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function deployImage(
  image: string,
  suffix: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const current = await fx.client.containerApps.get(rg, 'web');
  await update({
    template: {
      ...current.template,
      ...extra,
      revisionSuffix: suffix,
      containers: [{ ...current.template!.containers![0]!, image }],
    },
  });
  return `web--${suffix}`;
}

describe('Container Apps settings that shape a blue-green', () => {
  it('session affinity is kept as set and in effect only in Single mode; a bad value is refused', async () => {
    fx = await startEmulatorWithApp();
    await update({ configuration: { ingress: { stickySessions: { affinity: 'sticky' } } } });
    expect(fx.emulator.appView(fx.app)).toMatchObject({ revisionMode: 'Multiple', affinityInEffect: false });
    const snapshot = await fx.adapter.getSnapshot(fx.app);
    expect(snapshot.stickySessions).toBe('sticky');
    await update({ configuration: { activeRevisionsMode: 'Single' } });
    expect(fx.emulator.appView(fx.app)?.affinityInEffect).toBe(true);
    const bad = await refusal(
      update({ configuration: { ingress: { stickySessions: { affinity: 'always' } } } }),
    );
    expect(bad).toMatchObject({ status: 400, code: 'ContainerAppInvalidStickySessions' });
  });

  it('Labels mode needs a target label (which the JS SDK drops), moves it to a new revision and shuts unlabelled ones', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    const viaSdk = await refusal(update({ configuration: { activeRevisionsMode: 'Labels' } }));
    expect(viaSdk).toMatchObject({ status: 400, code: 'ContainerAppTargetLabelRequired' });
    const set = await rawPatch({
      properties: {
        configuration: {
          activeRevisionsMode: 'Labels',
          targetLabel: 'stage',
          ingress: { traffic: [{ revisionName: 'web--v1', weight: 100, label: 'prod' }] },
        },
      },
    });
    expect(set.status).toBeLessThan(300);
    expect((await fx.adapter.getSnapshot(fx.app)).activeRevisionsMode).toBe('Labels');
    const res = await rawPatch({
      properties: {
        template: {
          revisionSuffix: 'v2',
          containers: [{ name: 'web', image: 'greenlight.azurecr.io/web:v2' }],
        },
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(fx.emulator.appView(fx.app)?.traffic).toEqual([
      { revisionName: 'web--v1', weight: 100, label: 'prod' },
      { revisionName: 'web--v2', weight: 0, label: 'stage' },
    ]);
    await waitForRevisionToSettle(fx, 'web--v2');
    // Both revisions are labelled, so both stay; drop prod's label from v1 and v1 shuts down.
    expect(fx.emulator.appView(fx.app)?.revisions.map((r) => [r.name, r.active])).toEqual([
      ['web--v1', true],
      ['web--v2', true],
    ]);
    await rawPatch({
      properties: {
        configuration: { ingress: { traffic: [{ revisionName: 'web--v2', weight: 100, label: 'stage' }] } },
      },
    });
    expect(fx.emulator.appView(fx.app)?.revisions.map((r) => [r.name, r.active])).toEqual([
      ['web--v1', false],
      ['web--v2', true],
    ]);
  });

  it('minReplicas 0: no replica until a request, which waits for a cold start', async () => {
    fx = await startEmulatorWithApp({ emulator: { coldStartMs: 250 } });
    const green = await deployImage('greenlight.azurecr.io/web:v2', 'v2', {
      scale: { minReplicas: 0, maxReplicas: 3, cooldownPeriod: 300 },
    });
    const { revision } = await waitForRevisionToSettle(fx, green);
    expect(revision).toMatchObject({ healthState: 'Healthy', replicas: 0 });
    const cold = await get(revision.fqdn ?? '');
    expect(cold.status).toBe(200);
    expect(cold.ms).toBeGreaterThanOrEqual(240);
    expect((await fx.adapter.getRevision(fx.app, green)).replicas).toBe(1);
    const snapshot = await fx.adapter.getSnapshot(fx.app);
    expect(snapshot.template?.scale.minReplicas).toBe(0);
    expect(snapshot.revisions.find((r) => r.name === green)?.template?.scale).toMatchObject({
      minReplicas: 0,
    });
  });

  it('internal ingress answers callers inside the environment only', async () => {
    fx = await startEmulatorWithApp();
    await update({ configuration: { ingress: { external: false } } });
    const fqdn = (await fx.adapter.getRevision(fx.app, 'web--v1')).fqdn ?? '';
    expect((await get(fqdn)).status).toBe(403);
    expect((await get(fqdn, { 'x-emulator-in-environment': '1' })).status).toBe(200);
    expect((await fx.adapter.getSnapshot(fx.app)).ingressExternal).toBe(false);
  });

  it('keeps at most maxInactiveRevisions inactive revisions, dropping the oldest', async () => {
    fx = await startEmulatorWithApp({ app: { traffic: 'pinned' } });
    const bad = await refusal(update({ configuration: { maxInactiveRevisions: -1 } }));
    expect(bad).toMatchObject({ status: 400, code: 'ContainerAppInvalidMaxInactiveRevisions' });
    await update({ configuration: { maxInactiveRevisions: 2 } });
    for (const v of ['v2', 'v3', 'v4']) {
      const name = await deployImage(`greenlight.azurecr.io/web:${v}`, v);
      await waitForRevisionToSettle(fx, name);
    }
    for (const name of ['web--v2', 'web--v3', 'web--v4']) await fx.adapter.deactivateRevision(fx.app, name);
    const snapshot = await fx.adapter.getSnapshot(fx.app);
    expect(snapshot.maxInactiveRevisions).toBe(2);
    expect(snapshot.revisions.map((r) => [r.name, r.active]).sort()).toEqual([
      ['web--v1', true],
      ['web--v3', false],
      ['web--v4', false],
    ]);
  });
});
