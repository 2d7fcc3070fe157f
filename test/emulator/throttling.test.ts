import { type ContainerAppsEmulator, startContainerAppsEmulator } from '../../local/containerapps-emulator';
import { appPath, emulatorRequest, testResourceGroup, testSubscription } from '../support/emulator';

let emulator: ContainerAppsEmulator;
afterEach(async () => {
  await emulator?.stop();
});

const web = { subscriptionId: testSubscription, resourceGroup: testResourceGroup, name: 'web' };
const image = 'greenlight.azurecr.io/web:v1';
const q = '?api-version=2026-07-01';
const get = (token = 'reader-a') => emulatorRequest(emulator, 'GET', `${appPath(web)}${q}`, { token });
const patchTraffic = (token = 'writer-a') =>
  emulatorRequest(emulator, 'PATCH', `${appPath(web)}${q}`, {
    token,
    body: {
      properties: { configuration: { ingress: { traffic: [{ revisionName: 'web--v1', weight: 100 }] } } },
    },
  });

describe("emulator: ARM's subscription token buckets", () => {
  it("answers every request with what is left, by default in ARM's documented buckets", async () => {
    emulator = await startContainerAppsEmulator({ seed: [{ ...web, image }] });
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('249');
    expect(first.headers['x-ms-ratelimit-remaining-subscription-global-reads']).toBe(String(250 * 15 - 1));
    const second = await get();
    expect(Number(second.headers['x-ms-ratelimit-remaining-subscription-reads'])).toBeLessThanOrEqual(249);
    const write = await patchTraffic();
    expect(write.status).toBe(202);
    expect(write.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('199');
    expect(write.headers['x-ms-ratelimit-remaining-subscription-reads']).toBeUndefined();
    // Errors carry them too: an unknown app still took a read token.
    const missing = await emulatorRequest(emulator, 'GET', `${appPath({ ...web, name: 'nope' })}${q}`, {
      token: 'reader-a',
    });
    expect(missing.status).toBe(404);
    expect(missing.headers['x-ms-ratelimit-remaining-subscription-reads']).toBeDefined();
    expect(emulator.throttling()).toMatchObject({
      limits: { reads: { size: 250, refillPerSecond: 25 }, writes: { size: 200, refillPerSecond: 10 } },
      allowed: { reads: 3, writes: 1, deletes: 0 },
      throttled: { reads: 0, writes: 0, deletes: 0 },
    });
  });

  it('refuses with 429, Retry-After and no token taken once a principal empties its bucket, and refills', async () => {
    emulator = await startContainerAppsEmulator({
      seed: [{ ...web, image }],
      throttling: { reads: { size: 3, refillPerSecond: 2 } },
    });
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200);
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('0');
    expect(refused.body.error.code).toBe('SubscriptionRequestsThrottled');
    expect(refused.body.error.message).toMatch(/Number of 'read' requests for subscription .* exceeded/);
    // Writes have their own bucket; another principal has its own too.
    expect((await patchTraffic()).status).toBe(202);
    expect((await get('reader-b')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 600));
    expect((await get()).status).toBe(200);
    expect(emulator.throttling()?.throttled.reads).toBe(1);
    // The request log shows the refusal like any other answer.
    expect(emulator.requestLog.filter((r) => r.status === 429)).toHaveLength(1);
  });

  it('throttles every principal together once the global bucket of the subscription is empty', async () => {
    emulator = await startContainerAppsEmulator({
      seed: [{ ...web, image }],
      throttling: { reads: { size: 2, refillPerSecond: 0.5 }, globalMultiplier: 1.5 },
    });
    expect((await get('a')).status).toBe(200);
    expect((await get('a')).status).toBe(200);
    const b = await get('b');
    expect(b.status).toBe(200);
    expect(b.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('1');
    expect(b.headers['x-ms-ratelimit-remaining-subscription-global-reads']).toBe('0');
    const refused = await get('c');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
  });

  it('asks pollers to wait with Retry-After on accepted writes and InProgress operations when told to', async () => {
    emulator = await startContainerAppsEmulator({
      seed: [{ ...web, image }],
      lroDurationMs: 5_000,
      operationRetryAfterSeconds: 7,
    });
    const write = await patchTraffic();
    expect(write.status).toBe(202);
    expect(write.headers['retry-after']).toBe('7');
    const statusUrl = new URL(String(write.headers['azure-asyncoperation']));
    const poll = await emulatorRequest(emulator, 'GET', `${statusUrl.pathname}${statusUrl.search}`);
    expect(poll.body.status).toBe('InProgress');
    expect(poll.headers['retry-after']).toBe('7');
  });

  it('is configured and read over the admin API, refusing bad limits; off means no headers', async () => {
    emulator = await startContainerAppsEmulator({ seed: [{ ...web, image }] });
    const bad = await emulatorRequest(emulator, 'PUT', '/_emulator/throttling', {
      token: null,
      body: { reads: { size: 0, refillPerSecond: -1 }, bogus: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('bogus is not a throttling setting');
    expect(bad.body.error.message).toContain('reads.size must be a whole number >= 1; got 0');
    expect(bad.body.error.message).toContain('reads.refillPerSecond must be a number > 0; got -1');
    const set = await emulatorRequest(emulator, 'PUT', '/_emulator/throttling', {
      token: null,
      body: { writes: { size: 1, refillPerSecond: 0.1 } },
    });
    expect(set.status).toBe(200);
    expect(set.body.limits.writes).toEqual({ size: 1, refillPerSecond: 0.1 });
    expect((await patchTraffic()).status).toBe(202);
    expect((await patchTraffic()).status).toBe(429);
    const stats = await emulatorRequest(emulator, 'GET', '/_emulator/throttling', { token: null });
    expect(stats.body).toMatchObject({ enabled: true, throttled: { writes: 1 } });
    await emulator.stop();

    emulator = await startContainerAppsEmulator({ seed: [{ ...web, image }], throttling: false });
    const free = await get();
    expect(free.status).toBe(200);
    expect(free.headers['x-ms-ratelimit-remaining-subscription-reads']).toBeUndefined();
    expect(emulator.throttling()).toBeUndefined();
  });
});
