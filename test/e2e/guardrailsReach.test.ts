// Internal ingress and Labels revision mode end to end on the local runtime: the emulator refuses callers
// outside an internal app's environment and offers an environment gateway (a probe endpoint); an app in
// Labels mode routes each label to its revision and gives a new revision the target label.
import { api } from '../../local/client';
import { freePort } from '../support/redisServer';
import {
  digestOf,
  refOf,
  registry,
  serving,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  type E2E,
} from './support';

let e: E2E | undefined;
afterEach(async () => {
  await e?.stop();
  e = undefined;
});

const writeMethods = new Set(['PUT', 'PATCH', 'POST', 'DELETE']);
const domain = 'happy-hill-1a2b3c.westeurope.azurecontainerapps.localhost';

/** A port free now, for the emulator's gateway: the policy names it before the emulator starts. */
const armWrites = (x: E2E) =>
  x.stack.emulator.requestLog.filter((r) => writeMethods.has(r.method) && r.status >= 200 && r.status < 300);

describe('internal ingress on the local runtime', () => {
  it('refused naming guardrails.probeEndpoint without one (no ARM write); with one, smoke checks reach green through it', async () => {
    const gatewayPort = await freePort();
    const probeEndpoint = `http://127.0.0.1:${gatewayPort}/{fqdn}`;
    e = await startE2E([trafficPolicy('inner'), trafficPolicy('innerp', { guardrails: { probeEndpoint } })], {
      emulator: { gatewayPort },
    });
    expect(e.stack.emulator.probeEndpoint).toBe(probeEndpoint);
    for (const name of ['inner', 'innerp']) {
      await e.stack.emulator.seedApp({
        ...refOf(name),
        image: `${registry}/e2e/${name}:v1`,
        ingress: { external: false },
      });
    }

    e.stack.emulator.resetRequestLog();
    const refused = await untilDone(e, await startRollout(e, 'inner', 'v2'));
    expect(refused.outcome).toBe('RolledBack');
    expect(refused.reason).toMatch(/refused by guardrails before any change/);
    expect(refused.reason).toMatch(/guardrails\.probeEndpoint is not set/);
    expect(armWrites(e)).toEqual([]);

    const done = await untilDone(e, await startRollout(e, 'innerp', 'v2'));
    expect(done.outcome).toBe('Succeeded');
    expect(done.checks.smoke).toMatchObject({
      passed: true,
      url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:${gatewayPort}/127\\.0\\.0\\.1:\\d+$`)),
    });
    expect(serving(e, 'innerp')).toContainEqual(
      expect.objectContaining({ revisionName: done.green, weight: 100 }),
    );
  });
});

describe('Labels revision mode on the local runtime', () => {
  it('the dry run plans what the rollout writes; green is validated at its label URL, the production label moves, the target label comes back', async () => {
    const gatewayPort = await freePort();
    e = await startE2E(
      ['lab', 'labx'].map((name) =>
        trafficPolicy(name, {
          strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1M' },
          cleanup: { deactivateAfter: 'PT1M', keepRevisions: 2 },
          // The emulator's names resolve only through its gateway, as a private DNS zone would.
          guardrails: { labelsMode: 'useLabels', probeEndpoint: `http://127.0.0.1:${gatewayPort}/{fqdn}` },
        }),
      ),
      { emulator: { gatewayPort, environmentDomain: domain } },
    );
    await e.stack.emulator.seedApp({
      ...refOf('lab'),
      image: `${registry}/e2e/lab:v1`,
      revisionMode: 'Labels',
      targetLabel: 'prod',
      labels: ['prod'],
    });
    const image = `${registry}/e2e/lab:v2`;

    e.stack.emulator.resetRequestLog();
    const reply = await api(e.gl, 'POST', '/api/rollouts?dryRun=true', {
      app: 'lab',
      image,
      digest: digestOf(image),
    });
    expect(reply.status).toBe(200);
    const plan = (await reply.json()) as { refused: boolean; writes: { method: string; path: string }[] };
    expect(plan.refused).toBe(false);
    expect(armWrites(e)).toEqual([]);

    e.stack.emulator.resetRequestLog();
    const done = await untilDone(e, await startRollout(e, 'lab', 'v2'));
    expect(done.outcome).toBe('Succeeded');
    const appPath =
      `/subscriptions/${refOf('lab').subscriptionId}/resourceGroups/${refOf('lab').resourceGroup}/providers/Microsoft.App/containerApps/lab`.toLowerCase();
    expect(armWrites(e).map((r) => `${r.method} ${r.path.toLowerCase().replace(appPath, '')}`)).toEqual(
      plan.writes.map((w) => `${w.method} ${w.path.toLowerCase()}`),
    );
    expect(done.checks.smoke?.url).toBe(`http://127.0.0.1:${gatewayPort}/lab---green.${domain}`);
    const view = e.stack.emulator.appView(refOf('lab'))!;
    expect(view.revisionMode).toBe('Labels');
    const green = done.green!;
    expect(view.traffic).toEqual([{ revisionName: green, weight: 100, label: 'prod' }]);
    const raw = e.stack.emulator.getApp(refOf('lab')) as {
      properties: { configuration: { targetLabel?: string } };
    };
    expect(raw.properties.configuration.targetLabel).toBe('prod');
    // Blue lost its last label at finalise, and ACA shut it down.
    expect(view.revisions.map((r) => [r.name, r.active])).toEqual([
      ['lab--v1', false],
      [green, true],
    ]);
    // Green only ever took weight through its label once ready: the production label never jumped to it.
    const writes = e.stack.emulator.trafficWrites(refOf('lab'));
    for (const w of writes) {
      for (const t of w.traffic) if (t.weight > 0) expect(w.ready).toContain(t.revisionName);
    }

    // A green that fails its dependency check: the snapshot's labels, weights and target label come back.
    await e.stack.emulator.seedApp({
      ...refOf('labx'),
      image: `${registry}/e2e/labx:v1`,
      revisionMode: 'Labels',
      targetLabel: 'prod',
      labels: ['prod', 'stage'],
    });
    const before = e.stack.emulator.appView(refOf('labx'))!.traffic;
    const failed = await untilDone(e, await startRollout(e, 'labx', 'v2-depfail'));
    expect(failed.outcome).toBe('RolledBack');
    expect(failed.reason).toMatch(/dependencies/);
    const after = e.stack.emulator.appView(refOf('labx'))!;
    expect(after.traffic).toEqual(before);
    const rawx = e.stack.emulator.getApp(refOf('labx')) as {
      properties: { configuration: { targetLabel?: string } };
    };
    expect(rawx.properties.configuration.targetLabel).toBe('prod');
    expect(after.revisions.map((r) => [r.name, r.active])).toEqual([
      ['labx--v1', true],
      [failed.green!, false],
    ]);
  });
});
