import {
  startContainerAppsEmulator,
  type ContainerAppsEmulator,
} from '../../../local/containerapps-emulator';
import { ArmBudget } from '../../../src/adapters/containerApps/pacing';
import { createContainerAppsAdapter } from '../../../src/adapters/containerApps/factory';
import { StaticTokenCredential } from '../../../src/adapters/credentials';
import { errorCode } from '../../../src/domain/errors';
import { revisionSuffixFor } from '../../../src/domain/revisionSuffix';
import type { AppRef } from '../../../src/domain/ports/containerApps';
import {
  fastAdapter,
  testResourceGroup,
  testSubscription,
  testToken,
  waitForRevisionToSettle,
} from '../../support/emulator';

type Headers = Record<string, string>;
const answer = (status: number, headers: Headers = {}) =>
  ({
    status,
    headers: { get: (name: string) => headers[name.toLowerCase()] },
  }) as unknown as Parameters<ArmBudget['observe']>[1];

describe('ARM budget (one per client, shared by every call)', () => {
  const elapsed = async (p: Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await p;
    return performance.now() - t0;
  };

  it('lets a burst through, then lets calls go at the refill rate, in order', async () => {
    const budget = new ArmBudget({ reads: { size: 4, refillPerSecond: 10 }, headroom: 1 });
    const order: number[] = [];
    const took = await elapsed(
      Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => budget.acquire('reads').then(() => order.push(n)))),
    );
    // Four at once, then one every 100 ms.
    expect(took).toBeGreaterThanOrEqual(280);
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(budget.stats()).toMatchObject({ sent: { reads: 7 }, delayed: 3 });
    // Writes have their own bucket (ARM's 200 by default): not slowed by the reads.
    expect(await elapsed(budget.acquire('writes'))).toBeLessThan(50);
  });

  it("believes ARM's remaining count when it is lower, and stops everyone for a 429's Retry-After", async () => {
    const budget = new ArmBudget({ writes: { size: 100, refillPerSecond: 10 }, headroom: 1 });
    budget.observe('writes', answer(200, { 'x-ms-ratelimit-remaining-subscription-global-writes': '0' }));
    expect(await elapsed(budget.acquire('writes'))).toBeGreaterThanOrEqual(90);

    budget.observe('writes', answer(429, { 'retry-after-ms': '250' }));
    expect(
      await elapsed(Promise.all([budget.acquire('writes'), budget.acquire('writes')])),
    ).toBeGreaterThanOrEqual(240);
    expect(budget.stats().throttled.writes).toBe(1);
  });

  it('gives up waiting when the call is cancelled', async () => {
    const budget = new ArmBudget({ deletes: { size: 1, refillPerSecond: 0.01 }, headroom: 1 });
    await budget.acquire('deletes');
    const controller = new AbortController();
    const waiting = budget.acquire('deletes', controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });

  it('a cancelled call leaves the queue moving: the calls behind it still go, in order', async () => {
    const budget = new ArmBudget({ reads: { size: 1, refillPerSecond: 20 }, headroom: 1 });
    await budget.acquire('reads');
    const controller = new AbortController();
    const order: string[] = [];
    const first = budget.acquire('reads', controller.signal).then(
      () => order.push('first'),
      () => order.push('first cancelled'),
    );
    const second = budget.acquire('reads').then(() => order.push('second'));
    const third = budget.acquire('reads').then(() => order.push('third'));
    controller.abort(new Error('cancelled'));
    // A 429 while they wait moves their turn back, and does not lose it.
    budget.observe('reads', answer(429, { 'retry-after-ms': '100' }));
    expect(await elapsed(Promise.all([first, second, third]))).toBeGreaterThanOrEqual(90);
    expect(order).toEqual(['first cancelled', 'second', 'third']);
  });

  it('refuses limits that would pace nothing', () => {
    expect(() => new ArmBudget({ headroom: 0 })).toThrow('pacing headroom must be in (0, 1]; got 0');
    expect(() => new ArmBudget({ reads: { size: 0, refillPerSecond: 1 } })).toThrow(
      'pacing reads must have size >= 1 and refillPerSecond > 0',
    );
  });
});

describe('concurrent rollouts against throttling ARM', () => {
  let emulator: ContainerAppsEmulator;
  afterEach(async () => {
    await emulator?.stop();
  });

  // Far smaller than ARM's buckets, so a burst of 20 rollouts meets them many times over.
  const tight = { reads: { size: 30, refillPerSecond: 60 }, writes: { size: 10, refillPerSecond: 12 } };
  const apps: AppRef[] = Array.from({ length: 20 }, (_, i) => ({
    subscriptionId: testSubscription,
    resourceGroup: testResourceGroup,
    name: `app-${String(i).padStart(2, '0')}`,
  }));

  async function start(): Promise<void> {
    emulator = await startContainerAppsEmulator({
      provisioningDelayMs: 60,
      lroDurationMs: 10,
      throttling: tight,
      seed: apps.map((a) => ({ ...a, image: `greenlight.azurecr.io/${a.name}:v1` })),
    });
  }

  const adapterWith = (pacing: ConstructorParameters<typeof ArmBudget>[0] | false, maxRetries: number) =>
    createContainerAppsAdapter({
      credential: new StaticTokenCredential(testToken),
      endpoint: emulator.url,
      ca: emulator.ca,
      ...fastAdapter,
      maxRetries,
      pacing,
    });

  /** What a traffic rollout asks of ARM: snapshot, mode, deploy, label, wait ready, three steps. */
  async function rollout(adapter: ReturnType<typeof adapterWith>, app: AppRef): Promise<void> {
    const snapshot = await adapter.getSnapshot(app);
    const blue = snapshot.traffic[0]?.revisionName ?? '';
    await adapter.ensureMultipleRevisionMode(app);
    const image = `greenlight.azurecr.io/${app.name}:v2`;
    const { revisionName: green } = await adapter.deployGreen(app, {
      image,
      revisionSuffix: revisionSuffixFor(image),
    });
    await adapter.setTraffic(app, [
      { revisionName: blue, weight: 100, label: 'blue' },
      { revisionName: green, weight: 0, label: 'green' },
    ]);
    await waitForRevisionToSettle({ adapter, app }, green, 50);
    for (const weight of [10, 50, 100]) {
      await adapter.setTraffic(app, [
        { revisionName: blue, weight: 100 - weight, label: 'blue' },
        { revisionName: green, weight, label: 'green' },
      ]);
    }
  }

  it('20 rollouts started at once through one paced client all converge, with next to no 429s', async () => {
    await start();
    const adapter = adapterWith(tight, 2);
    const results = await Promise.allSettled(apps.map((a) => rollout(adapter, a)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${apps[i]?.name}: ${(r.reason as Error).message}`] : [],
    );
    expect(failed).toEqual([]);
    for (const a of apps) {
      expect(emulator.traffic(a)).toEqual([
        { revisionName: `${a.name}--v1`, weight: 0, label: 'blue' },
        { revisionName: expect.stringMatching(new RegExp(`^${a.name}--`)), weight: 100, label: 'green' },
      ]);
    }
    // The buckets were the limit: far more requests than they hold went through. Requests that leave in
    // order can still arrive bunched (a busy event loop, connection set-up), so ARM may refuse a few; those
    // wait their Retry-After together and go again, none is lost. On a busy 2-core machine that bunching
    // has reached 3.5%; the bound says "a few", not a speed (without pacing, rollouts fail: next test).
    const stats = emulator.throttling();
    expect(stats?.allowed.writes).toBeGreaterThan(tight.writes.size * 5);
    const allowed = (stats?.allowed.reads ?? 0) + (stats?.allowed.writes ?? 0);
    const refused = (stats?.throttled.reads ?? 0) + (stats?.throttled.writes ?? 0);
    expect(refused).toBeLessThanOrEqual(allowed * 0.1);
  }, 120_000);

  it('without the shared budget, the same burst meets 429s and rollouts fail once retries run out', async () => {
    await start();
    // Tighter still, so the burst meets the buckets however slowly a loaded machine sends it.
    emulator.configureThrottling({
      reads: { size: 5, refillPerSecond: 1 },
      writes: { size: 2, refillPerSecond: 1 },
    });
    const adapter = adapterWith(false, 0);
    const results = await Promise.allSettled(apps.map((a) => rollout(adapter, a)));
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [errorCode(r.reason)] : []));
    expect(codes.length).toBeGreaterThan(0);
    expect(new Set(codes)).toEqual(new Set(['ArmThrottled']));
    const stats = emulator.throttling();
    expect((stats?.throttled.reads ?? 0) + (stats?.throttled.writes ?? 0)).toBeGreaterThan(0);
  });
});
