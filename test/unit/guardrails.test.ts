import { guardrailFindings, refusals, type GuardrailFinding } from '../../src/domain/guardrails';
import { parsePolicies } from '../../src/domain/policy';
import type { AppSnapshot, RevisionInfo, RevisionScope } from '../../src/domain/ports/containerApps';

const image = 'contoso.azurecr.io/shop/web:v2';
const suffix = 'gl-v2-abcdef12';

function policyWith(extra = '', strategy = 'strategy: { type: traffic }') {
  const [p] = parsePolicies(
    `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
${strategy}
validation: { smoke: [{ path: /healthz }] }
${extra}
`,
    'p.yaml',
  );
  if (!p) throw new Error('no policy');
  return p;
}

const template = (
  over: Partial<RevisionScope['containers'][number]> = {},
  scale: RevisionScope['scale'] = { minReplicas: 1, rules: [] },
): RevisionScope => ({
  containers: [
    {
      name: 'web',
      image: 'contoso.azurecr.io/shop/web:v1',
      env: [{ name: 'MODE', value: 'a' }],
      probes: [],
      ...over,
    },
  ],
  scale,
});

function revision(name: string, over: Partial<RevisionInfo> = {}): RevisionInfo {
  return {
    name,
    active: true,
    replicas: 1,
    trafficWeight: 0,
    image: 'contoso.azurecr.io/shop/web:v1',
    template: template(),
    ...over,
  };
}

/** A healthy app in Multiple mode: blue web--v1 at 100%, external ingress, min 1 replica, no drift. */
function snapshot(over: Partial<AppSnapshot> = {}): AppSnapshot {
  return {
    app: { subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-a', name: 'web' },
    resourceId: '/subscriptions/x/resourceGroups/rg-a/providers/Microsoft.App/containerApps/web',
    revisionMode: 'Multiple',
    activeRevisionsMode: 'Multiple',
    latestReadyRevisionName: 'web--v1',
    traffic: [{ revisionName: 'web--v1', weight: 100 }],
    revisions: [revision('web--v1', { trafficWeight: 100, createdTime: '2026-01-01T00:00:00Z' })],
    ingressExternal: true,
    stickySessions: 'none',
    template: template(),
    ...over,
  };
}

const find = (findings: GuardrailFinding[], kind: GuardrailFinding['kind']) =>
  findings.find((f) => f.kind === kind);
const run = (policy = policyWith(), snap = snapshot()) =>
  guardrailFindings({ policy, snapshot: snap, image, revisionSuffix: suffix });

describe('guardrails', () => {
  it('a plain app yields no finding', () => {
    expect(run()).toEqual([]);
  });

  describe('sticky sessions', () => {
    it('refused with the traffic strategy by default, naming the setting and the fix', () => {
      const f = find(run(policyWith(), snapshot({ stickySessions: 'sticky' })), 'stickySessions');
      expect(f).toMatchObject({
        outcome: 'refuse',
        setting: 'configuration.ingress.stickySessions.affinity',
        policyChoice: 'guardrails.stickySessions: refuse',
      });
      expect(f?.fix).toContain('switchAffinity');
    });

    it('switchAffinity: affinity off before the mode switch, sticky and Single back at finalise', () => {
      const f = find(
        run(
          policyWith('guardrails: { stickySessions: switchAffinity }'),
          snapshot({ stickySessions: 'sticky' }),
        ),
        'stickySessions',
      );
      expect(f).toMatchObject({
        outcome: 'adjust',
        adjustment: {
          when: 'beforeModeSwitch',
          patch: { properties: { configuration: { ingress: { stickySessions: { affinity: 'none' } } } } },
          restore: {
            when: 'finalise',
            patch: {
              properties: {
                configuration: {
                  activeRevisionsMode: 'Single',
                  ingress: { stickySessions: { affinity: 'sticky' } },
                },
              },
            },
          },
        },
      });
    });
  });

  describe('Labels revision mode', () => {
    it('refused by default: never switched to Multiple silently', () => {
      const f = find(run(policyWith(), snapshot({ activeRevisionsMode: 'Labels' })), 'labelsMode');
      expect(f).toMatchObject({
        outcome: 'refuse',
        setting: 'configuration.activeRevisionsMode',
        value: 'Labels',
      });
    });
    it('useLabels: rolls out through labels, no mode write', () => {
      const f = find(
        run(policyWith('guardrails: { labelsMode: useLabels }'), snapshot({ activeRevisionsMode: 'Labels' })),
        'labelsMode',
      );
      expect(f).toMatchObject({ outcome: 'adjust', policyChoice: 'guardrails.labelsMode: useLabels' });
      expect(f?.adjustment?.patch).toBeUndefined();
    });
  });

  describe('scale to zero', () => {
    const zero = snapshot({ template: template({}, { minReplicas: 0, rules: [] }) });
    it('holdOneReplica (default): green gets minReplicas 1, the original scale comes back at finalise', () => {
      const f = find(run(policyWith(), zero), 'scaleToZero');
      expect(f).toMatchObject({
        outcome: 'adjust',
        setting: 'template.scale.minReplicas',
        value: 0,
        adjustment: {
          when: 'greenTemplate',
          patch: { properties: { template: { scale: { minReplicas: 1 } } } },
          restore: { when: 'finalise', patch: { properties: { template: { scale: { minReplicas: 0 } } } } },
        },
      });
    });
    it('an unset minReplicas is ACA’s default 0', () => {
      expect(
        find(run(policyWith(), snapshot({ template: template({}, { rules: [] }) })), 'scaleToZero')?.value,
      ).toBe(0);
    });
    it('refuse', () => {
      expect(find(run(policyWith('guardrails: { scaleToZero: refuse }'), zero), 'scaleToZero')?.outcome).toBe(
        'refuse',
      );
    });
  });

  describe('internal ingress', () => {
    const internal = snapshot({ ingressExternal: false });
    it('refused when smoke checks have no reachable address', () => {
      const f = find(run(policyWith(), internal), 'internalIngress');
      expect(f).toMatchObject({ outcome: 'refuse', setting: 'configuration.ingress.external' });
      expect(f?.fix).toContain('guardrails.probeEndpoint');
    });
    it('a configured probe endpoint makes it a note', () => {
      const f = find(
        run(policyWith('guardrails: { probeEndpoint: "https://gw.internal/{revision}" }'), internal),
        'internalIngress',
      );
      expect(f?.outcome).toBe('info');
    });
    it('no smoke checks: nothing to reach, no finding', () => {
      const [p] = parsePolicies(
        'app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }\nstrategy: { type: traffic }',
        'p.yaml',
      );
      expect(find(run(p, internal), 'internalIngress')).toBeUndefined();
    });
  });

  describe('template drift', () => {
    const drifted = snapshot({
      template: template(
        {
          env: [
            { name: 'MODE', value: 'b' },
            { name: 'DB', secretRef: 'db-conn' },
          ],
          resources: { cpu: 1, memory: '2Gi' },
        },
        {
          minReplicas: 1,
          maxReplicas: 20,
          rules: [{ name: 'http', http: { metadata: { concurrentRequests: '50' } } }],
        },
      ),
    });
    it('warn (default): lists every revision-scope field that differs from blue, not the image', () => {
      const f = find(run(policyWith(), drifted), 'drift');
      expect(f?.outcome).toBe('warn');
      const fields = (f?.details?.fields as { field: string }[]).map((x) => x.field);
      expect(fields).toEqual([
        'containers[web].env.DB.secretRef',
        'containers[web].env.MODE',
        'containers[web].resources',
        'scale.maxReplicas',
        'scale.rules',
      ]);
      expect(JSON.stringify(f)).not.toContain('"b"');
    });
    it('refuse and carry follow the policy', () => {
      expect(find(run(policyWith('guardrails: { drift: refuse }'), drifted), 'drift')?.outcome).toBe(
        'refuse',
      );
      expect(find(run(policyWith('guardrails: { drift: carry }'), drifted), 'drift')?.outcome).toBe('info');
    });
    it('only the image changed: no drift', () => {
      expect(find(run(policyWith(), snapshot()), 'drift')).toBeUndefined();
    });
  });

  describe('revision limit', () => {
    const many = (inactive: number, limit?: number) =>
      snapshot({
        ...(limit !== undefined ? { maxInactiveRevisions: limit } : {}),
        revisions: [
          revision('web--v1', { trafficWeight: 100, createdTime: '2026-02-01T00:00:00Z' }),
          revision('web--old', { createdTime: '2026-01-31T00:00:00Z' }),
          ...Array.from({ length: inactive }, (_, i) =>
            revision(`web--r${String(i).padStart(3, '0')}`, {
              active: false,
              createdTime: `2025-01-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`,
            }),
          ),
        ],
      });
    it('at ACA’s default 100: cleanup (default) proceeds and names what ACA drops', () => {
      const f = find(run(policyWith('cleanup: { keepRevisions: 2 }'), many(99)), 'revisionLimit');
      expect(f).toMatchObject({
        outcome: 'warn',
        value: 100,
        details: { inactive: 99, retiring: 1, purged: ['web--r000'] },
      });
    });
    it('refuse names the revisions', () => {
      const f = find(run(policyWith('guardrails: { revisionLimit: refuse }'), many(5, 5)), 'revisionLimit');
      expect(f?.outcome).toBe('refuse');
      expect(f?.message).toContain('web--r000, web--r001');
    });
    it('far from the limit: no finding', () => {
      expect(find(run(policyWith(), many(10)), 'revisionLimit')).toBeUndefined();
    });
  });

  describe('revision suffix', () => {
    it('refused when the name is taken by another image', () => {
      const f = find(
        run(
          policyWith(),
          snapshot({
            revisions: [...snapshot().revisions, revision(`web--${suffix}`, { image: 'x.io/other:1' })],
          }),
        ),
        'suffixCollision',
      );
      expect(f).toMatchObject({ outcome: 'refuse', setting: 'template.revisionSuffix' });
      expect(refusals([f as GuardrailFinding])).toHaveLength(1);
    });
    it('the same image again is a retried rollout: reused', () => {
      const f = find(
        run(
          policyWith(),
          snapshot({ revisions: [...snapshot().revisions, revision(`web--${suffix}`, { image })] }),
        ),
        'suffixCollision',
      );
      expect(f?.outcome).toBe('info');
    });
  });

  it('policy choices are validated at load, naming the field', () => {
    expect(() =>
      policyWith('guardrails: { stickySessions: maybe, drift: ignore, probeEndpoint: gw }'),
    ).toThrow(
      /guardrails\.stickySessions: must be 'refuse' or 'switchAffinity'[\s\S]*guardrails\.drift: must be 'carry', 'warn' or 'refuse'[\s\S]*guardrails\.probeEndpoint: must be an http\(s\) URL/,
    );
    expect(() => policyWith('guardrails: { sticky: refuse }')).toThrow(/guardrails: Unrecognized key/);
  });
});
