import { FetchSmokeProber } from '../../src/adapters/http/smokeProber';
import { labelFqdn, smokeBaseUrl } from '../../src/domain/guardrails';
import type { SmokeCheck } from '../../src/domain/rollout/types';
import { type EmulatorFixture, startEmulatorWithApp, waitForRevisionToSettle } from '../support/emulator';

// Labels revision mode as ACA runs it (a new revision takes the target label, labels route to their revision
// at `<app>---<label>.<domain>`, a revision no label refers to shuts down), and an internal app reachable
// only from inside its environment, through the emulator's environment gateway (a probe endpoint).

const domain = 'happy-hill-1a2b3c.westeurope.azurecontainerapps.localhost';
let fx: EmulatorFixture;
afterEach(async () => {
  await fx?.stop();
});

/** GET through the environment gateway, as a caller inside the environment asking `host`. */
async function viaGateway(
  host: string,
  path = '/',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const base = fx.emulator.probeEndpoint.replace('{fqdn}', host);
  const res = await fetch(`${base}${path}`, { headers: { accept: 'application/json' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const health: SmokeCheck = {
  name: 'health',
  path: '/healthz',
  method: 'GET',
  expectStatus: [200],
  latencyBudgetMs: 2000,
  retries: 0,
};

describe('Labels revision mode in the emulator', () => {
  it('a deploy gives green the target label it asks for; labels route to their revision; unlabelled revisions shut down', async () => {
    fx = await startEmulatorWithApp({
      app: { revisionMode: 'Labels', targetLabel: 'prod', labels: ['prod'] },
      emulator: { environmentDomain: domain },
    });
    const before = await fx.adapter.getSnapshot(fx.app);
    expect(before).toMatchObject({
      activeRevisionsMode: 'Labels',
      targetLabel: 'prod',
      ingressFqdn: `web.${domain}`,
      traffic: [{ revisionName: 'web--v1', weight: 100, label: 'prod' }],
    });
    expect(before.revisions[0]?.fqdn).toBe(`web--v1.${domain}`);

    // Green under its own label: the production label (the app's target label) stays on blue.
    await fx.adapter.deployGreen(fx.app, {
      image: 'greenlight.azurecr.io/web:v2',
      revisionSuffix: 'v2',
      targetLabel: 'green',
    });
    await waitForRevisionToSettle(fx, 'web--v2');
    const deployed = await fx.adapter.getSnapshot(fx.app);
    expect(deployed.targetLabel).toBe('green');
    expect(deployed.traffic).toEqual([
      { revisionName: 'web--v1', weight: 100, label: 'prod' },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
    ]);
    const greenHost = labelFqdn(deployed.ingressFqdn, 'web', 'green')!;
    expect(greenHost).toBe(`web---green.${domain}`);
    expect((await viaGateway(greenHost)).body).toMatchObject({ revision: 'web--v2' });
    expect((await viaGateway(`web---prod.${domain}`)).body).toMatchObject({ revision: 'web--v1' });
    expect((await viaGateway(`web.${domain}`)).body).toMatchObject({ revision: 'web--v1' });
    expect((await viaGateway(`web---nope.${domain}`)).status).toBe(404);

    // Promotion moves the production label; blue is kept by the blue label.
    await fx.adapter.setTraffic(fx.app, [
      { revisionName: 'web--v2', weight: 100, label: 'prod' },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
      { revisionName: 'web--v1', weight: 0, label: 'blue' },
    ]);
    expect((await viaGateway(`web---prod.${domain}`)).body).toMatchObject({ revision: 'web--v2' });
    expect((await viaGateway(`web.${domain}`)).body).toMatchObject({ revision: 'web--v2' });
    expect((await fx.adapter.getRevision(fx.app, 'web--v1')).active).toBe(true);

    // Back to the snapshot, target label included: green has no label left and shuts down.
    await fx.adapter.setTraffic(fx.app, before.traffic, { targetLabel: 'prod' });
    const restored = await fx.adapter.getSnapshot(fx.app);
    expect(restored.traffic).toEqual(before.traffic);
    expect(restored.targetLabel).toBe('prod');
    expect(restored.revisions.map((r) => [r.name, r.active])).toEqual([
      ['web--v1', true],
      ['web--v2', false],
    ]);
    expect((await viaGateway(greenHost)).status).toBe(404);
  });

  it('without the rollout asking for its own label, a new revision takes the production label at once (why green asks)', async () => {
    fx = await startEmulatorWithApp({
      app: { revisionMode: 'Labels', targetLabel: 'prod', labels: ['prod'] },
    });
    await fx.adapter.deployGreen(fx.app, { image: 'greenlight.azurecr.io/web:v2', revisionSuffix: 'v2' });
    expect((await fx.adapter.getSnapshot(fx.app)).traffic).toEqual([
      { revisionName: 'web--v2', weight: 100, label: 'prod' },
    ]);
  });
});

describe('internal ingress: reachable through the environment gateway only', () => {
  it('green answers smoke checks through the probe endpoint, and refuses them from outside', async () => {
    fx = await startEmulatorWithApp({
      app: { ingress: { external: false } },
      emulator: { environmentDomain: domain },
    });
    const rev = await fx.adapter.getRevision(fx.app, 'web--v1');
    expect(rev.fqdn).toBe(`web--v1.internal.${domain}`);
    expect((await fx.adapter.getSnapshot(fx.app)).ingressFqdn).toBe(`web.internal.${domain}`);
    // Outside the environment the name does not even resolve; through the gateway it answers.
    expect((await viaGateway(`web--v1.${domain}`)).status).toBe(404);
    expect((await viaGateway(rev.fqdn!, '/healthz')).status).toBe(200);

    const prober = new FetchSmokeProber(10);
    const direct = smokeBaseUrl({ fqdn: rev.fqdn, revision: rev.name }, 'https');
    expect('url' in direct && (await prober.run(direct.url, [health])).passed).toBe(false);
    const through = smokeBaseUrl(
      { fqdn: rev.fqdn, revision: rev.name, probeEndpoint: fx.emulator.probeEndpoint },
      'https',
    );
    expect('url' in through && (await prober.run(through.url, [health])).passed).toBe(true);
  });

  it("an internal app's local endpoint refuses callers outside the environment; the gateway lets them in", async () => {
    fx = await startEmulatorWithApp({ app: { ingress: { external: false } } });
    const fqdn = (await fx.adapter.getRevision(fx.app, 'web--v1')).fqdn!;
    expect((await fetch(`http://${fqdn}/healthz`)).status).toBe(403);
    expect((await viaGateway(fqdn, '/healthz')).status).toBe(200);
  });
});
