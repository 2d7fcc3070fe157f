import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { call, type GateRunInput } from '../activities/contract';
import { nextMeasurementDelay, recordMeasurement, startRun } from '../domain/gates/assess';
import type { GateRunResult } from '../domain/gates/report';
import { Orchestrators } from '../names';
import { stepRetry } from './retry';

/**
 * One gate run, in its own instance so the rollout's history grows by one sub-orchestration per run,
 * however many measurements it takes: wait the gate's initialDelay, then measure green (and blue, when a
 * condition compares against the baseline), judge, and wait again (the interval, or the short error
 * interval after a provider error) until the run passes, fails or is inconclusive. The number of
 * measurements is bounded by the gate's count and limits.
 */
export const gateRunOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, GateRunResult, unknown> {
  const input = context.df.getInput<GateRunInput>();
  const { gate } = input;
  let run = startRun(gate);
  for (;;) {
    const delay = nextMeasurementDelay(gate, run.history.at(-1));
    if (delay > 0) {
      yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + delay));
    }
    const m = yield* call(
      context,
      'measureGate',
      { app: input.app, gate, revision: input.green, baselineRevision: input.blue },
      stepRetry,
    );
    run = recordMeasurement(gate, run, m);
    if (run.phase !== 'running') {
      return { name: gate.name, run, finishedAt: context.df.currentUtcDateTime.toISOString() };
    }
  }
};

df.app.orchestration(Orchestrators.gateRun, gateRunOrchestrator);
