import type { GatePhase, GateReport, GateSpec, GateVerdict } from '../rollout/types';
import { assessMeasurement, runVerdict, type GateRunState, type MeasurementVerdict } from './assess';

/** One measurement as the gate step took it (the activity stamps the time). */
export interface GateMeasurement {
  value?: number;
  baseline?: number;
  sampleSize?: number;
  error?: string;
  at: string;
}

export interface GateRunResult {
  name: string;
  state: GateVerdict;
  message: string;
  /** The measurement that decided the run (or, while it runs, the latest one). */
  last: GateMeasurement & { verdict: MeasurementVerdict };
}

/** A gate run after one more measurement. */
export interface GateJudgement {
  /** 'running' while the run needs more measurements. */
  state: GateRunState;
  /** The run's verdicts so far, this measurement included. */
  verdicts: MeasurementVerdict[];
  /** For the status: the run's verdict, or while it runs, how its latest measurement went. */
  result: GateRunResult;
}

/**
 * Judges a gate run with one more measurement: the measurement on its own, then the run of them. The
 * message keeps both the run's verdict and why its last measurement was judged so (a provider's own
 * error included). Used by a gate run and by the watch alike.
 */
export function judgeGateRun(
  gate: GateSpec,
  earlier: readonly MeasurementVerdict[],
  m: GateMeasurement,
): GateJudgement {
  const assessed = assessMeasurement(gate, m);
  const verdicts = [...earlier, assessed.verdict];
  const run = runVerdict(gate, verdicts);
  const state: GateVerdict = run.state !== 'running' ? run.state : latestVerdict(assessed.verdict);
  return {
    state: run.state,
    verdicts,
    result: {
      name: gate.name,
      state,
      message: `${run.message}; last: ${assessed.message}`,
      last: { ...m, verdict: assessed.verdict },
    },
  };
}

function latestVerdict(v: MeasurementVerdict): GateVerdict {
  return v === 'success' ? 'pass' : v === 'failure' ? 'fail' : 'inconclusive';
}

/** What a phase's finished gate runs mean for the rollout. */
export interface GatePhaseJudgement {
  /** Why the rollout stops, when it does. */
  stop?: string;
  /** Inconclusive runs whose gate hands the decision to a person (before promotion only). */
  approvalNeeded: string[];
  /** Inconclusive runs whose gate lets them pass, for the timeline. */
  notes: string[];
}

/**
 * Judges a phase from its gates' runs: a failed run stops the rollout; an inconclusive one does what its
 * gate says: fail, pass, or (before promotion) wait for a person's approval.
 */
export function judgeGatePhase(
  phase: GatePhase,
  gates: readonly Pick<GateSpec, 'name' | 'onInconclusive'>[],
  results: readonly GateRunResult[],
): GatePhaseJudgement {
  const failed = results.filter((r) => r.state === 'fail');
  const problems = failed.map((r) => `${r.name}: ${r.message}`);
  const approvalNeeded: string[] = [];
  const notes: string[] = [];
  for (const r of results.filter((x) => x.state === 'inconclusive')) {
    const onInconclusive = gates.find((g) => g.name === r.name)?.onInconclusive ?? 'fail';
    if (onInconclusive === 'pass') notes.push(`gate ${r.name} inconclusive, passed by policy: ${r.message}`);
    else if (onInconclusive === 'pause' && phase === 'prePromotion') {
      approvalNeeded.push(`gate ${r.name} inconclusive: ${r.message}`);
    } else problems.push(`${r.name}: inconclusive: ${r.message}`);
  }
  const stop =
    problems.length > 0
      ? `${phase} gates ${failed.length > 0 ? 'failed' : 'inconclusive'}: ${problems.join('; ')}`
      : undefined;
  return { ...(stop ? { stop } : {}), approvalNeeded, notes };
}

/** The status view of gate runs: each gate's latest measurement and the run's verdict. */
export function gateReport(results: GateRunResult[]): GateReport {
  const verdict = results.some((r) => r.state === 'fail')
    ? 'fail'
    : results.some((r) => r.state === 'inconclusive')
      ? 'inconclusive'
      : 'pass';
  return {
    verdict,
    results: results.map((r) => {
      const { last } = r;
      return {
        name: r.name,
        verdict: r.state,
        message: r.message,
        ...(last.value !== undefined ? { value: last.value } : {}),
        ...(last.baseline !== undefined ? { baseline: last.baseline } : {}),
        at: last.at,
      };
    }),
  };
}
