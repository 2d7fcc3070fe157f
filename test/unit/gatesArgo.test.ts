// Gate judgement held to Argo Rollouts' own test cases. Each row names the Argo test it is derived from
// (argoproj/argo-rollouts: analysis/analysis_test.go, utils/evaluate/evaluate_test.go,
// utils/analysis/helpers_test.go, utils/analysis/factory_test.go); where Greenlight differs on purpose,
// the row says so and why. The cases are restated as measurement sequences, not copied.
import {
  assessMeasurement,
  assessRun,
  closeRun,
  combinePhaseRuns,
  defaultErrorIntervalMs,
  errorGiveUpMs,
  initialDelayMs,
  measurementHistoryLimit,
  nextMeasurementDelay,
  recordMeasurement,
  recordWatchMeasurement,
  runVerdict,
  startRun,
  type GateMeasurementInput,
  type GateRunSpec,
  type GateRunState,
  type MeasurementVerdict,
  type PhaseRun,
} from '../../src/domain/gates/assess';
import { fromMeasuredNumber, toWireMeasurement } from '../../src/domain/gates/types';
import { errorCode } from '../../src/domain/errors';
import { parsePolicies } from '../../src/domain/policy';

const s = 'success' as const;
const f = 'failure' as const;
const i = 'inconclusive' as const;
const e = 'error' as const;

/** Argo's metric defaults: failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 4. */
const argoDefaults: GateRunSpec = {
  successCondition: 'result < 0.5',
  count: 100,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
};

const times = (n: number, v: MeasurementVerdict): MeasurementVerdict[] =>
  Array<MeasurementVerdict>(n).fill(v);

describe('run limits, as Argo assessMetricStatus judges them', () => {
  it.each<[string, string, Partial<GateRunSpec>, MeasurementVerdict[], GateRunState]>([
    // TestAssessMetricStatusFailureLimit
    [
      'TestAssessMetricStatusFailureLimit',
      '3 failures > failureLimit 2',
      { failureLimit: 2 },
      [f, f, f],
      'fail',
    ],
    [
      'TestAssessMetricStatusFailureLimit',
      '3 failures within failureLimit 3',
      { failureLimit: 3 },
      [f, f, f],
      'running',
    ],
    // TestAssessMetricStatusInconclusiveLimit
    [
      'TestAssessMetricStatusInconclusiveLimit',
      '3 inconclusive > inconclusiveLimit 2',
      { inconclusiveLimit: 2 },
      [i, i, i],
      'inconclusive',
    ],
    [
      'TestAssessMetricStatusInconclusiveLimit',
      '3 inconclusive within inconclusiveLimit 3',
      { inconclusiveLimit: 3 },
      [i, i, i],
      'running',
    ],
    // TestAssessMetricStatusConsecutiveErrors (Argo's phase is Error; a rollout aborts on it as on Failed)
    [
      'TestAssessMetricStatusConsecutiveErrors',
      '5 errors in a row > default limit 4',
      {},
      times(5, e),
      'fail',
    ],
    [
      'TestAssessMetricStatusConsecutiveErrors',
      '4 errors in a row: still running',
      {},
      times(4, e),
      'running',
    ],
    // TestRunMeasurementsResetConsecutiveErrorCounter
    [
      'TestRunMeasurementsResetConsecutiveErrorCounter',
      'a success resets the error streak',
      {},
      [e, e, e, e, s, e, e, e, e],
      'running',
    ],
    // TestAssessMetricStatusCountReached
    ['TestAssessMetricStatusCountReached', '10 of count 10 successful', { count: 10 }, times(10, s), 'pass'],
    [
      'TestAssessMetricStatusCountReached',
      'inconclusive measurements over the limit',
      { count: 10 },
      [...times(5, s), i],
      'inconclusive',
    ],
    // TestAssessMetricStatusConsecutiveSuccessLimit (failureLimit -1: only the streak decides)
    [
      'TestAssessMetricStatusConsecutiveSuccessLimit',
      'indefinite: 3 in a row reaches consecutiveSuccessLimit 3',
      { failureLimit: -1, consecutiveSuccessLimit: 3 },
      [s, f, f, f, s, s, s],
      'pass',
    ],
    [
      'TestAssessMetricStatusConsecutiveSuccessLimit',
      'indefinite: 3 in a row under consecutiveSuccessLimit 5',
      { failureLimit: -1, consecutiveSuccessLimit: 5 },
      [s, f, f, f, s, s, s],
      'running',
    ],
    [
      'TestAssessMetricStatusConsecutiveSuccessLimit',
      'count 7 reached without 5 in a row, failureLimit off: fail',
      { failureLimit: -1, consecutiveSuccessLimit: 5, count: 7 },
      [s, f, f, f, s, s, s],
      'fail',
    ],
    [
      'TestAssessMetricStatusConsecutiveSuccessLimit',
      'count 9 not reached, 3 of 5 in a row: running',
      { failureLimit: -1, consecutiveSuccessLimit: 5, count: 9 },
      [s, f, f, f, s, s, s],
      'running',
    ],
    // TestAssessMetricStatusFailureLimitAndConsecutiveSuccessLimit (failureLimit 4, streak 4)
    [
      'TestAssessMetricStatusFailureLimitAndConsecutiveSuccessLimit',
      'count 10 reached, failures within 4, streak 3 of 4: inconclusive',
      { failureLimit: 4, consecutiveSuccessLimit: 4, count: 10 },
      [s, s, s, f, f, f, f, s, s, s],
      'inconclusive',
    ],
    [
      'TestAssessMetricStatusFailureLimitAndConsecutiveSuccessLimit',
      'the fifth failure fails, whatever the streak',
      { failureLimit: 4, consecutiveSuccessLimit: 4, count: 10 },
      [s, s, s, f, f, f, f, s, f],
      'fail',
    ],
    [
      'TestAssessMetricStatusFailureLimitAndConsecutiveSuccessLimit',
      'streak of 4 with failures within the limit: pass before count',
      { failureLimit: 4, consecutiveSuccessLimit: 4, count: 10 },
      [f, f, f, s, s, s, s],
      'pass',
    ],
    [
      'TestAssessMetricStatusFailureLimitAndConsecutiveSuccessLimit',
      'indefinite: failures within the limit, streak not reached: running',
      { failureLimit: 4, consecutiveSuccessLimit: 4 },
      [s, f, f, f, s, s, s],
      'running',
    ],
  ])('%s: %s', (_, __, over, verdicts, state) => {
    expect(runVerdict({ ...argoDefaults, ...over }, verdicts).state).toBe(state);
  });

  it('differs on purpose: count reached with no success is inconclusive, not a pass (TestAssessMetricStatusFailureLimit, terminating)', () => {
    // Argo passes a run whose tolerated failures fill count; nothing in it showed green healthy.
    const spec = { ...argoDefaults, count: 3, failureLimit: 3 };
    expect(runVerdict(spec, [f, f, f])).toEqual({
      state: 'inconclusive',
      message: 'no measurement of 3 succeeded (0 successful, 3 failed, 0 inconclusive)',
    });
  });

  it('says which limit ended the run, in Argo’s words', () => {
    expect(runVerdict({ ...argoDefaults, failureLimit: 2 }, [f, f, f]).message).toBe(
      'failed (3) > failureLimit (2)',
    );
    expect(
      runVerdict({ ...argoDefaults, failureLimit: 4, consecutiveSuccessLimit: 4, count: 10 }, [
        s,
        s,
        s,
        f,
        f,
        f,
        f,
        s,
        s,
        s,
      ]).message,
    ).toBe(
      '10 of 10 measurements without 4 successful in a row (consecutiveSuccessLimit) (6 successful, 4 failed, 0 inconclusive)',
    );
  });
});

describe('infinities are values, NaN is no data', () => {
  const latency: GateRunSpec = { ...argoDefaults, count: 2, inconclusiveLimit: 1 };
  const verdictOf = (spec: GateRunSpec, m: GateMeasurementInput) => assessMeasurement(spec, m).verdict;

  it.each<[string, string, GateRunSpec, GateMeasurementInput, MeasurementVerdict]>([
    // evaluate.go compiles conditions over float64: +Inf < 0.5 is false, so the measurement fails.
    [
      'TestEvaluateResultNoFailureConditionAndNotSuccessful',
      '+Inf < 0.5 does not hold',
      latency,
      { value: Infinity },
      f,
    ],
    [
      'TestEvaluateResultNoFailureConditionAndNotSuccessful',
      "'Infinity' off the wire",
      latency,
      { value: 'Infinity' },
      f,
    ],
    [
      'TestEvaluateResultNoFailureConditionAndNotSuccessful',
      '-Inf < 0.5 holds',
      latency,
      { value: -Infinity },
      s,
    ],
    [
      'TestEvaluateResultWithFailure',
      'failureCondition result > 2 holds for +Inf',
      { ...latency, failureCondition: 'result > 2' },
      { value: Infinity },
      f,
    ],
    // TestIsInf: isInf(+Inf) is true.
    [
      'TestIsInf',
      'isInf lets a condition treat +Inf as it chooses',
      { ...latency, successCondition: 'isInf(result) || result < 0.5' },
      { value: Infinity },
      s,
    ],
    // Differs on purpose: Argo's NaN < 0.5 is false (a failure); here NaN (0/0, no requests) is no data.
    [
      'TestEvaluateResultErrorMessageWithNilResult',
      'NaN is no data: inconclusive',
      latency,
      { value: Number.NaN },
      i,
    ],
    [
      'TestEvaluateResultErrorMessageWithNilResult',
      'null (NaN through JSON) is no data',
      latency,
      { value: null },
      i,
    ],
    ['TestEvaluateResultErrorMessageWithNilResult', 'no value is no data', latency, {}, i],
    // TestDefaultFunc: default(result, 0) stands in for a missing result.
    [
      'TestDefaultFunc',
      'default(result, 0) decides on no data',
      { ...latency, successCondition: 'default(result, 0) < 0.5' },
      {},
      s,
    ],
    [
      'TestDefaultFunc',
      'default keeps a value it has',
      { ...latency, successCondition: 'default(result, 0) < 0.5' },
      { value: 0.7 },
      f,
    ],
    // isNaN, as Argo templates write `isNaN(result) || result < x`.
    [
      'TestIsInf (isNaN beside it)',
      'isNaN(result) || ... passes no data',
      { ...latency, successCondition: 'isNaN(result) || result < 0.5' },
      { value: Number.NaN },
      s,
    ],
  ])('%s: %s', (_, __, spec, m, verdict) => expect(verdictOf(spec, m)).toBe(verdict));

  it('fails [+Inf, 0.1] under result < 0.5, count 2, inconclusiveLimit 1, as Argo does', () => {
    const run = assessRun(latency, [{ value: Infinity }, { value: 0.1 }]);
    expect(run.phase).toBe('fail');
    expect(run.message).toBe(
      'failed (1) > failureLimit (0); last: successCondition `result < 0.5` does not hold (result +Inf)',
    );
    // The run ended at +Inf; the 0.1 after it is ignored.
    expect(run.history.map((r) => r.value)).toEqual(['Infinity']);
  });

  it('keeps an infinity through JSON, where it would otherwise become null and read as no data', () => {
    const raw = JSON.parse(JSON.stringify({ value: Infinity })) as GateMeasurementInput;
    expect(verdictOf(latency, raw)).toBe(i);
    const wire = JSON.parse(
      JSON.stringify(toWireMeasurement({ value: Infinity, sampleSize: 12 })),
    ) as GateMeasurementInput;
    expect(wire).toEqual({ value: 'Infinity', sampleSize: 12 });
    expect(verdictOf(latency, wire)).toBe(f);
    expect(fromMeasuredNumber(toWireMeasurement({ value: -Infinity }).value)).toBe(-Infinity);
    expect(toWireMeasurement({ value: Number.NaN })).toEqual({});
  });

  it('judges a baseline of +Inf as a value too', () => {
    const spec = { ...latency, successCondition: 'result <= baseline * 1.2' };
    expect(verdictOf(spec, { value: 5, baseline: Infinity })).toBe(s);
    expect(verdictOf(spec, { value: Infinity, baseline: Infinity })).toBe(s);
    expect(verdictOf(spec, { value: 5, baseline: Number.NaN })).toBe(i);
  });
});

describe('dry run: measured and shown, never deciding', () => {
  const runOf = (name: string, phase: GateRunState, extra: Partial<PhaseRun> = {}): PhaseRun => ({
    name,
    phase,
    ...extra,
  });

  it('TestAssessRunStatusErrorMessageAnalysisPhaseFailInDryRunMode: a failing dry-run gate lets the phase pass', () => {
    const decision = combinePhaseRuns([
      runOf('latency', 'pass'),
      runOf('new-query', 'fail', { dryRun: true }),
    ]);
    expect(decision).toEqual({
      action: 'proceed',
      verdict: 'pass',
      stop: [],
      message: "1 gate(s) passed; dry run (not deciding): 'new-query' fail",
    });
  });

  it('TestAssessRunStatusWithOnlyDryRunMetrics: only dry-run gates, all failing: the phase passes', () => {
    expect(
      combinePhaseRuns([runOf('a', 'fail', { dryRun: true }), runOf('b', 'inconclusive', { dryRun: true })])
        .action,
    ).toBe('proceed');
  });

  it('TestIsFastFailTerminating: a dry-run failure stops nothing, a real one stops the rest', () => {
    const running = [
      runOf('other', 'running'),
      runOf('dry', 'fail', { dryRun: true }),
      runOf('slow', 'running'),
    ];
    expect(combinePhaseRuns(running)).toMatchObject({ action: 'wait', stop: [] });
    const failed = [...running, runOf('errors', 'fail', { message: 'failed (1) > failureLimit (0)' })];
    expect(combinePhaseRuns(failed)).toEqual({
      action: 'rollback',
      verdict: 'fail',
      decidedBy: 'errors',
      stop: ['other', 'slow'],
      message: "gate 'errors' failed: failed (1) > failureLimit (0); stopped 'other', 'slow'",
    });
  });

  it('TestAssessRunStatusWithMixedMetrics: the run of a dry-run gate is judged and kept like any other', () => {
    const spec = { ...argoDefaults, count: 2, dryRun: true };
    const run = assessRun(spec, [{ value: 0.9 }]);
    expect(run).toMatchObject({ phase: 'fail', dryRun: true });
  });
});

describe('fail fast across the gates of a phase (TestReconcileAnalysisRunTerminateSiblingAfterFail)', () => {
  it('names the gate that failed first by time, whatever the order given', () => {
    const d = combinePhaseRuns([
      { name: 'late', phase: 'fail', finishedAt: '2026-01-01T00:05:00Z' },
      { name: 'early', phase: 'fail', finishedAt: '2026-01-01T00:01:00Z' },
      { name: 'slow', phase: 'running' },
    ]);
    expect(d).toMatchObject({ action: 'rollback', decidedBy: 'early', stop: ['slow'] });
  });

  it('an inconclusive gate stops the others only when inconclusive means fail (TestIsFastFailTerminating)', () => {
    const pending = { name: 'slow', phase: 'running' as const };
    expect(combinePhaseRuns([{ name: 'a', phase: 'inconclusive' }, pending])).toMatchObject({
      action: 'rollback',
      verdict: 'inconclusive',
      decidedBy: 'a',
      stop: ['slow'],
    });
    expect(
      combinePhaseRuns([{ name: 'a', phase: 'inconclusive', onInconclusive: 'pause' }, pending]).action,
    ).toBe('wait');
    expect(
      combinePhaseRuns([
        { name: 'a', phase: 'inconclusive', onInconclusive: 'pause' },
        { ...pending, phase: 'pass' },
      ]),
    ).toMatchObject({
      action: 'askApproval',
      decidedBy: 'a',
    });
    expect(
      combinePhaseRuns([
        { name: 'a', phase: 'inconclusive', onInconclusive: 'pass' },
        { ...pending, phase: 'pass' },
      ]),
    ).toMatchObject({
      action: 'proceed',
      verdict: 'inconclusive',
    });
  });

  it('decides one measurement after the first failure, not after the slowest gate', () => {
    // Virtual clock: a fast gate every 10 s fails on its first measurement; a slow sibling measures every 5 min, count 5.
    const fast: GateRunSpec & { intervalMs: number } = { ...argoDefaults, count: 3, intervalMs: 10_000 };
    const slow: GateRunSpec & { intervalMs: number } = { ...argoDefaults, count: 5, intervalMs: 300_000 };
    const gates = [
      { name: 'fast', spec: fast, value: 0.9, next: fast.intervalMs, run: startRun(fast) },
      { name: 'slow', spec: slow, value: 0.1, next: slow.intervalMs, run: startRun(slow) },
    ];
    let now = 0;
    const finished: Record<string, number> = {};
    for (;;) {
      const due = gates.filter((g) => g.run.phase === 'running').sort((a, b) => a.next - b.next)[0]!;
      now = due.next;
      due.run = recordMeasurement(due.spec, due.run, { value: due.value });
      if (due.run.phase !== 'running') finished[due.name] = now;
      due.next = now + nextMeasurementDelay(due.spec, due.run.history.at(-1));
      const d = combinePhaseRuns(
        gates.map((g) => ({ name: g.name, phase: g.run.phase, finishedAt: finished[g.name] })),
      );
      if (d.action !== 'wait') {
        expect(d).toMatchObject({ action: 'rollback', decidedBy: 'fast', stop: ['slow'] });
        break;
      }
    }
    expect(now).toBe(10_000);
    expect(now).toBeLessThan(slow.count * slow.intervalMs);
  });
});

describe('error retries on their own interval (TestCalculateNextReconcileUponError)', () => {
  const spec = { ...argoDefaults, intervalMs: 300_000 };

  it('retries 10 s after an error, an interval after a measurement, and waits initialDelay first', () => {
    expect(nextMeasurementDelay(spec, { verdict: 'error' })).toBe(defaultErrorIntervalMs);
    expect(defaultErrorIntervalMs).toBe(10_000);
    expect(nextMeasurementDelay({ ...spec, errorIntervalMs: 2_000 }, { verdict: 'error' })).toBe(2_000);
    // TestCalculateNextReconcileTimeInterval
    expect(nextMeasurementDelay(spec, { verdict: 'failure' })).toBe(300_000);
    expect(nextMeasurementDelay(spec, { verdict: 'inconclusive' })).toBe(300_000);
    // TestCalculateNextReconcileTimeInitialDelay, TestGenerateMetricTasksHonorInitialDelay
    expect(nextMeasurementDelay({ ...spec, initialDelayMs: 60_000 }, undefined)).toBe(60_000);
    expect(nextMeasurementDelay(spec, undefined)).toBe(0);
    expect(initialDelayMs({ initialDelayMs: 45_000 })).toBe(45_000);
  });

  it('gives up on a provider that stays down within consecutiveErrorLimit × errorInterval of its first error', () => {
    let run = startRun(spec);
    let now = 0;
    const firstError = 0;
    while (run.phase === 'running') {
      run = recordMeasurement(spec, run, { error: 'HTTP 503' });
      if (run.phase === 'running') now += nextMeasurementDelay(spec, run.history.at(-1));
    }
    expect(run.phase).toBe('fail');
    expect(run.message).toMatch(
      /^the provider kept failing: consecutive errors \(5\) > consecutiveErrorLimit \(4\); last: the measurement failed: HTTP 503$/,
    );
    expect(now - firstError).toBe(errorGiveUpMs(spec));
    expect(errorGiveUpMs(spec)).toBe(40_000);
    // With the measurement interval instead, the same provider would hold the rollout 20 minutes.
    expect(errorGiveUpMs(spec)).toBeLessThan(spec.consecutiveErrorLimit * spec.intervalMs);
  });
});

describe('measurement history (TestTrimMeasurementHistory)', () => {
  it('keeps the last 10 measurements of a run, with verdict and why', () => {
    const spec = { ...argoDefaults, count: 20 };
    const run = assessRun(
      spec,
      Array.from({ length: 14 }, (_, k) => ({
        value: k / 100,
        at: `2026-01-01T00:${String(k).padStart(2, '0')}:00Z`,
      })),
    );
    expect(measurementHistoryLimit).toBe(10);
    expect(run.history).toHaveLength(10);
    expect(run.history[0]).toEqual({
      value: 0.04,
      at: '2026-01-01T00:04:00Z',
      verdict: 'success',
      message: 'successCondition `result < 0.5` holds (result 0.04)',
    });
    expect(run.tally).toMatchObject({ taken: 14, successful: 14 });
    expect(JSON.parse(JSON.stringify(run))).toEqual(run);
  });
});

describe('the watch: background analysis', () => {
  const spec: GateRunSpec = { ...argoDefaults, count: 3, failureLimit: 1 };
  const fail = { value: 0.9 };
  const ok = { value: 0.1 };
  const watch = (s2: GateRunSpec, ms: GateMeasurementInput[]) =>
    ms.reduce((p, m) => recordWatchMeasurement(s2, p, m), startRun(s2, { open: s2.accumulate ?? true }));

  it('accumulates by default: failures far apart add up over the whole watch, as in Argo background analysis', () => {
    const run = watch(spec, [fail, ok, ok, ok, ok, fail]);
    expect(run.phase).toBe('fail');
    expect(run.message).toMatch(/^failed \(2\) > failureLimit \(1\)/);
  });

  it('with accumulate: false, each passed run of count starts afresh', () => {
    const run = watch({ ...spec, accumulate: false }, [fail, ok, ok, ok, ok, fail]);
    // [fail, ok, ok] passed, then [ok, ok, fail] passed: one failure in each, within failureLimit 1.
    expect(run).toMatchObject({ phase: 'running', windowsPassed: 2, tally: { taken: 0, failed: 0 } });
    expect(run.message).toMatch(
      /^2 run\(s\) of 3 passed; the last: 3 of 3 measurements: 2 successful, 1 failed/,
    );
    expect(closeRun(run)).toMatchObject({ phase: 'pass' });
    expect(watch({ ...spec, accumulate: false }, [fail, ok, fail]).phase).toBe('fail');
  });

  it('ends at the watch’s end (TestAssessMetricStatusFailureLimit, terminating): pass with a success, else inconclusive', () => {
    expect(closeRun(watch(spec, [ok, fail])).phase).toBe('pass');
    expect(closeRun(watch({ ...spec, inconclusiveLimit: 5 }, [{}, {}])).phase).toBe('inconclusive');
    expect(closeRun(startRun(spec)).message).toBe('ended before any measurement was taken');
    const failed = watch(spec, [fail, fail]);
    expect(closeRun(failed)).toBe(failed);
  });
});

describe('gate settings are validated when the policy loads (TestValidateMetrics)', () => {
  const minimal = `
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: web }
trigger: { repository: shop/web }
strategy: { type: traffic }
`;
  const logs =
    "provider: logAnalytics, workspaceId: 11111111-2222-3333-4444-555555555555, query: 'T | where RevisionName_s == {{revision}}', successCondition: 'result < 1'";
  const policy = (fields: string) => `${minimal}gates:\n  - { name: g, ${logs}, ${fields} }\n`;
  const problemsOf = (fields: string): string[] => {
    try {
      parsePolicies(policy(fields), 'p.yaml');
    } catch (err) {
      expect(errorCode(err)).toBe('InvalidPolicy');
      return (err as { details: { problems: string[] } }).details.problems;
    }
    throw new Error('policy was accepted');
  };

  it.each([
    [
      'Ensure failureLimit >= -1',
      'failureLimit: -2, consecutiveSuccessLimit: 1',
      'gates.0.failureLimit: must be at least 0, or -1 to turn it off',
    ],
    [
      'Ensure consecutiveSuccessLimit >= 0',
      'consecutiveSuccessLimit: -1',
      'gates.0.consecutiveSuccessLimit: must be at least 0',
    ],
    [
      'Ensure consecutiveSuccessLimit and failureLimit are not both disabled',
      'failureLimit: -1',
      'gates.0.failureLimit: may be -1 (off) only with a consecutiveSuccessLimit above 0',
    ],
    [
      'count must be >= failureLimit + consecutiveSuccessLimit',
      'count: 4, failureLimit: 2, consecutiveSuccessLimit: 3',
      'gates.0.consecutiveSuccessLimit: count (4) must be at least failureLimit + consecutiveSuccessLimit (2 + 3)',
    ],
    [
      'invalid startDelay string',
      'initialDelay: 30s',
      "gates.0.initialDelay: '30s' is not an ISO 8601 duration",
    ],
    [
      '(errorInterval, Greenlight’s own)',
      'errorInterval: PT0S',
      'gates.0.errorInterval: must be longer than zero',
    ],
    [
      '(errorInterval, Greenlight’s own)',
      'errorInterval: PT2H',
      'gates.0.errorInterval: must be at most PT1H',
    ],
    ['(lag, Greenlight’s own)', 'lag: PT2H', 'gates.0.lag: must be at most PT1H'],
    [
      '(accumulate, Greenlight’s own)',
      'accumulate: false, phases: [prePromotion]',
      "gates.0.accumulate: applies only to a gate that runs in the 'watch' phase",
    ],
    ['(dryRun, Greenlight’s own)', 'dryRun: maybe', 'gates.0.dryRun:'],
  ])('%s: refuses %s', (_, fields, problem) => {
    expect(problemsOf(fields)).toEqual([expect.stringContaining(`p.yaml: ${problem}`)]);
  });

  it('accepts the Argo settings and fills their defaults', () => {
    const [p] = parsePolicies(
      policy(
        'count: 10, failureLimit: -1, consecutiveSuccessLimit: 3, initialDelay: PT30S, errorInterval: PT5S, lag: PT1M, dryRun: true, accumulate: false',
      ),
      'p.yaml',
    );
    expect(p!.gates[0]).toMatchObject({
      failureLimit: -1,
      consecutiveSuccessLimit: 3,
      initialDelay: 30_000,
      errorInterval: 5_000,
      lag: 60_000,
      dryRun: true,
      accumulate: false,
    });
    const [d] = parsePolicies(policy('count: 2'), 'p.yaml');
    expect(d!.gates[0]).toMatchObject({
      consecutiveSuccessLimit: 0,
      initialDelay: 0,
      errorInterval: 10_000,
      dryRun: false,
    });
    expect(d!.gates[0]!.lag).toBeUndefined();
    expect(d!.gates[0]!.accumulate).toBeUndefined();
  });
});
