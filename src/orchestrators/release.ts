import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { ReleaseResult } from '../domain/release/types';
import { Orchestrators } from '../names';
import {
  approveAndBake,
  awaitValidated,
  freeApps,
  holdApps,
  promote,
  recordFinished,
  restore,
  startMembers,
  undoWindow,
  watchAndFinish,
} from './release/phases';
import { ReleaseRun } from './release/run';
import { stopReason } from './stop';

/**
 * A coordinated release, top to bottom: hold the member apps, start every member rollout (each in member
 * mode: its own snapshot, deploy, validation and saga), one approval, promote in order (sequence or
 * lockstep), watch, finish, and an undo window. Any failure, rejection, timeout or abort restores every
 * member: promoted ones one by one in reverse promotion order, then the rest.
 */
export const releaseOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, ReleaseResult, unknown> {
  const rel = new ReleaseRun(context);
  let members: Task | undefined;
  let result: ReleaseResult;
  let freed = false;
  try {
    yield* holdApps(rel);
    members = yield* startMembers(rel);
    yield* awaitValidated(rel);
    yield* approveAndBake(rel);
    yield* promote(rel);
    yield* watchAndFinish(rel);
    // Every member is in its undo window: the apps are free for what comes next.
    yield* freeApps(rel);
    freed = true;
    result = yield* undoWindow(rel);
  } catch (e) {
    result = yield* restore(rel, stopReason(e));
  }
  if (!freed) yield* freeApps(rel);
  yield* recordFinished(rel, result);
  // Members end when their own undo windows close; their results were reported by event already.
  if (members) {
    try {
      yield members;
    } catch {
      rel.recorder.note('a member rollout failed outright; see its instance');
    }
  }
  return result;
};

df.app.orchestration(Orchestrators.release, releaseOrchestrator);
