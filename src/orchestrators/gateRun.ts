import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { AppRef } from '../adapters/containerApps/port';
import { measurementVerdict, runVerdict, type MeasurementVerdict } from '../domain/gates/assess';
import type { GatePhase, GateReport, GateSpec } from '../domain/rollout/types';
import { Activities, Orchestrators } from '../names';
import { stepRetry } from './retry';

export interface GateRunInput {
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
  /** The latest measurements, newest last (at most `maxKept`). */
  measurements: (GateMeasurement & { verdict: MeasurementVerdict })[];
}

const maxKept = 10;

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
  const kept: GateRunResult['measurements'] = [];
  for (;;) {
    const m = (yield context.df.callActivityWithRetry(Activities.measureGate, stepRetry, {
      app: input.app,
      gate,
      revision: input.green,
      baselineRevision: input.blue,
    })) as GateMeasurement;
    const verdict = measurementVerdict(gate, m);
    verdicts.push(verdict);
    kept.push({ ...m, verdict });
    if (kept.length > maxKept) kept.shift();
    const run = runVerdict(gate, verdicts);
    if (run.state !== 'running')
      return { name: gate.name, state: run.state, message: run.message, measurements: kept };
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
      const last = r.measurements[r.measurements.length - 1];
      return {
        name: r.name,
        verdict: r.state,
        message: r.message,
        ...(last?.value !== undefined ? { value: last.value } : {}),
        ...(last?.baseline !== undefined ? { baseline: last.baseline } : {}),
        at: last?.at ?? '',
      };
    }),
  };
}

df.app.orchestration(Orchestrators.gateRun, gateRunOrchestrator);
