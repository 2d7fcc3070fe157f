import { parsePolicies } from '../../src/domain/policy';
import {
  joinUrl,
  labelFqdn,
  labelsFinal,
  labelsStepTraffic,
  rolloutLabels,
  smokeBaseUrl,
} from '../../src/domain/guardrails';

describe('smoke target: where smoke checks reach green', () => {
  it('without a probe endpoint: the host on the configured scheme; none without a host', () => {
    expect(smokeBaseUrl({ fqdn: 'web--v2.happy.westeurope.azurecontainerapps.io' }, 'https')).toEqual({
      url: 'https://web--v2.happy.westeurope.azurecontainerapps.io/',
    });
    expect(smokeBaseUrl({}, 'https')).toEqual({ problem: expect.stringMatching(/no FQDN/) });
  });

  it('through a probe endpoint: the template filled in, check paths appended under its path', () => {
    const target = {
      fqdn: 'web---green.internal.happy.westeurope.azurecontainerapps.io',
      revisionFqdn: 'web--v2.internal.happy.westeurope.azurecontainerapps.io',
      revision: 'web--v2',
      app: 'web',
    };
    const via = (probeEndpoint: string) => smokeBaseUrl({ ...target, probeEndpoint }, 'https');
    expect(via('https://gw.corp/{fqdn}')).toEqual({
      url: 'https://gw.corp/web---green.internal.happy.westeurope.azurecontainerapps.io',
    });
    expect(via('http://10.0.0.4:8080/probe/{app}/{revision}?host={revisionFqdn}')).toEqual({
      url: 'http://10.0.0.4:8080/probe/web/web--v2?host=web--v2.internal.happy.westeurope.azurecontainerapps.io',
    });
    expect(smokeBaseUrl({ probeEndpoint: 'https://gw/{fqdn}', revision: 'web--v2' }, 'https')).toEqual({
      problem: expect.stringMatching(/guardrails\.probeEndpoint uses \{fqdn\}/),
    });
    expect(joinUrl('https://gw.corp/web--v2.internal.x.io', '/health?deep=1')).toBe(
      'https://gw.corp/web--v2.internal.x.io/health?deep=1',
    );
    expect(joinUrl('https://web--v2.x.io/', '/health')).toBe('https://web--v2.x.io/health');
    expect(joinUrl('http://127.0.0.1:9/127.0.0.1:5555', 'ready')).toBe(
      'http://127.0.0.1:9/127.0.0.1:5555/ready',
    );
  });

  it("a label's FQDN comes from the app's ingress FQDN, internal ones too; none from an address", () => {
    expect(labelFqdn('web.happy-hill.westeurope.azurecontainerapps.io', 'web', 'green')).toBe(
      'web---green.happy-hill.westeurope.azurecontainerapps.io',
    );
    expect(labelFqdn('web.internal.happy-hill.westeurope.azurecontainerapps.io', 'web', 'green')).toBe(
      'web---green.internal.happy-hill.westeurope.azurecontainerapps.io',
    );
    expect(labelFqdn('127.0.0.1:5555', 'web', 'green')).toBeUndefined();
    expect(labelFqdn(undefined, 'web', 'green')).toBeUndefined();
  });
});

describe('Labels revision mode: traffic through labels', () => {
  const baseline = [
    { revisionName: 'web--v1', weight: 100, label: 'prod' },
    { revisionName: 'web--v0', weight: 0, label: 'stage' },
  ];
  const names = rolloutLabels(baseline);

  it("the rollout's labels never take one of the app's own", () => {
    expect(names).toEqual({ green: 'green', blue: 'blue' });
    expect(
      rolloutLabels([
        { revisionName: 'web--v1', weight: 100, label: 'blue' },
        { revisionName: 'web--v0', weight: 0, label: 'green' },
        { revisionName: 'web--v0', weight: 0, label: 'greenlight-green' },
      ]),
    ).toEqual({ green: 'greenlight-green-2', blue: 'greenlight-blue' });
  });

  it('green carries its label and share below 100%; at 100% the production label moves to green, blue kept warm', () => {
    expect(labelsStepTraffic(baseline, 'web--v1', 'web--v2', 0, names)).toEqual([
      { revisionName: 'web--v1', weight: 100, label: 'prod' },
      { revisionName: 'web--v0', weight: 0, label: 'stage' },
      { revisionName: 'web--v1', weight: 0, label: 'blue' },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
    ]);
    expect(labelsStepTraffic(baseline, 'web--v1', 'web--v2', 10, names)).toEqual([
      { revisionName: 'web--v1', weight: 90, label: 'prod' },
      { revisionName: 'web--v0', weight: 0, label: 'stage' },
      { revisionName: 'web--v2', weight: 10, label: 'green' },
      { revisionName: 'web--v1', weight: 0, label: 'blue' },
    ]);
    expect(labelsStepTraffic(baseline, 'web--v1', 'web--v2', 100, names)).toEqual([
      { revisionName: 'web--v2', weight: 100, label: 'prod' },
      { revisionName: 'web--v0', weight: 0, label: 'stage' },
      { revisionName: 'web--v2', weight: 0, label: 'green' },
      { revisionName: 'web--v1', weight: 0, label: 'blue' },
    ]);
  });

  it("after finalise the app has exactly its own labels, production's on green", () => {
    expect(labelsFinal(baseline, 'web--v1', 'web--v2', names)).toEqual([
      { revisionName: 'web--v2', weight: 100, label: 'prod' },
      { revisionName: 'web--v0', weight: 0, label: 'stage' },
    ]);
  });
});

describe('guardrails.probeEndpoint in a policy', () => {
  const policy = (probe: string) =>
    parsePolicies(
      `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
validation: { smoke: [{ path: /healthz }] }
guardrails: { probeEndpoint: "${probe}" }
`,
      'p.yaml',
    )[0];

  it('a template naming green is taken as written', () => {
    expect(policy('https://gw.corp.example/{fqdn}')?.guardrails.probeEndpoint).toBe(
      'https://gw.corp.example/{fqdn}',
    );
    expect(policy('http://10.0.0.4/{app}/{revision}')?.guardrails.probeEndpoint).toBe(
      'http://10.0.0.4/{app}/{revision}',
    );
  });

  it('an unknown placeholder, or none naming green, is refused naming the field and the fix', () => {
    expect(() => policy('https://gw.corp.example/{host}')).toThrow(
      /guardrails\.probeEndpoint: knows only the placeholders \{fqdn\}, \{revisionFqdn\}, \{revision\} and \{app\}/,
    );
    expect(() => policy('https://gw.corp.example/{app}')).toThrow(
      /guardrails\.probeEndpoint: must name green with \{fqdn\}, \{revisionFqdn\} or \{revision\}/,
    );
  });
});
