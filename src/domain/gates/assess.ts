import { conditionUses, evaluateCondition, parseCondition, type Condition } from './condition';
import {
  fromMeasuredNumber,
  toMeasuredNumber,
  type MeasuredNumber,
  type Measurement,
  type WireMeasurement,
} from './types';

/**
 * What judging a gate run needs from the gate (the rollout plan's `GateSpec` is one). The optional
 * fields are Argo Rollouts' metric settings of the same names; absent, they take Argo's defaults.
 */
export interface GateRunSpec {
  successCondition: string;
  failureCondition?: string;
  /** Measurements (errors excluded) a run takes before it can pass. */
  count: number;
  /** Failures tolerated; -1 turns the limit off (only with `consecutiveSuccessLimit`). */
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  minSampleSize?: number;
  /** Successes in a row that pass the run at once; 0 or absent: off. */
  consecutiveSuccessLimit?: number;
  /** Measured and shown, never deciding the rollout. */
  dryRun?: boolean;
  /** Time between measurements. */
  intervalMs?: number;
  /** Time before the next try after a provider error; default 10 s (`defaultErrorIntervalMs`). */
  errorIntervalMs?: number;
  /** Time before the first measurement of a run, for green to warm up; default 0. */
  initialDelayMs?: number;
  /** Watch only: whether verdicts add up over the whole watch (default) or start afresh after each passed run of `count`. */
  accumulate?: boolean;
}

export type MeasurementVerdict = 'success' | 'failure' | 'inconclusive' | 'error';

export type GateRunState = 'running' | 'pass' | 'fail' | 'inconclusive';

/**
 * One measurement of green (and of blue, as `baseline`, when a condition compares against it). Numbers
 * may come as they cross JSON (`'Infinity'`, `null` for NaN), so orchestrations can pass them on unchanged.
 */
export type GateMeasurementInput = Omit<Measurement, 'value'> & {
  value?: MeasuredNumber | null;
  baseline?: MeasuredNumber | null;
};

/** Argo Rollouts' DefaultErrorRetryInterval: a provider error is retried after 10 s, not a whole interval. */
export const defaultErrorIntervalMs = 10_000;

/** Measurements a run keeps for its status (Argo Rollouts keeps the last 10 per metric). */
export const measurementHistoryLimit = 10;

/**
 * Judges one measurement as Argo Rollouts does, and says why:
 * - `error` when the provider failed;
 * - `inconclusive` when the sample is smaller than `minSampleSize` (or unknown while one is required),
 *   or a condition cannot be decided: no data (nothing measured, or NaN) unless the condition handles it
 *   with `isNaN` or `default`, an absent baseline, a division by zero;
 * - `failure` when the failureCondition holds, or the successCondition does not and there is no
 *   failureCondition; with both given and neither holding, `inconclusive`;
 * - `success` when the successCondition holds (and the failureCondition, if any, does not).
 * An infinity is a value like any other: `+Inf < 0.5` does not hold.
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
  const value = fromMeasuredNumber(m.value);
  const baseline = fromMeasuredNumber(m.baseline);
  const sampleSize = m.sampleSize !== undefined && !Number.isNaN(m.sampleSize) ? m.sampleSize : undefined;
  const observed = describeObserved(value, baseline, sampleSize);
  if (spec.minSampleSize !== undefined) {
    if (value === undefined && (sampleSize === undefined || sampleSize < spec.minSampleSize)) {
      return { verdict: 'inconclusive', message: 'no data for the window' };
    }
    if (sampleSize === undefined) {
      return {
        verdict: 'inconclusive',
        message: `the sample size is unknown, and minSampleSize (${spec.minSampleSize}) needs it (${observed})`,
      };
    }
    if (sampleSize < spec.minSampleSize) {
      return {
        verdict: 'inconclusive',
        message: `sample of ${sampleSize} is below minSampleSize (${spec.minSampleSize}) (${observed})`,
      };
    }
  }
  // No data is NaN to the conditions: `isNaN(result)` and `default(result, 0)` can still decide.
  const vars = {
    result: value ?? Number.NaN,
    ...(baseline !== undefined ? { baseline } : {}),
    ...(sampleSize !== undefined ? { sampleSize } : {}),
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
    if (value === undefined) return { verdict: 'inconclusive', message: 'no data for the window' };
    const [name, condition] =
      succeeded === undefined ? ['successCondition', success] : ['failureCondition', failure];
    return {
      verdict: 'inconclusive',
      message: `${name} cannot be decided: ${undecidedBecause(condition?.ok ? condition.condition : undefined, baseline, sampleSize)} (${observed})`,
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

/** A run's counters, as Argo Rollouts' MetricResult keeps them; small and JSON-safe, whatever the run's length. */
export interface RunTally {
  /** Measurements other than errors (what `count` counts). */
  taken: number;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  successesInRow: number;
  errorsInRow: number;
}

export const emptyTally: RunTally = {
  taken: 0,
  successful: 0,
  failed: 0,
  inconclusive: 0,
  errors: 0,
  successesInRow: 0,
  errorsInRow: 0,
};

/** The tally after one more verdict. */
export function tallyVerdict(t: RunTally, v: MeasurementVerdict): RunTally {
  if (v === 'error') return { ...t, errors: t.errors + 1, errorsInRow: t.errorsInRow + 1, successesInRow: 0 };
  return {
    ...t,
    taken: t.taken + 1,
    successful: t.successful + (v === 'success' ? 1 : 0),
    failed: t.failed + (v === 'failure' ? 1 : 0),
    inconclusive: t.inconclusive + (v === 'inconclusive' ? 1 : 0),
    successesInRow: v === 'success' ? t.successesInRow + 1 : 0,
    errorsInRow: 0,
  };
}

export interface JudgeOptions {
  /**
   * An open run (a watch that accumulates, as Argo's background analysis) does not end at `count` or a
   * success streak: only a limit crossed ends it, or the watch's end (`closeRun`).
   */
  open?: boolean;
}

/**
 * Judges a run from its tally, as Argo Rollouts' assessMetricStatus does:
 * - fail when failures exceed failureLimit (unless it is -1), or errors in a row exceed
 *   consecutiveErrorLimit (the provider kept failing; Argo's Error, which aborts a rollout the same way);
 * - inconclusive when inconclusive measurements exceed inconclusiveLimit;
 * - pass when consecutiveSuccessLimit successes came in a row;
 * - once `count` measurements other than errors are taken: with a consecutiveSuccessLimit not reached,
 *   inconclusive (fail when failureLimit is -1); otherwise pass, unless none of them succeeded (then
 *   inconclusive, where Argo would pass: a run of tolerated failures and gaps proves nothing);
 * - running otherwise.
 */
export function judgeTally(
  spec: GateRunSpec,
  t: RunTally,
  opts: JudgeOptions = {},
): { state: GateRunState; message: string } {
  if (spec.failureLimit >= 0 && t.failed > spec.failureLimit) {
    return { state: 'fail', message: `failed (${t.failed}) > failureLimit (${spec.failureLimit})` };
  }
  if (t.errorsInRow > spec.consecutiveErrorLimit) {
    return {
      state: 'fail',
      message: `the provider kept failing: consecutive errors (${t.errorsInRow}) > consecutiveErrorLimit (${spec.consecutiveErrorLimit})`,
    };
  }
  if (t.inconclusive > spec.inconclusiveLimit) {
    return {
      state: 'inconclusive',
      message: `inconclusive (${t.inconclusive}) > inconclusiveLimit (${spec.inconclusiveLimit})`,
    };
  }
  const streak = spec.consecutiveSuccessLimit ?? 0;
  const tally = describeTally(t);
  if (!opts.open) {
    if (streak > 0 && t.successesInRow >= streak) {
      return {
        state: 'pass',
        message: `${t.successesInRow} successful in a row reached consecutiveSuccessLimit (${streak}) (${tally})`,
      };
    }
    if (t.taken >= spec.count) {
      if (streak > 0) {
        return {
          state: spec.failureLimit < 0 ? 'fail' : 'inconclusive',
          message: `${t.taken} of ${spec.count} measurements without ${streak} successful in a row (consecutiveSuccessLimit) (${tally})`,
        };
      }
      return t.successful === 0
        ? { state: 'inconclusive', message: `no measurement of ${t.taken} succeeded (${tally})` }
        : { state: 'pass', message: `${t.taken} of ${spec.count} measurements: ${tally}` };
    }
  }
  const errors = t.errors > 0 ? `, ${t.errors} error(s)` : '';
  return opts.open
    ? { state: 'running', message: `${t.taken} measurements taken${errors}` }
    : { state: 'running', message: `${t.taken} of ${spec.count} measurements taken${errors}` };
}

/**
 * Judges a run from its measurements' verdicts, in order (see `judgeTally`); the first rule crossed ends
 * the run and later verdicts are ignored.
 */
export function runVerdict(
  spec: GateRunSpec,
  verdicts: readonly MeasurementVerdict[],
  opts: JudgeOptions = {},
): { state: GateRunState; message: string } {
  let t = emptyTally;
  let judged = judgeTally(spec, t, opts);
  for (const v of verdicts) {
    t = tallyVerdict(t, v);
    judged = judgeTally(spec, t, opts);
    if (judged.state !== 'running') return judged;
  }
  return judged;
}

/** One measurement as a run keeps it for its status: JSON-safe, with its verdict and why. */
export interface MeasurementRecord extends WireMeasurement {
  baseline?: MeasuredNumber;
  /** When it was taken (the activity's clock, ISO 8601). */
  at?: string;
  verdict: MeasurementVerdict;
  message: string;
}

/**
 * A gate run in progress or finished: what an orchestration carries from one measurement to the next
 * (and across continue-as-new) and what the status shows. Its size is bounded however long the run.
 */
export interface GateRunProgress {
  phase: GateRunState;
  message: string;
  tally: RunTally;
  /** The latest measurements, oldest first, at most `measurementHistoryLimit`. */
  history: MeasurementRecord[];
  /** A dry-run gate's run: measured and shown, never deciding (see `combinePhaseRuns`). */
  dryRun: boolean;
  /** Watch without accumulation: runs of `count` that passed before the current one. */
  windowsPassed?: number;
}

/** A run before its first measurement. */
export function startRun(spec: GateRunSpec, opts: JudgeOptions = {}): GateRunProgress {
  return {
    ...judgeTally(spec, emptyTally, opts),
    phase: 'running',
    tally: emptyTally,
    history: [],
    dryRun: spec.dryRun ?? false,
  };
}

/**
 * The run after one more measurement: judged, tallied, kept in the history, and the run judged again.
 * A finished run is returned as it is: measurements after the end are ignored, as Argo ignores them.
 */
export function recordMeasurement(
  spec: GateRunSpec,
  progress: GateRunProgress,
  m: GateMeasurementInput & { at?: string },
  opts: JudgeOptions = {},
): GateRunProgress {
  if (progress.phase !== 'running') return progress;
  const assessed = assessMeasurement(spec, m);
  const tally = tallyVerdict(progress.tally, assessed.verdict);
  const judged = judgeTally(spec, tally, opts);
  const record = recordOf(m, assessed);
  return {
    ...progress,
    phase: judged.state,
    // The run's verdict, and why its last measurement was judged so (a provider's own error included).
    message: `${judged.message}; last: ${assessed.message}`,
    tally,
    history: [...progress.history, record].slice(-measurementHistoryLimit),
  };
}

/** Judges a whole run from its measurements in order (a fold of `recordMeasurement`). */
export function assessRun(
  spec: GateRunSpec,
  measurements: readonly (GateMeasurementInput & { at?: string })[],
  opts: JudgeOptions = {},
): GateRunProgress {
  return measurements.reduce((p, m) => recordMeasurement(spec, p, m, opts), startRun(spec, opts));
}

/** Whether a watch gate's verdicts add up over the whole watch (the default, as Argo's background analysis). */
export function watchAccumulates(spec: Pick<GateRunSpec, 'accumulate'>): boolean {
  return spec.accumulate ?? true;
}

/**
 * One measurement of a watch gate. Accumulating (the default), the run is open: limits count over the
 * whole watch, and only a limit crossed ends it early. Without accumulation, a run of `count` that passes
 * is counted and the next starts afresh, so failures never add up across runs; the run stays `running`.
 * Either way the watch ends the run with `closeRun`.
 */
export function recordWatchMeasurement(
  spec: GateRunSpec,
  progress: GateRunProgress,
  m: GateMeasurementInput & { at?: string },
): GateRunProgress {
  const open = watchAccumulates(spec);
  const next = recordMeasurement(spec, progress, m, { open });
  if (open || next.phase !== 'pass') return next;
  const windowsPassed = (progress.windowsPassed ?? 0) + 1;
  return {
    ...next,
    phase: 'running',
    message: `${windowsPassed} run(s) of ${spec.count} passed; the last: ${next.message}`,
    tally: emptyTally,
    windowsPassed,
  };
}

/**
 * Ends a run that is still going when its time is up (the watch closes, as Argo terminates a background
 * analysis): pass if anything succeeded (or an earlier run of `count` passed), inconclusive otherwise.
 * A finished run is returned as it is.
 */
export function closeRun(progress: GateRunProgress): GateRunProgress {
  if (progress.phase !== 'running') return progress;
  const passedBefore = progress.windowsPassed ?? 0;
  const tally = describeTally(progress.tally);
  if (progress.tally.successful > 0 || passedBefore > 0) {
    const earlier = passedBefore > 0 ? `${passedBefore} run(s) passed, then ` : '';
    return { ...progress, phase: 'pass', message: `ended with no limit crossed: ${earlier}${tally}` };
  }
  return {
    ...progress,
    phase: 'inconclusive',
    message:
      progress.tally.taken === 0
        ? `ended before any measurement was taken${progress.tally.errors > 0 ? ` (${progress.tally.errors} error(s))` : ''}`
        : `ended with no measurement of ${progress.tally.taken} successful (${tally})`,
  };
}

/** How long to wait before the first measurement of a run: the gate's initialDelay. */
export function initialDelayMs(spec: Pick<GateRunSpec, 'initialDelayMs'>): number {
  return spec.initialDelayMs ?? 0;
}

/**
 * How long to wait before the next measurement: the initial delay before the first, the error interval
 * after a provider error (so a dead provider is given up within `errorGiveUpMs`), the interval otherwise.
 */
export function nextMeasurementDelay(
  spec: Pick<GateRunSpec, 'initialDelayMs' | 'errorIntervalMs'> & { intervalMs: number },
  last: Pick<MeasurementRecord, 'verdict'> | undefined,
): number {
  if (last === undefined) return initialDelayMs(spec);
  return last.verdict === 'error' ? (spec.errorIntervalMs ?? defaultErrorIntervalMs) : spec.intervalMs;
}

/** From a provider's first error, the longest it takes a run to give up on a provider that stays down. */
export function errorGiveUpMs(spec: Pick<GateRunSpec, 'consecutiveErrorLimit' | 'errorIntervalMs'>): number {
  return spec.consecutiveErrorLimit * (spec.errorIntervalMs ?? defaultErrorIntervalMs);
}

/** One gate's run among the runs of a phase, as `combinePhaseRuns` reads it. */
export interface PhaseRun {
  name: string;
  phase: GateRunState;
  message?: string;
  dryRun?: boolean;
  /** What an inconclusive run does; default 'fail'. */
  onInconclusive?: 'fail' | 'pass' | 'pause';
  /** When the run finished (ISO 8601 or epoch ms); runs without it count in the order given. */
  finishedAt?: string | number;
}

/**
 * What a phase does next, from its gates' runs:
 * - `rollback`: a run that is not a dry run failed, or was inconclusive under `onInconclusive: fail`;
 *   `decidedBy` names the first such run, and `stop` the runs still going, to be cancelled at once
 *   (Argo terminates sibling metrics the same way);
 * - `wait`: runs that can still matter are going;
 * - `askApproval`: all done, and a run was inconclusive under `onInconclusive: pause`;
 * - `proceed`: all done, and every run passed (or was inconclusive under `onInconclusive: pass`).
 * Dry-run gates never decide: their runs are waited for and shown, and stopped with the others.
 */
export interface PhaseDecision {
  action: 'wait' | 'rollback' | 'askApproval' | 'proceed';
  /** The gates' verdict, for the status: fail, inconclusive or pass (running while waiting). */
  verdict: GateRunState;
  decidedBy?: string;
  stop: string[];
  message: string;
}

export function combinePhaseRuns(runs: readonly PhaseRun[]): PhaseDecision {
  const deciding = runs.filter((r) => !r.dryRun);
  const failing = deciding
    .map((r, i) => ({ r, i }))
    .filter(
      ({ r }) =>
        r.phase === 'fail' || (r.phase === 'inconclusive' && (r.onInconclusive ?? 'fail') === 'fail'),
    )
    .sort((a, b) => finishedAt(a.r, a.i) - finishedAt(b.r, b.i) || a.i - b.i);
  const running = runs.filter((r) => r.phase === 'running').map((r) => r.name);
  const first = failing[0]?.r;
  if (first) {
    const why = first.phase === 'fail' ? 'failed' : 'was inconclusive (onInconclusive: fail)';
    const stopped = running.length > 0 ? `; stopped ${running.map((n) => `'${n}'`).join(', ')}` : '';
    return {
      action: 'rollback',
      verdict: first.phase,
      decidedBy: first.name,
      stop: running,
      message: `gate '${first.name}' ${why}${first.message ? `: ${first.message}` : ''}${stopped}`,
    };
  }
  if (running.length > 0) {
    return {
      action: 'wait',
      verdict: 'running',
      stop: [],
      message: `waiting for ${running.map((n) => `'${n}'`).join(', ')}`,
    };
  }
  const inconclusive = deciding.filter((r) => r.phase === 'inconclusive');
  const pausing = inconclusive.filter((r) => r.onInconclusive === 'pause');
  const dry = runs.filter((r) => r.dryRun);
  const dryNote =
    dry.length > 0 ? `; dry run (not deciding): ${dry.map((r) => `'${r.name}' ${r.phase}`).join(', ')}` : '';
  if (pausing.length > 0) {
    return {
      action: 'askApproval',
      verdict: 'inconclusive',
      decidedBy: pausing[0]!.name,
      stop: [],
      message: `gate(s) ${pausing.map((r) => `'${r.name}'`).join(', ')} inconclusive (onInconclusive: pause): a person decides${dryNote}`,
    };
  }
  if (inconclusive.length > 0) {
    return {
      action: 'proceed',
      verdict: 'inconclusive',
      stop: [],
      message: `gate(s) ${inconclusive.map((r) => `'${r.name}'`).join(', ')} inconclusive, let pass (onInconclusive: pass)${dryNote}`,
    };
  }
  return {
    action: 'proceed',
    verdict: 'pass',
    stop: [],
    message: `${deciding.length} gate(s) passed${dryNote}`,
  };
}

function finishedAt(r: PhaseRun, index: number): number {
  if (typeof r.finishedAt === 'number') return r.finishedAt;
  if (typeof r.finishedAt === 'string') {
    const t = Date.parse(r.finishedAt);
    if (!Number.isNaN(t)) return t;
  }
  // Unknown: after every timed run, in the order given.
  return Number.MAX_SAFE_INTEGER - 1_000_000 + index;
}

function recordOf(
  m: GateMeasurementInput & { at?: string },
  assessed: { verdict: MeasurementVerdict; message: string },
): MeasurementRecord {
  const value = toMeasuredNumber(fromMeasuredNumber(m.value));
  const baseline = toMeasuredNumber(fromMeasuredNumber(m.baseline));
  return {
    ...(value !== undefined ? { value } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
    ...(m.sampleSize !== undefined && Number.isFinite(m.sampleSize) ? { sampleSize: m.sampleSize } : {}),
    ...(m.error !== undefined ? { error: m.error } : {}),
    ...(m.at !== undefined ? { at: m.at } : {}),
    verdict: assessed.verdict,
    message: assessed.message,
  };
}

function describeTally(t: RunTally): string {
  return `${t.successful} successful, ${t.failed} failed, ${t.inconclusive} inconclusive`;
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

function undecidedBecause(
  condition: Condition | undefined,
  baseline: number | undefined,
  sampleSize: number | undefined,
): string {
  const uses = condition ? conditionUses(condition) : new Set<string>();
  if (uses.has('baseline') && baseline === undefined) {
    return 'it needs the baseline, which was not measured';
  }
  if (uses.has('sampleSize') && sampleSize === undefined) {
    return 'it needs the sample size, which is unknown';
  }
  return 'it divides by zero or its arithmetic gives no number (such as Inf - Inf)';
}

function describeObserved(
  value: number | undefined,
  baseline: number | undefined,
  sampleSize: number | undefined,
): string {
  const parts = [`result ${show(value)}`];
  if (baseline !== undefined) parts.push(`baseline ${show(baseline)}`);
  if (sampleSize !== undefined) parts.push(`sampleSize ${show(sampleSize)}`);
  return parts.join(', ');
}

/** Six significant digits: enough to compare with a threshold, short enough for a status line. */
function show(v: number | undefined): string {
  if (v === undefined) return 'none';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(Number(v.toPrecision(6)));
}
