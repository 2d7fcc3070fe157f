import type { OrchestrationContext, Task } from 'durable-functions';
import { call, type WatchInput } from '../activities/contract';
import { assessProgress, type ProgressObservation } from '../domain/flag/progress';
import { assessFlip } from '../domain/flag/validation';
import { stepRetry } from './retry';

/** The previous look at production, carried from check to check (and across generations). */
export interface ProductionLook {
  progress?: ProgressObservation;
}

/**
 * The flag strategy's check of production at a watch (or guard) check: green holds a live lease at the
 * rollout's epoch, and, when the plan names a progress log, its checkpoint advanced since the previous
 * check. The lease alone cannot tell a stalled producer (alive, leased, writing nothing) from a working
 * one. Returns why production is not in green's hands, or undefined.
 */
export function* checkProduction(
  context: OrchestrationContext,
  input: WatchInput,
  look: ProductionLook,
): Generator<Task, string | undefined, unknown> {
  const flag = input.flag;
  if (!flag) return undefined;
  const activityInput = { app: input.app, strategy: flag.strategy, rolloutId: input.rolloutId };
  const expected = { active: input.green, epoch: flag.epoch };
  const progress = flag.strategy.progress;
  if (!progress) {
    // Plans made before progress checks: the lease and the last write only.
    const flip = assessFlip(expected, yield* call(context, 'observeFlip', activityInput, stepRetry));
    return flip.verdict === 'pass' ? undefined : flip.message;
  }
  const obs = yield* call(context, 'observeProgress', activityInput, stepRetry);
  const flip = assessFlip(expected, obs);
  if (flip.verdict !== 'pass') return flip.message;
  const judged = assessProgress(look.progress, obs, { ...expected, maxLagFrames: progress.maxLagFrames });
  look.progress = obs;
  return judged.verdict === 'fail' ? judged.message : undefined;
}
