import {
  assessMeasurement,
  runVerdict,
  type GateRunSpec,
  type MeasurementVerdict,
} from '../../src/domain/gates/assess';

const errorRate: GateRunSpec = {
  successCondition: 'result <= 0.01',
  count: 5,
  failureLimit: 1,
  inconclusiveLimit: 1,
  consecutiveErrorLimit: 2,
};

const withBoth: GateRunSpec = { ...errorRate, failureCondition: 'result > 0.05' };

describe('one measurement, judged as Argo Rollouts does', () => {
  it.each<[string, GateRunSpec, Parameters<typeof assessMeasurement>[1], MeasurementVerdict]>([
    ['a provider error is an error', errorRate, { value: 0, error: 'HTTP 403' }, 'error'],
    ['no data is inconclusive', errorRate, {}, 'inconclusive'],
    ['NaN is no data', errorRate, { value: Number.NaN }, 'inconclusive'],
    ['success condition true: success', errorRate, { value: 0.01 }, 'success'],
    ['success condition false, no failure condition: failure', errorRate, { value: 0.02 }, 'failure'],
    ['failure condition true: failure', withBoth, { value: 0.2 }, 'failure'],
    ['both false: inconclusive', withBoth, { value: 0.02 }, 'inconclusive'],
    ['success true, failure false: success', withBoth, { value: 0.001 }, 'success'],
    [
      'failure condition wins over the success condition',
      { ...errorRate, successCondition: 'result < 1', failureCondition: 'result > 0.5' },
      { value: 0.7 },
      'failure',
    ],
    [
      'a comparison with an absent baseline is inconclusive',
      { ...errorRate, successCondition: 'result <= baseline * 1.2' },
      { value: 0.5 },
      'inconclusive',
    ],
    [
      'a comparison with a baseline of zero is judged',
      { ...errorRate, successCondition: 'result <= baseline * 1.2' },
      { value: 0.5, baseline: 0 },
      'failure',
    ],
    [
      'a division by zero is inconclusive, never a pass',
      { ...errorRate, successCondition: 'result / baseline <= 1.2' },
      { value: 0.5, baseline: 0 },
      'inconclusive',
    ],
    [
      'an undecidable failure condition is inconclusive',
      { ...withBoth, failureCondition: 'result > baseline * 2' },
      { value: 0.001 },
      'inconclusive',
    ],
    [
      'a sample below minSampleSize is inconclusive',
      { ...errorRate, minSampleSize: 100 },
      { value: 0.5, sampleSize: 99 },
      'inconclusive',
    ],
    [
      'an unknown sample with minSampleSize is inconclusive',
      { ...errorRate, minSampleSize: 100 },
      { value: 0 },
      'inconclusive',
    ],
    [
      'a sample at minSampleSize is judged',
      { ...errorRate, minSampleSize: 100 },
      { value: 0.5, sampleSize: 100 },
      'failure',
    ],
  ])('%s', (_, spec, m, verdict) => expect(assessMeasurement(spec, m).verdict).toBe(verdict));

  it('says why, with the numbers', () => {
    expect(assessMeasurement(errorRate, { value: 0.02, sampleSize: 1200 }).message).toBe(
      'successCondition `result <= 0.01` does not hold (result 0.02, sampleSize 1200)',
    );
    expect(assessMeasurement(withBoth, { value: 0.2 }).message).toBe(
      'failureCondition `result > 0.05` holds (result 0.2)',
    );
    expect(assessMeasurement(withBoth, { value: 0.02 }).message).toBe(
      'neither successCondition nor failureCondition holds (result 0.02)',
    );
    expect(
      assessMeasurement({ ...errorRate, successCondition: 'result <= baseline * 1.2' }, { value: 0.1 })
        .message,
    ).toBe('successCondition cannot be decided: it needs the baseline, which was not measured (result 0.1)');
    expect(
      assessMeasurement(
        { ...errorRate, successCondition: 'result / baseline <= 1.2' },
        { value: 0.1, baseline: 0 },
      ).message,
    ).toBe(
      'successCondition cannot be decided: it divides by zero or its arithmetic gives no number (such as Inf - Inf) (result 0.1, baseline 0)',
    );
    expect(assessMeasurement({ ...errorRate, minSampleSize: 100 }, { value: 0, sampleSize: 3 }).message).toBe(
      'sample of 3 is below minSampleSize (100) (result 0, sampleSize 3)',
    );
    expect(assessMeasurement(errorRate, { error: 'HTTP 429' }).message).toBe(
      'the measurement failed: HTTP 429',
    );
  });

  it('treats a condition that does not parse (a hand-built plan) as an error, not a verdict', () => {
    const broken = { ...errorRate, successCondition: 'result <' };
    expect(assessMeasurement(broken, { value: 0 })).toEqual({
      verdict: 'error',
      message:
        'successCondition `result <` does not parse: at 9: expected a number, `result`, `baseline`, `sampleSize`, a helper call or `(`, found the end',
    });
  });
});

describe('a gate run, judged from its measurements in order', () => {
  const run = (verdicts: MeasurementVerdict[], spec: GateRunSpec = errorRate) => runVerdict(spec, verdicts);
  const s = 'success' as const;
  const f = 'failure' as const;
  const i = 'inconclusive' as const;
  const e = 'error' as const;

  it.each<[string, MeasurementVerdict[], string, string]>([
    ['no measurement yet: running', [], 'running', '0 of 5 measurements taken'],
    ['under count: running', [s, s, s], 'running', '3 of 5 measurements taken'],
    [
      'count successes: pass',
      [s, s, s, s, s],
      'pass',
      '5 of 5 measurements: 5 successful, 0 failed, 0 inconclusive',
    ],
    [
      'failures within failureLimit still pass',
      [s, f, s, s, s],
      'pass',
      '5 of 5 measurements: 4 successful, 1 failed, 0 inconclusive',
    ],
    ['failures above failureLimit fail at once', [s, f, f], 'fail', 'failed (2) > failureLimit (1)'],
    [
      'inconclusives above inconclusiveLimit',
      [s, i, i],
      'inconclusive',
      'inconclusive (2) > inconclusiveLimit (1)',
    ],
    [
      'errors in a row above consecutiveErrorLimit: the provider kept failing',
      [s, e, e, e],
      'fail',
      'the provider kept failing: consecutive errors (3) > consecutiveErrorLimit (2)',
    ],
    [
      'errors do not count toward count',
      [s, e, s, e, s, s],
      'running',
      '4 of 5 measurements taken, 2 error(s)',
    ],
    [
      'errors broken up by measurements never add up',
      [e, e, s, e, e, s, e, e, s, s, s],
      'pass',
      '5 of 5 measurements: 5 successful, 0 failed, 0 inconclusive',
    ],
    ['tolerated inconclusives do not hold off a failure', [i, f, f], 'fail', 'failed (2) > failureLimit (1)'],
    ['verdicts after the end are ignored', [f, f, s, s, s, s, s], 'fail', 'failed (2) > failureLimit (1)'],
  ])('%s', (_, verdicts, state, message) => expect(run(verdicts)).toEqual({ state, message }));

  it('does not pass a run in which nothing succeeded', () => {
    const tolerant = { ...errorRate, count: 3, failureLimit: 2, inconclusiveLimit: 3 };
    expect(run([f, i, i], tolerant)).toEqual({
      state: 'inconclusive',
      message: 'no measurement of 3 succeeded (0 successful, 1 failed, 2 inconclusive)',
    });
    expect(run([f, s, i], tolerant).state).toBe('pass');
  });

  it('with no tolerance, one bad measurement decides', () => {
    const strict = { ...errorRate, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 0 };
    expect(run([f], strict).state).toBe('fail');
    expect(run([i], strict).state).toBe('inconclusive');
    expect(run([e], strict).state).toBe('fail');
  });

  it('judges measurements end to end', () => {
    const spec = { ...errorRate, successCondition: 'result <= baseline * 1.2', count: 3 };
    const verdicts = [
      { value: 0.011, baseline: 0.01 },
      { error: 'timeout' },
      { value: 0.012, baseline: 0.01 },
      { value: 0.005, baseline: 0.01 },
    ].map((m) => assessMeasurement(spec, m).verdict);
    expect(verdicts).toEqual(['success', 'error', 'success', 'success']);
    expect(runVerdict(spec, verdicts).state).toBe('pass');
  });
});
