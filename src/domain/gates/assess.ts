import { conditionUses, evaluateCondition, parseCondition, type Condition } from './condition';
import type { Measurement } from './types';

/** What judging a gate run needs from the gate (the rollout plan's `GateSpec` is one). */
export interface GateRunSpec {
  successCondition: string;
  failureCondition?: string;
  /** Measurements (errors excluded) a run takes before it can pass. */
  count: number;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  minSampleSize?: number;
}

export type MeasurementVerdict = 'success' | 'failure' | 'inconclusive' | 'error';

export type GateRunState = 'running' | 'pass' | 'fail' | 'inconclusive';

/** One measurement of green (and of blue, as `baseline`, when a condition compares against it). */
export type GateMeasurementInput = Measurement & { baseline?: number };

/**
 * Judges one measurement as Argo Rollouts does, and says why:
 * - `error` when the provider failed;
 * - `inconclusive` when there was no data, the sample is smaller than `minSampleSize` (or unknown while
 *   one is required), or a condition cannot be decided (an absent baseline, a division by zero);
 * - `failure` when the failureCondition holds, or the successCondition does not and there is no
 *   failureCondition; with both given and neither holding, `inconclusive`;
 * - `success` when the successCondition holds (and the failureCondition, if any, does not).
 */
export function assessMeasurement(
  spec: GateRunSpec,
  m: GateMeasurementInput,
): { verdict: MeasurementVerdict; message: string } {
  if (m.error !== undefined) return { verdict: 'error', message: `the measurement failed: ${m.error}` };
  const success = compile(spec.successCondition, 'successCondition');
  const failure =
    spec.failureCondition !== undefined ? compile(spec.failureCondition, 'failureCondition') : undefined;
  // Plans are validated when the policy loads; a hand-built one may still carry a broken condition.
  for (const c of [success, failure]) {
    if (c && !c.ok) return { verdict: 'error', message: c.message };
  }
  if (m.value === undefined || !Number.isFinite(m.value)) {
    return { verdict: 'inconclusive', message: 'no data for the window' };
  }
  const observed = describeObserved(m);
  if (spec.minSampleSize !== undefined) {
    if (m.sampleSize === undefined) {
      return {
        verdict: 'inconclusive',
        message: `the sample size is unknown, and minSampleSize (${spec.minSampleSize}) needs it (${observed})`,
      };
    }
    if (m.sampleSize < spec.minSampleSize) {
      return {
        verdict: 'inconclusive',
        message: `sample of ${m.sampleSize} is below minSampleSize (${spec.minSampleSize}) (${observed})`,
      };
    }
  }
  const vars = {
    result: m.value,
    ...(m.baseline !== undefined ? { baseline: m.baseline } : {}),
    ...(m.sampleSize !== undefined ? { sampleSize: m.sampleSize } : {}),
  };
  const failed = failure?.ok ? evaluateCondition(failure.condition, vars) : false;
  if (failed === true) {
    return {
      verdict: 'failure',
      message: `failureCondition \`${spec.failureCondition}\` holds (${observed})`,
    };
  }
  const succeeded = success.ok ? evaluateCondition(success.condition, vars) : undefined;
  if (succeeded === undefined || failed === undefined) {
    const [name, condition] =
      succeeded === undefined ? ['successCondition', success] : ['failureCondition', failure];
    return {
      verdict: 'inconclusive',
      message: `${name} cannot be decided: ${undecidedBecause(condition?.ok ? condition.condition : undefined, m)} (${observed})`,
    };
  }
  if (succeeded) {
    return {
      verdict: 'success',
      message: `successCondition \`${spec.successCondition}\` holds (${observed})`,
    };
  }
  if (failure) {
    return {
      verdict: 'inconclusive',
      message: `neither successCondition nor failureCondition holds (${observed})`,
    };
  }
  return {
    verdict: 'failure',
    message: `successCondition \`${spec.successCondition}\` does not hold (${observed})`,
  };
}

/**
 * Judges a run from its measurements' verdicts, in order, as Argo Rollouts' assessMetricStatus does;
 * the first rule crossed ends the run and later verdicts are ignored:
 * - fail when failures exceed failureLimit, or errors in a row exceed consecutiveErrorLimit (the
 *   provider kept failing);
 * - inconclusive when inconclusive measurements exceed inconclusiveLimit;
 * - once `count` measurements other than errors are taken: pass, unless none of them succeeded (then
 *   inconclusive, where Argo would pass: a run of tolerated failures and gaps proves nothing);
 * - running otherwise.
 */
export function runVerdict(
  spec: GateRunSpec,
  verdicts: readonly MeasurementVerdict[],
): { state: GateRunState; message: string } {
  const n = { success: 0, failure: 0, inconclusive: 0, error: 0 };
  let errorsInRow = 0;
  for (const v of verdicts) {
    n[v]++;
    errorsInRow = v === 'error' ? errorsInRow + 1 : 0;
    if (n.failure > spec.failureLimit) {
      return { state: 'fail', message: `failed (${n.failure}) > failureLimit (${spec.failureLimit})` };
    }
    if (errorsInRow > spec.consecutiveErrorLimit) {
      return {
        state: 'fail',
        message: `the provider kept failing: consecutive errors (${errorsInRow}) > consecutiveErrorLimit (${spec.consecutiveErrorLimit})`,
      };
    }
    if (n.inconclusive > spec.inconclusiveLimit) {
      return {
        state: 'inconclusive',
        message: `inconclusive (${n.inconclusive}) > inconclusiveLimit (${spec.inconclusiveLimit})`,
      };
    }
    const taken = n.success + n.failure + n.inconclusive;
    if (taken >= spec.count) {
      const tally = `${n.success} successful, ${n.failure} failed, ${n.inconclusive} inconclusive`;
      return n.success === 0
        ? { state: 'inconclusive', message: `no measurement of ${taken} succeeded (${tally})` }
        : { state: 'pass', message: `${taken} of ${spec.count} measurements: ${tally}` };
    }
  }
  const taken = n.success + n.failure + n.inconclusive;
  const errors = n.error > 0 ? `, ${n.error} error(s)` : '';
  return { state: 'running', message: `${taken} of ${spec.count} measurements taken${errors}` };
}

function compile(
  text: string,
  field: string,
): { ok: true; condition: Condition } | { ok: false; message: string } {
  const parsed = parseCondition(text);
  return parsed.ok
    ? parsed
    : { ok: false, message: `${field} \`${text}\` does not parse: ${parsed.message}` };
}

function undecidedBecause(condition: Condition | undefined, m: GateMeasurementInput): string {
  const uses = condition ? conditionUses(condition) : new Set<string>();
  if (uses.has('baseline') && (m.baseline === undefined || !Number.isFinite(m.baseline))) {
    return 'it needs the baseline, which was not measured';
  }
  if (uses.has('sampleSize') && (m.sampleSize === undefined || !Number.isFinite(m.sampleSize))) {
    return 'it needs the sample size, which is unknown';
  }
  return 'it divides by zero or leaves the finite numbers';
}

function describeObserved(m: GateMeasurementInput): string {
  const parts = [`result ${show(m.value)}`];
  if (m.baseline !== undefined) parts.push(`baseline ${show(m.baseline)}`);
  if (m.sampleSize !== undefined) parts.push(`sampleSize ${show(m.sampleSize)}`);
  return parts.join(', ');
}

/** Six significant digits: enough to compare with a threshold, short enough for a status line. */
function show(v: number | undefined): string {
  return v === undefined ? 'none' : String(Number(v.toPrecision(6)));
}
