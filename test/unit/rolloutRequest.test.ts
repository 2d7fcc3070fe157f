import { errorCode } from '../../src/domain/errors';
import { parsePolicies } from '../../src/domain/policy';
import { buildRolloutInput, rolloutIdFor } from '../../src/services/rolloutRequest';

const [policy] = parsePolicies(`
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
strategy: { type: traffic, steps: [10, 50, 100], stepPause: PT1M }
validation: { smoke: [{ path: /healthz }] }
approval: { required: true, timeout: PT2H }
`);
const digest = `sha256:${'a'.repeat(64)}`;

describe('building a rollout from a policy', () => {
  it('freezes the plan with millisecond durations', () => {
    const input = buildRolloutInput(
      policy!,
      'contoso.azurecr.io/web:v2',
      digest,
      { kind: 'http' },
      new Date(0),
    );
    expect(input.plan).toMatchObject({
      policyName: 'web',
      strategy: { type: 'traffic', steps: [10, 50, 100], stepPauseMs: 60_000 },
      smoke: [{ name: 'GET /healthz#1', expectStatus: [200], latencyBudgetMs: 2000, retries: 2 }],
      approval: { required: true, timeoutMs: 7_200_000, onTimeout: 'rollback' },
    });
    expect(input.revisionSuffix).toMatch(/^gl-v2-[0-9a-f]{8}$/);
    expect(input.requestedAt).toBe('1970-01-01T00:00:00.000Z');
  });

  it('names the rollout by app and digest, so the same image is the same rollout', () => {
    const a = rolloutIdFor(policy!, 'contoso.azurecr.io/web:v2', digest);
    expect(rolloutIdFor(policy!, 'contoso.azurecr.io/web:v2-again', digest)).toBe(a);
    expect(rolloutIdFor(policy!, 'contoso.azurecr.io/web:v2', `sha256:${'b'.repeat(64)}`)).not.toBe(a);
    expect(a).toMatch(/^web-[0-9a-f]{12}$/);
  });

  it.each([
    ['web:v2', undefined, /registry, a repository and a tag or digest/],
    ['contoso.azurecr.io/web', undefined, /registry, a repository and a tag or digest/],
    ['contoso.azurecr.io/web:v2', 'sha256:xyz', /digest must be sha256/],
  ])('refuses image %p digest %p', (image, d, message) => {
    let thrown: unknown;
    try {
      buildRolloutInput(policy!, image, d, { kind: 'http' });
    } catch (e) {
      thrown = e;
    }
    expect(errorCode(thrown)).toBe('InvalidRequest');
    expect(String(thrown)).toMatch(message);
  });
});
