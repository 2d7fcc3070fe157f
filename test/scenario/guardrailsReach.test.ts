import type { GuardrailSettings } from '../../src/domain/guardrails';
import { app, blue, flagPlan, Scenario, trafficPlan } from './harness';

// Two guardrails that change how green is reached and moved: an internal app's smoke checks go through
// guardrails.probeEndpoint, and an app in Labels revision mode is rolled out through its labels.

const guardrails: GuardrailSettings = {
  stickySessions: 'refuse',
  labelsMode: 'useLabels',
  scaleToZero: 'holdOneReplica',
  drift: 'warn',
  revisionLimit: 'cleanup',
};

let s: Scenario;
afterEach(() => s?.stop());

async function run(settings: Partial<GuardrailSettings>, setup: (sc: Scenario) => void, watch = false) {
  s = new Scenario();
  setup(s);
  const id = await s.start(
    'v2',
    trafficPlan({
      guardrails: { ...guardrails, ...settings },
      ...(watch ? { watch: { durationMs: 180_000, intervalMs: 60_000 } } : {}),
    }),
  );
  return s.finish(id);
}

describe('internal ingress: smoke checks through guardrails.probeEndpoint', () => {
  const internal = (sc: Scenario) => (sc.containerApps.settings.ingressExternal = false);

  it('without a probe endpoint: refused before any change, naming guardrails.probeEndpoint', async () => {
    const { status } = await run({}, internal);
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/refused by guardrails before any change/);
    expect(status.reason).toMatch(/guardrails\.probeEndpoint is not set/);
    expect(status.guardrails?.[0]).toMatchObject({
      kind: 'internalIngress',
      outcome: 'refuse',
      policyChoice: 'guardrails.probeEndpoint: not set',
    });
    expect(s.containerApps.writes).toEqual([]);
    expect(s.smoke.runs).toEqual([]);
  });

  it('without smoke checks there is nothing to reach: not refused', async () => {
    s = new Scenario();
    internal(s);
    const id = await s.start('v2', trafficPlan({ guardrails, smoke: [] }));
    const { status } = await s.finish(id);
    expect(status.outcome).toBe('Succeeded');
  });

  it('with one: every smoke check (validation and watch) goes through it, addressed to green', async () => {
    const { status } = await run({ probeEndpoint: 'https://gw.corp.example/{fqdn}' }, internal, true);
    expect(status.outcome).toBe('Succeeded');
    expect(s.smoke.runs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(s.smoke.runs)).toEqual(new Set(['https://gw.corp.example/web--v2.test']));
  });

  it('a green that fails through the probe endpoint is rolled back', async () => {
    const { status } = await run({ probeEndpoint: 'https://gw.corp.example/{fqdn}' }, (sc) => {
      internal(sc);
      sc.smoke.failing.add('web--v2');
    });
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/smoke checks failed on web--v2/);
  });
});

describe('Labels revision mode: rolled out through the labels, never switched', () => {
  const production = [
    { revisionName: blue, weight: 100, label: 'prod' },
    { revisionName: blue, weight: 0, label: 'stage' },
  ];
  /** An app in Labels mode whose target label is its production label: a plain deploy would swap at once. */
  const labelsApp = (sc: Scenario) => {
    sc.containerApps.settings.labelsMode = true;
    sc.containerApps.settings.targetLabel = 'prod';
    void sc.containerApps.setTraffic(app, production);
    sc.containerApps.writes.length = 0;
  };

  it('green under its own label, validated at its label URL; promotion moves the production label', async () => {
    const { status } = await run({}, labelsApp, true);
    expect(status.outcome).toBe('Succeeded');
    const writes = s.containerApps.writes;
    expect(writes.filter((w) => w.op === 'mode')).toEqual([]);
    expect(s.containerApps.refusedWrites()).toEqual([]);
    // Deployed with the green label as target: the production label never went to an unvalidated green.
    expect(writes.find((w) => w.op === 'deploy')?.detail).toMatch(/targetLabel=green$/);
    expect(new Set(s.smoke.runs)).toEqual(new Set(['https://web---green.test/']));
    const traffic = writes.filter((w) => w.op === 'setTraffic').map((w) => w.detail);
    expect(traffic).toEqual([
      'web--blue=100(prod), web--blue=0(stage), web--blue=0(blue), web--v2=0(green) targetLabel=prod',
      'web--blue=90(prod), web--blue=0(stage), web--v2=10(green), web--blue=0(blue)',
      'web--blue=50(prod), web--blue=0(stage), web--v2=50(green), web--blue=0(blue)',
      'web--v2=100(prod), web--blue=0(stage), web--v2=0(green), web--blue=0(blue)',
      'web--v2=100(prod), web--blue=0(stage)',
    ]);
    expect(s.containerApps.currentTraffic()).toEqual([
      { revisionName: 'web--v2', weight: 100, label: 'prod' },
      { revisionName: blue, weight: 0, label: 'stage' },
    ]);
    expect(s.containerApps.settings.targetLabel).toBe('prod');
  });

  it('rollback puts labels, weights and the target label back exactly as the snapshot had them', async () => {
    const { status } = await run({}, (sc) => {
      labelsApp(sc);
      sc.smoke.failing.add('web---green');
    });
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/smoke checks failed on web--v2/);
    expect(s.containerApps.currentTraffic()).toEqual(production);
    expect(s.containerApps.settings.targetLabel).toBe('prod');
    expect(s.containerApps.writes.filter((w) => w.op === 'mode')).toEqual([]);
    expect(s.containerApps.refusedWrites()).toEqual([]);
  });

  it('an app that labels its own revisions blue and green keeps them: the rollout takes other labels', async () => {
    const { status } = await run({}, (sc) => {
      sc.containerApps.settings.labelsMode = true;
      sc.containerApps.settings.targetLabel = 'green';
      void sc.containerApps.setTraffic(app, [
        { revisionName: blue, weight: 100, label: 'blue' },
        { revisionName: blue, weight: 0, label: 'green' },
      ]);
      sc.containerApps.writes.length = 0;
    });
    expect(status.outcome).toBe('Succeeded');
    expect(s.smoke.runs[0]).toBe('https://web---greenlight-green.test/');
    expect(s.containerApps.currentTraffic()).toEqual([
      { revisionName: 'web--v2', weight: 100, label: 'blue' },
      { revisionName: blue, weight: 0, label: 'green' },
    ]);
    expect(s.containerApps.settings.targetLabel).toBe('green');
  });

  it('the flag strategy is refused in Labels mode (it does not move labels)', async () => {
    s = new Scenario();
    labelsApp(s);
    const id = await s.start('v2', flagPlan({ guardrails }));
    const { status } = await s.finish(id);
    expect(status.outcome).toBe('RolledBack');
    expect(status.reason).toMatch(/flag strategy does not move labels/);
    expect(s.containerApps.writes).toEqual([]);
  });
});
