import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { RolloutResult } from '../domain/rollout/types';
import { Orchestrators } from '../names';
import { afterPromotion, imageOf } from './afterPromotion';
import { recordAudit } from './audit';
import { awaitAdmission, prepare } from './changeControl';
import { notify, rememberPreviousImage } from './notify';
import { compensationRetry } from './retry';
import { awaitFinish, awaitRelease, isMember, reportFinished, reportPromoted } from './release/member';
import { RolloutRun } from './run';
import { approvalAndBake, gates, rollBack, smoke, waitUntilReady, watch } from './steps';
import { flagStrategy } from './strategies/flag';
import type { Strategy } from './strategies/strategy';
import { trafficStrategy } from './strategies/traffic';
import { stopReason } from './stop';

/**
 * One rollout, top to bottom: snapshot, deploy green, validate, approve or bake, promote, watch,
 * succeed (with an undo window), finalise. Every mutating step adds its undo to the saga first; any stop
 * runs them, newest first.
 */
export const rolloutOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, RolloutResult, unknown> {
  const run = new RolloutRun(context);
  const { recorder } = run;
  const strategy = strategyOf(run);
  let result: RolloutResult;

  try {
    // 0. Change control: a rollout admitted to wait sleeps on a durable timer until production opens.
    yield* awaitAdmission(run);

    // 1. Snapshot: the exact point rollback returns to, and blue, the revision production runs on.
    const snapshot = yield* run.call('snapshotApp', run.app);
    const blue = yield* strategy.snapshot(snapshot);
    rememberPreviousImage(run, imageOf(snapshot, blue));
    yield* notify(run, 'started', { strategy: run.plan.strategy.type });

    // 2. Guardrails and change control, then Multiple revision mode, so blue and green run together.
    yield* prepare(run, snapshot);

    // 3. Deploy green where production cannot reach it (the strategy adds its undos first).
    recorder.enter('Deploying');
    const green = yield* strategy.deploy(blue);

    // 4. Ready: provisioned, running, healthy (fails fast on a failed or degraded revision).
    recorder.enter('WaitingReady');
    const revision = yield* waitUntilReady(run, green);

    // 5. Validate against green's own URL: the strategy's checks, smoke checks, pre-promotion gates.
    recorder.enter('Validating');
    yield* strategy.validate(green);
    yield* smoke(run, revision);
    const approvalNeeded = yield* gates(run, 'prePromotion', green, blue);

    // 6. Approval and/or bake; a release member waits for its release's instead.
    if (isMember(run)) yield* awaitRelease(run, green, approvalNeeded);
    else yield* approvalAndBake(run, approvalNeeded);

    // 7. Promote.
    recorder.enter('Promoting');
    yield* strategy.promote(green, blue, revision);
    yield* notify(run, 'promoted', {});
    yield* reportPromoted(run);

    // 8. Watch: green holds production, blue stays warm for an instant rollback.
    yield* watch(run, strategy, { green, blue, revision });
    yield* awaitFinish(run);

    // 9. Succeeded, and the app released; blue stays restorable through the undo window (an undo, or
    //    the flag strategy's guard, puts the snapshot back), then it is retired.
    result = yield* afterPromotion(run, strategy, { green, blue, previousImage: imageOf(snapshot, blue) });
  } catch (e) {
    result = yield* rollBack(run, stopReason(e));
  }

  // A release member tells its release first: whatever happens below, the release is not left waiting.
  yield* reportFinished(run, result);
  yield* run.call(
    'finishRollout',
    { rolloutId: run.input.rolloutId, app: run.app, outcome: result.outcome },
    compensationRetry,
  );
  yield* recordAudit(run, {
    kind: 'rollout.finished',
    step: 'finished',
    outcome: result.outcome,
    ...(result.reason ? { reason: result.reason } : {}),
  });
  return result;
};

function strategyOf(run: RolloutRun): Strategy {
  const { strategy } = run.plan;
  return strategy.type === 'flag' ? flagStrategy(run, strategy) : trafficStrategy(run, strategy);
}

df.app.orchestration(Orchestrators.rollout, rolloutOrchestrator);
