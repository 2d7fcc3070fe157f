import { errorCode } from '../../src/domain/errors';
import { parsePolicies } from '../../src/domain/policy';
import { planFromPolicy } from '../../src/domain/request/plan';

/** A flag policy; `extra` lines are appended at the top level (YAML). */
function flagPolicy(extra = ''): string {
  return `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: worker }
trigger: { repository: ingest/worker }
strategy:
  type: flag
  bindings: { prod: { urlSetting: PROD_REDIS_URL }, temp: { urlSetting: TEMP_REDIS_URL } }
validation:
  mock: { requiredFields: [frameId], sequenceField: frameId }
${extra}`;
}

function problemsOf(text: string): string[] {
  try {
    parsePolicies(text, 'p.yaml');
  } catch (e) {
    expect(errorCode(e)).toBe('InvalidPolicy');
    return (e as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('policy was accepted');
}

describe('flag policy: watch, progress and guard', () => {
  it('refuses a watch shorter than the lease lifetime plus two check intervals, naming the fields', () => {
    const problems = problemsOf(flagPolicy('watch: { duration: PT3S, interval: PT1S }'));
    expect(problems).toEqual([
      expect.stringContaining(
        "watch.duration: must be at least strategy.leaseTtl (PT5S) + 2 × watch.interval (PT1S) = PT7S for strategy 'flag'",
      ),
    ]);
    expect(problems[0]).toMatch(/got PT3S; fix: lengthen watch.duration or shorten watch.interval/);
    // No watch at all is shorter still.
    expect(problemsOf(flagPolicy())[0]).toMatch(/watch.duration: must be at least .* = PT2M5S .*got PT0S/);
    // A shorter lease (the agents' leaseTtlMs) lowers the bar.
    expect(() =>
      parsePolicies(
        flagPolicy('watch: { duration: PT4S, interval: PT1S }').replace(
          'type: flag',
          'type: flag\n  leaseTtl: PT2S',
        ),
      ),
    ).not.toThrow();
  });

  it('accepts a watch exactly at the bound and maps the new fields into the plan', () => {
    const [policy] = parsePolicies(flagPolicy('watch: { duration: PT7S, interval: PT1S }'));
    const plan = planFromPolicy(policy!);
    expect(plan.strategy).toMatchObject({
      type: 'flag',
      leaseTtlMs: 5_000,
      progress: { log: 'sink', maxLagFrames: 1000 },
      guard: { enabled: true },
      mock: { sequenceField: 'frameId', maxGap: 0 },
    });
  });

  it('reads progress, guard and maxGap from the policy, and refuses bad values', () => {
    const text = flagPolicy('watch: { duration: PT1M, interval: PT10S }')
      .replace(
        'type: flag',
        'type: flag\n  progress: { log: out, maxLagFrames: 50 }\n  guard: { enabled: false }',
      )
      .replace('sequenceField: frameId', 'sequenceField: frameId, maxGap: 2');
    const [policy] = parsePolicies(text);
    expect(planFromPolicy(policy!).strategy).toMatchObject({
      progress: { log: 'out', maxLagFrames: 50 },
      guard: { enabled: false },
      mock: { maxGap: 2 },
    });
    const bad = problemsOf(
      flagPolicy('watch: { duration: PT1M, interval: PT10S }')
        .replace('type: flag', 'type: flag\n  guard: { enabled: maybe }\n  progress: { maxLagFrames: -1 }')
        .replace('sequenceField: frameId', 'sequenceField: frameId, maxGap: -1'),
    ).join('\n');
    expect(bad).toMatch(/strategy\.guard\.enabled/);
    expect(bad).toMatch(/strategy\.progress\.maxLagFrames/);
    expect(bad).toMatch(/validation\.mock\.maxGap/);
  });

  it('leaves traffic policies alone', () => {
    expect(() =>
      parsePolicies(`
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
`),
    ).not.toThrow();
  });
});
