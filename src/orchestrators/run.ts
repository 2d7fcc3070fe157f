import type { OrchestrationContext, RetryOptions, Task } from 'durable-functions';
import { call, type ActivityInput, type ActivityName, type ActivityOutput } from '../activities/contract';
import type { AppRef } from '../domain/ports';
import type { RolloutInput, RolloutPlan } from '../domain/rollout/types';
import { persistently } from './compensation';
import { RolloutRecorder } from './recorder';
import { stepRetry, undoAttempt } from './retry';
import { Saga } from './saga';
import { Signals } from './signals';

/** What every step of one rollout works with: its input, status, operator signals and undo list. */
export class RolloutRun {
  readonly input: RolloutInput;
  readonly plan: RolloutPlan;
  readonly app: AppRef;
  readonly recorder: RolloutRecorder;
  readonly signals: Signals;
  /** Its undos are retried until the rollback's bound (see `persistently`). */
  readonly saga = new Saga(() => persistently(this));
  /** The candidate revision, once the rollout has gone as far as naming it. */
  green?: string;
  /** Gate runs started so far: numbers their child instances. */
  gateRuns = 0;

  constructor(readonly context: OrchestrationContext) {
    this.input = context.df.getInput<RolloutInput>();
    this.plan = this.input.plan;
    this.app = this.plan.app;
    this.recorder = new RolloutRecorder(context, this.input);
    this.signals = new Signals(context, (name, problem) => this.recorder.eventIgnored(name, problem));
  }

  /** Calls an activity: forward steps retry briefly, undos pass `undoAttempt` (the compensation loop retries them). */
  call<N extends ActivityName>(
    name: N,
    input: ActivityInput<N>,
    retry: RetryOptions = stepRetry,
  ): Generator<Task, ActivityOutput<N>, unknown> {
    if (retry === undoAttempt) return this.once(name, input);
    return call(this.context, name, input, retry);
  }

  /** One attempt, without the framework's retry (whose timer after the last failure only adds history). */
  private *once<N extends ActivityName>(
    name: N,
    input: ActivityInput<N>,
  ): Generator<Task, ActivityOutput<N>, unknown> {
    const output: unknown = yield this.context.df.callActivity(name, input);
    return output as ActivityOutput<N>;
  }

  /** Epoch ms on the orchestration's replay-safe clock. */
  now(): number {
    return this.context.df.currentUtcDateTime.getTime();
  }
}
