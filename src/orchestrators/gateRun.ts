import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { call, type GateRunInput } from '../activities/contract';
import type { MeasurementVerdict } from '../domain/gates/assess';
import { judgeGateRun, type GateRunResult } from '../domain/gates/report';
import { Orchestrators } from '../names';
import { stepRetry } from './retry';

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
  let verdicts: MeasurementVerdict[] = [];
  for (;;) {
    const m = yield* call(
      context,
      'measureGate',
      { app: input.app, gate, revision: input.green, baselineRevision: input.blue },
      stepRetry,
    );
    const judged = judgeGateRun(gate, verdicts, m);
    if (judged.state !== 'running') return judged.result;
    verdicts = judged.verdicts;
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + gate.intervalMs));
  }
};

df.app.orchestration(Orchestrators.gateRun, gateRunOrchestrator);
