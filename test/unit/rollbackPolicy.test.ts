import { createHttpHeaders, createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import { toGreenlightError } from '../../src/adapters/containerApps/errors';
import { errorCode } from '../../src/domain/errors';
import { parsePolicies } from '../../src/domain/policy';
import { backoffMs, defaultCompensation } from '../../src/orchestrators/compensation';
import { retryAfterIn, retryAfterNote } from '../../src/domain/retryAfter';

const policy = (rollback = '') => `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
${rollback}
`;

function problemsOf(text: string): string[] {
  try {
    parsePolicies(text, 'p.yaml');
  } catch (e) {
    expect(errorCode(e)).toBe('InvalidPolicy');
    return (e as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('policy was accepted');
}

describe('rollback retry bound in the policy', () => {
  it('defaults to retrying each undo for an hour, at most 5 minutes apart', () => {
    const [p] = parsePolicies(policy(), 'p.yaml');
    expect(p!.rollback).toEqual({ retryFor: 3_600_000, maxInterval: 300_000 });
  });

  it('takes ISO 8601 durations', () => {
    const [p] = parsePolicies(policy('rollback: { retryFor: PT4H, maxInterval: PT2M }'), 'p.yaml');
    expect(p!.rollback).toEqual({ retryFor: 14_400_000, maxInterval: 120_000 });
  });

  it.each([
    ['rollback: { retryFor: PT10S }', /rollback\.retryFor.*PT1M to P7D/],
    ['rollback: { maxInterval: PT2H }', /rollback\.maxInterval.*PT1S to PT1H/],
    ['rollback: { retryFor: soon }', /rollback\.retryFor.*ISO 8601/],
    ['rollback: { forever: true }', /rollback/],
  ])('refuses %s', (text, problem) => {
    expect(problemsOf(policy(text)).join('\n')).toMatch(problem);
  });
});

describe('compensation backoff', () => {
  it('doubles from 5 s and stops at the cap', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 40].map((n) => backoffMs(defaultCompensation, n));
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('reads back the Retry-After an adapter wrote into a message', () => {
    const message = `[ArmThrottled] ARM kept throttling PATCH app 'web' after retries (429): slow down ${retryAfterNote(90_000)}`;
    expect(retryAfterIn(message)).toBe(90_000);
    expect(retryAfterIn('[ArmUnavailable] ARM answered 503')).toBeUndefined();
  });
});

describe('ARM errors carry what ARM asked to wait', () => {
  it('a 429 with Retry-After says so in its message, which is all that crosses the durable boundary', () => {
    const response = {
      status: 429,
      headers: createHttpHeaders({ 'retry-after': '30' }),
      request: createPipelineRequest({ url: 'https://management.azure.com/x' }),
    };
    const e = new RestError('Too many requests', { statusCode: 429, code: 'TooManyRequests', response });
    const app = { subscriptionId: 's', resourceGroup: 'rg', name: 'web' };
    const typed = toGreenlightError(e, { verb: 'PATCH', what: "app 'web'", app });
    expect(typed.message).toMatch(/^\[ArmThrottled\] /);
    expect(retryAfterIn(typed.message)).toBe(30_000);
  });
});
