import { containerAppsActivities } from '../../src/activities/containerApps';
import type { ActivityInvocation } from '../../src/activities/contract';
import { parsePolicies } from '../../src/domain/policy';
import type { RolloutPorts } from '../../src/domain/ports';
import { revisionSuffixFor } from '../../src/domain/revisionSuffix';
import { stepTraffic, withLabel } from '../../src/domain/rollout/traffic';
import { whatIf } from '../../src/domain/whatIf';
import { Labels } from '../../src/names';
import {
  appPath,
  type EmulatorFixture,
  startEmulatorWithApp,
  waitForRevisionToSettle,
} from '../support/emulator';

let fx: EmulatorFixture;
afterEach(async () => {
  await fx?.stop();
});

const image = 'greenlight.azurecr.io/web:v2';

/**
 * The what-if plan against the writes the real adapter sends to the emulator when called in the
 * rollout's order (snapshot, revision mode, deploy, labels, steps, finalise, retire). The plan itself
 * reads nothing: its only input is the snapshot taken before.
 */
describe('what-if against the real adapter on the emulator', () => {
  it('lists the same ARM writes, in the same order, with the same traffic', async () => {
    fx = await startEmulatorWithApp({ app: { revisionMode: 'Single' } });
    const [policy] = parsePolicies(
      `app: { subscriptionId: ${fx.app.subscriptionId}, resourceGroup: ${fx.app.resourceGroup}, name: web }
strategy: { type: traffic, steps: [25, 100] }
cleanup: { keepRevisions: 1 }`,
      'p.yaml',
    );
    if (!policy) throw new Error('no policy');
    const snapshot = await fx.adapter.getSnapshot(fx.app);
    fx.emulator.resetRequestLog();
    const plan = whatIf({ policy, image, snapshot, now: new Date() });
    // The plan made no request at all.
    expect(fx.emulator.requestLog).toHaveLength(0);
    const before = fx.emulator.trafficHistory(fx.app).length;

    // A real run's ARM calls, in the rollout's order.
    const ca = fx.adapter;
    const app = fx.app;
    await ca.ensureMultipleRevisionMode(app);
    const { revisionName: green } = await ca.deployGreen(app, {
      image,
      revisionSuffix: revisionSuffixFor(image),
    });
    const blue = 'web--v1';
    const baseline = snapshot.traffic;
    await ca.setTraffic(app, withLabel(withLabel(baseline, Labels.blue, blue), Labels.green, green));
    await waitForRevisionToSettle(fx, green);
    for (const weight of [25, 100]) {
      await ca.setTraffic(
        app,
        withLabel(withLabel(stepTraffic(baseline, green, weight), Labels.blue, blue), Labels.green, green),
      );
    }
    await ca.setTraffic(
      app,
      withLabel(stepTraffic(baseline, green, 100), Labels.blue, green).filter(
        (t) => t.weight > 0 || (t.label !== undefined && t.label !== Labels.green),
      ),
    );
    // The retire activity itself, on the adapter (it needs no durable client).
    const noHost = {
      startRollout: () => Promise.reject(new Error('not used')),
    } as unknown as ActivityInvocation;
    const activities = containerAppsActivities({ containerApps: ca } as unknown as RolloutPorts);
    await activities.retireRevisions({ app, keep: 1, protect: [green] }, noHost);

    const writes = fx.emulator.requestLog
      .filter((r) => r.method !== 'GET' && r.path.startsWith(appPath(app)))
      .map((r) => `${r.method} ${r.path.slice(appPath(app).length) || '(app)'}`);
    const planned = plan.writes.map((w) => `${w.method} ${w.path || '(app)'}`);
    expect(writes).toEqual(planned);
    expect(planned).toHaveLength(7);

    const realTraffic = fx.emulator
      .trafficHistory(fx.app)
      .slice(before)
      .map((c) => c.traffic);
    const plannedTraffic = plan.writes
      .map(
        (w) =>
          (w.body as { properties?: { configuration?: { ingress?: { traffic?: unknown } } } })?.properties,
      )
      .map((p) => p?.configuration?.ingress?.traffic)
      .filter((t) => t !== undefined);
    // The emulator records traffic after each accepted write that has ingress (the mode switch included).
    expect(realTraffic.slice(-plannedTraffic.length)).toEqual(plannedTraffic);
  });
});
