import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContainerAppsEmulator, startContainerAppsEmulator } from '../../local/containerapps-emulator';
import { readSeedFile } from '../../local/containerapps-emulator/seed';
import { appPath, emulatorRequest, testResourceGroup, testSubscription } from '../support/emulator';

let emulator: ContainerAppsEmulator;
afterEach(async () => {
  await emulator?.stop();
});

const web = { subscriptionId: testSubscription, resourceGroup: testResourceGroup, name: 'web' };
const armGet = (path: string) => emulatorRequest(emulator, 'GET', `${path}?api-version=2026-07-01`);

describe('admin API', () => {
  it('seeds apps, shows state and logs ARM requests', async () => {
    emulator = await startContainerAppsEmulator();
    const seeded = await emulatorRequest(emulator, 'POST', '/_emulator/apps', {
      token: null,
      body: { ...web, image: 'greenlight.azurecr.io/web:v1' },
    });
    expect(seeded.status).toBe(201);
    expect(seeded.body.apps[0]).toMatchObject({ name: 'web', latestRevisionName: 'web--v1' });
    const bad = await emulatorRequest(emulator, 'POST', '/_emulator/apps', {
      token: null,
      body: { ...web, name: 'Web' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('name: must be 2-32 lowercase letters');

    expect((await armGet(appPath(web))).status).toBe(200);
    const state = await emulatorRequest(emulator, 'GET', '/_emulator/state', { token: null });
    expect(state.body.apps[0]).toMatchObject({
      name: 'web',
      revisionMode: 'Multiple',
      traffic: [{ latestRevision: true, weight: 100 }],
      effectiveTraffic: [{ revisionName: 'web--v1', weight: 100 }],
      revisions: [{ name: 'web--v1', active: true, counters: { count: 0 } }],
    });
    const log = await emulatorRequest(emulator, 'GET', '/_emulator/requests', { token: null });
    expect(log.body.requests).toEqual([
      expect.objectContaining({ method: 'GET', path: appPath(web), apiVersion: '2026-07-01', status: 200 }),
    ]);
    await emulatorRequest(emulator, 'DELETE', '/_emulator/requests', { token: null });
    expect(emulator.requestLog).toHaveLength(0);
  });

  it('switches faults on over HTTP: 429 with Retry-After, 500 with an ARM body, matching method and path', async () => {
    emulator = await startContainerAppsEmulator({
      seed: [{ ...web, image: 'greenlight.azurecr.io/web:v1' }],
    });
    const added = await emulatorRequest(emulator, 'POST', '/_emulator/faults', {
      token: null,
      body: [
        { kind: 'throttle', count: 1, method: 'GET', path: '/revisions$', retryAfterSeconds: 2 },
        { kind: 'serverError', count: 1, method: 'GET', path: '/containerApps/web$' },
      ],
    });
    expect(added.status).toBe(201);
    const throttled = await armGet(appPath(web, '/revisions'));
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.body.error.code).toBe('TooManyRequests');
    const failed = await armGet(appPath(web));
    expect(failed).toMatchObject({ status: 500, body: { error: { code: 'InternalServerError' } } });
    expect((await armGet(appPath(web))).status).toBe(200);
    expect(emulator.requestLog.map((r) => [r.status, r.fault])).toEqual([
      [429, 'throttle'],
      [500, 'serverError'],
      [200, undefined],
    ]);

    const invalid = await emulatorRequest(emulator, 'POST', '/_emulator/faults', {
      token: null,
      body: { kind: 'meteor' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain('kind must be one of throttle, serverError, dropConnection');
  });

  it('drops a connection when asked', async () => {
    emulator = await startContainerAppsEmulator({
      seed: [{ ...web, image: 'greenlight.azurecr.io/web:v1' }],
    });
    emulator.faults.dropConnection();
    await expect(armGet(appPath(web))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(emulator.requestLog[0]).toMatchObject({ status: 0, fault: 'dropConnection' });
    expect((await armGet(appPath(web))).status).toBe(200);
  });

  it('writes its CA to a file and serves it', async () => {
    const caFile = join(tmpdir(), `greenlight-emulator-${process.pid}-${Date.now()}`, 'ca.pem');
    emulator = await startContainerAppsEmulator({ caFile });
    try {
      expect(await readFile(caFile, 'utf8')).toBe(emulator.ca);
      expect(emulator.ca).toContain('BEGIN CERTIFICATE');
    } finally {
      await rm(join(caFile, '..'), { recursive: true, force: true });
    }
  });

  it('reads the example seed file', async () => {
    const apps = await readSeedFile(join(__dirname, '../../local/containerapps-emulator/seed.example.json'));
    expect(apps.length).toBeGreaterThan(0);
    emulator = await startContainerAppsEmulator({ seed: apps });
    expect(emulator.state().apps.map((a) => a.name)).toEqual(apps.map((a) => a.name));
  });
});
