import { parseChangeControl } from '../../src/domain/changeControl';
import { parsePolicies } from '../../src/domain/policy';
import type { AppSnapshot, RevisionInfo, RevisionScope } from '../../src/domain/ports/containerApps';
import { revisionSuffixFor } from '../../src/domain/revisionSuffix';
import { whatIf, type WhatIfInput } from '../../src/domain/whatIf';

const image = 'contoso.azurecr.io/shop/web:v2';
const green = `web--${revisionSuffixFor(image)}`;

function policy(
  extra = '',
  strategy = 'strategy: { type: traffic, steps: [10, 100] }',
  validation = 'validation: { smoke: [{ path: /healthz }] }',
) {
  const [p] = parsePolicies(
    `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
${strategy}
${validation}
gates: [{ name: errors, provider: prometheus, address: "http://prom:9090", query: 'sum(rate(errors{revision={{revision}}}[1m]))', successCondition: "result < 1" }]
${extra}
`,
    'p.yaml',
  );
  if (!p) throw new Error('no policy');
  return p;
}

const template: RevisionScope = {
  containers: [
    { name: 'web', image: 'contoso.azurecr.io/shop/web:v1', env: [{ name: 'MODE', value: 'a' }], probes: [] },
  ],
  scale: { minReplicas: 1, maxReplicas: 5, rules: [] },
};
const rev = (name: string, createdTime: string, over: Partial<RevisionInfo> = {}): RevisionInfo => ({
  name,
  active: true,
  replicas: 1,
  trafficWeight: 0,
  createdTime,
  image: 'contoso.azurecr.io/shop/web:v1',
  template,
  ...over,
});

function snapshot(over: Partial<AppSnapshot> = {}): AppSnapshot {
  return {
    app: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-a', name: 'web' },
    resourceId: '/subscriptions/1111/resourceGroups/rg-a/providers/Microsoft.App/containerApps/web',
    revisionMode: 'Single',
    activeRevisionsMode: 'Single',
    latestReadyRevisionName: 'web--v1',
    traffic: [{ revisionName: 'web--v1', weight: 100 }],
    revisions: [
      rev('web--v1', '2026-05-02T00:00:00Z', { trafficWeight: 100 }),
      rev('web--v0', '2026-05-01T00:00:00Z'),
      rev('web--vx', '2026-04-01T00:00:00Z'),
    ],
    ingressExternal: true,
    template,
    ...over,
  };
}

const now = new Date('2026-06-16T10:00:00Z');
const plan = (input: Partial<WhatIfInput> = {}) =>
  whatIf({ policy: policy(), image, snapshot: snapshot(), now, ...input });
const trafficOf = (body: unknown) =>
  (body as { properties: { configuration: { ingress: { traffic: unknown } } } }).properties.configuration
    .ingress.traffic;

describe('what-if', () => {
  it('lists the ARM writes of a real run in order, with their bodies', () => {
    const p = plan();
    expect(p).toMatchObject({
      policy: 'web',
      revisionName: green,
      blue: 'web--v1',
      refused: false,
      admission: { verdict: 'open' },
    });
    expect(p.writes.map((w) => `${w.method} ${w.path || '(app)'}`)).toEqual([
      'PATCH (app)', // Multiple mode
      'PATCH (app)', // deploy green, traffic pinned
      'PATCH (app)', // labels
      'PATCH (app)', // 10%
      'PATCH (app)', // 100%
      'PATCH (app)', // final labels
      'POST /revisions/web--v0/deactivate', // retire: green and blue are the 2 kept
      'POST /revisions/web--vx/deactivate',
    ]);
    expect(p.writes[0]?.body).toEqual({ properties: { configuration: { activeRevisionsMode: 'Multiple' } } });
    expect(p.writes[1]?.body).toEqual({
      properties: {
        template: {
          revisionSuffix: revisionSuffixFor(image),
          containers: [{ name: 'web', image, env: [{ name: 'MODE', value: 'a' }] }],
          scale: { minReplicas: 1, maxReplicas: 5, rules: [] },
        },
        configuration: { ingress: { traffic: [{ revisionName: 'web--v1', weight: 100 }] } },
      },
    });
    expect(trafficOf(p.writes[2]?.body)).toEqual([
      { revisionName: 'web--v1', weight: 100, label: 'blue' },
      { revisionName: green, weight: 0, label: 'green' },
    ]);
    expect(trafficOf(p.writes[3]?.body)).toEqual([
      { revisionName: 'web--v1', weight: 90, label: 'blue' },
      { revisionName: green, weight: 10, label: 'green' },
    ]);
    expect(trafficOf(p.writes[5]?.body)).toEqual([{ revisionName: green, weight: 100, label: 'blue' }]);
  });

  it('lists the checks, gates and change-control gates between the writes', () => {
    const kinds = plan().steps.map((s) => `${s.phase}:${s.kind}`);
    expect(kinds).toEqual([
      'Preparing:changeControl',
      'Preparing:arm',
      'Deploying:arm',
      'Deploying:arm',
      'WaitingReady:check',
      'Validating:check',
      'Validating:gate',
      'Promoting:changeControl',
      'Promoting:arm',
      'Promoting:check',
      'Promoting:gate',
      'Promoting:changeControl',
      'Promoting:arm',
      'Finalising:changeControl',
      'Finalising:arm',
      'Finalising:arm',
      'Finalising:arm',
    ]);
  });

  it('is pure: the inputs are untouched and the same inputs give the same plan', () => {
    const snap = snapshot();
    const frozen = JSON.stringify(snap);
    const a = whatIf({ policy: policy(), image, snapshot: snap, now });
    const b = whatIf({ policy: policy(), image, snapshot: snap, now });
    expect(JSON.stringify(snap)).toBe(frozen);
    expect(a).toEqual(b);
  });

  it('a refusing guardrail plans no write and says why', () => {
    const p = plan({ snapshot: snapshot({ stickySessions: 'sticky' }) });
    expect(p.refused).toBe(true);
    expect(p.writes).toEqual([]);
    expect(p.refusedBecause).toEqual([
      expect.stringContaining('stickySessions (configuration.ingress.stickySessions.affinity)'),
    ]);
  });

  it('switchAffinity and holdOneReplica show their writes, and affinity is put back (the scale is left to the operator)', () => {
    const p = plan({
      policy: policy('guardrails: { stickySessions: switchAffinity }'),
      snapshot: snapshot({
        stickySessions: 'sticky',
        template: { ...template, scale: { minReplicas: 0, rules: [] } },
      }),
    });
    expect(p.writes[0]?.body).toEqual({
      properties: { configuration: { ingress: { stickySessions: { affinity: 'none' } } } },
    });
    const deploy = p.writes[2]?.body as { properties: { template: { scale: unknown } } };
    expect(deploy.properties.template.scale).toEqual({ minReplicas: 1, rules: [] });
    const tail = p.writes.slice(-3).map((w) => w.body);
    expect(tail).toEqual([
      {
        properties: {
          configuration: {
            activeRevisionsMode: 'Single',
            ingress: { stickySessions: { affinity: 'sticky' } },
          },
        },
      },
      undefined,
      undefined,
    ]);
  });

  it('shows the windows and freezes in force, and when a waiting rollout would start', () => {
    const cc = parseChangeControl(
      { windows: [{ days: 'Mon-Thu', start: '09:00', end: '17:00', timeZone: 'Europe/Amsterdam' }] },
      'policy',
    );
    const global = parseChangeControl(
      {
        freezes: [
          { name: 'q3', start: '2026-06-16T00:00:00Z', end: '2026-06-17T00:00:00Z', reason: 'quarter close' },
        ],
      },
      'global',
    );
    if (!cc.ok || !global.ok) throw new Error('rules refused');
    const p = whatIf({
      policy: { ...policy(), changeControl: cc.rules },
      image,
      snapshot: snapshot(),
      now,
      global: global.rules,
    });
    expect(p.admission).toMatchObject({
      verdict: 'wait',
      until: '2026-06-17T07:00:00.000Z',
      rule: 'global.freeze:q3',
    });
    expect(p.changeControl).toMatchObject({
      windows: [{ layer: 'policy', text: 'Mon-Thu 09:00-17:00 Europe/Amsterdam' }],
      freezes: [{ layer: 'global', name: 'q3', reason: 'quarter close' }],
      nextOpening: '2026-06-17T07:00:00.000Z',
    });
    // The run is planned as it would go once production opens.
    expect(p.writes.length).toBeGreaterThan(0);
    expect(p.steps.find((s) => s.kind === 'changeControl')).toMatchObject({ gate: { allowed: true } });
  });

  it('an emergency stop refuses the run', () => {
    const stop = {
      scope: { kind: 'global' as const },
      reason: 'INC-5',
      by: 'oncall',
      since: now.toISOString(),
    };
    const p = plan({ stops: [stop] });
    expect(p).toMatchObject({
      refused: true,
      admission: { verdict: 'reject', rule: 'emergencyStop:global' },
      writes: [],
    });
  });

  it('the flag strategy writes only the mode and green; flips are on the control plane', () => {
    const p = plan({
      policy: policy(
        'watch: { duration: PT5M, interval: PT1M }',
        'strategy: { type: flag, bindings: { prod: { urlSetting: PROD }, temp: { urlSetting: TEMP } } }',
        'validation: { smoke: [{ path: /healthz }], mock: { minRecords: 1 } }',
      ),
    });
    expect(p.writes.map((w) => w.why.split(' ')[0])).toEqual(['revision', 'deploy', 'retire:', 'retire:']);
    expect(p.steps.filter((s) => s.kind === 'flag')).toHaveLength(2);
  });
});
