import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { AppRef } from '../adapters/containerApps/port';
import { assessMeasurement, runVerdict, type MeasurementVerdict } from '../domain/gates/assess';
import type { GatePhase, GateReport, GateSpec } from '../domain/rollout/types';
import { Activities, Orchestrators } from '../names';
import { stepRetry } from './retry';

export interface GateRunInput {
  /** With `phase`, tells an operator reading the instance which rollout and step it belongs to. */
  rolloutId: string;
  app: AppRef;
  phase: GatePhase;
  gate: GateSpec;
  green: string;
  blue: string;
}

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
  state: 'pass' | 'fail' | 'inconclusive';
  message: string;
  /** The measurement that decided the run. */
  last: GateMeasurement & { verdict: MeasurementVerdict };
}

/**
 * One gate run, in its own instance so the rollout's history grows by one sub-orchestration per run,
 * however many measurements it takes: measure green (and blue, when a condition compares against the
 * baseline), judge, and repeat every `interval` until the run passes, fails or is inconclusive.
 * The number of measurements is bounded by the gate's count and limits.
 */
export const gateRunOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, GateRunResult, unknown> {
  const input = context.df.getInput<GateRunInput>();
  const { gate } = input;
  const verdicts: MeasurementVerdict[] = [];
  for (;;) {
    const m = (yield context.df.callActivityWithRetry(Activities.measureGate, stepRetry, {
      app: input.app,
      gate,
      revision: input.green,
      baselineRevision: input.blue,
    })) as GateMeasurement;
    const assessed = assessMeasurement(gate, m);
    verdicts.push(assessed.verdict);
    const run = runVerdict(gate, verdicts);
    if (run.state !== 'running') {
      // The run's verdict, and why its last measurement was judged so (a provider's own error included).
      return {
        name: gate.name,
        state: run.state,
        message: `${run.message}; last: ${assessed.message}`,
        last: { ...m, verdict: assessed.verdict },
      };
    }
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + gate.intervalMs));
  }
};

/** The status view of finished runs: each gate's latest measurement and the run's verdict. */
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

df.app.orchestration(Orchestrators.gateRun, gateRunOrchestrator);
