import type { Task, TimerTask } from 'durable-functions';
import { startChild, type ChildRun, type WatchResult } from '../activities/contract';
import { parseEvent } from '../domain/events';
import type { AppSnapshot } from '../domain/ports';
import type { RolloutResult, UndoStatus } from '../domain/rollout/types';
import { Events, guardInstanceId } from '../names';
import { reminderAt } from '../domain/notify/reminders';
import { anyOf } from './anyOf';
import { anyoneWants, notify } from './notify';
import { reportSucceeded } from './release/member';
import { compensationRetry } from './retry';
import type { RolloutRun } from './run';
import { retireOldRevisions, rollBack } from './steps';
import type { Strategy } from './strategies/strategy';

/** Where production stood after promotion: green holds it, blue is still warm. */
export interface Promoted {
  green: string;
  blue: string;
  /** The image production ran before the rollout, for the command that rolls it out again. */
  previousImage?: string;
}

/** How the undo window ended. */
type WindowEnd =
  { kind: 'closed' } | { kind: 'undo'; by: string; reason?: string } | { kind: 'guard'; reason: string };

/**
 * After Succeeded: the app is released (a newer rollout may start), and blue stays restorable for the
 * undo window. An undo (or an abort, which after promotion means the same) restores the snapshot through
 * the saga, skipping gates and approval, and ends the rollout `Undone`. For the flag strategy the guard
 * watches production meanwhile and flips back a stalled or leaseless green (`RolledBack`, like any
 * rollback). Neither acts over a newer rollout of the app, which closes the window. When it closes, blue
 * is retired. One wait (or one guard child, which continues as new) keeps history bounded; every step
 * is an idempotent activity, so a crash anywhere replays to the same end.
 */
export function* afterPromotion(
  run: RolloutRun,
  strategy: Strategy,
  at: Promoted,
): Generator<Task, RolloutResult, unknown> {
  const { plan, recorder } = run;
  const start = run.now();
  const windowMs = Math.max(0, plan.cleanup.undoWindowMs ?? plan.cleanup.deactivateAfterMs);
  const until = start + windowMs;
  let undo: UndoStatus = {
    state: windowMs > 0 ? 'open' : 'closed',
    until: new Date(until).toISOString(),
    command: rolloutCommand(run, at),
    ...(at.previousImage ? { previousImage: at.previousImage } : {}),
  };
  // Released first, so whoever reads Succeeded may start the next rollout of the app (which closes
  // this window) without being queued behind it or superseding it.
  yield* run.call(
    'finishRollout',
    { rolloutId: run.input.rolloutId, app: run.app, outcome: 'Succeeded' },
    compensationRetry,
  );
  recorder.finish('Succeeded', strategy.summary(at.green));
  recorder.setUndo(undo);
  yield* reportSucceeded(run);
  yield* notify(run, 'succeeded', { durationMs: run.now() - Date.parse(run.input.requestedAt) });

  const end = windowMs > 0 ? yield* undoWindow(run, strategy, at, until) : ({ kind: 'closed' } as const);
  const newer = yield* newerRollout(run);
  if (newer) {
    undo = { ...undo, state: 'closed', closedBecause: `a newer rollout of the app started: ${newer}` };
    recorder.setUndo(undo);
    if (end.kind !== 'closed') {
      const what = end.kind === 'undo' ? `undo by ${end.by}` : `the guard (${end.reason})`;
      recorder.note(`${what} not acted on: rollout ${newer} of this app started since`);
    }
    // The newer rollout owns production now: nothing here touches traffic, flags or revisions again.
    run.saga.commit();
    const leftToDo = yield* strategy.tidy(at.green);
    recorder.setLeftToDo(leftToDo);
    return { outcome: 'Succeeded', green: at.green, ...(leftToDo.length ? { leftToDo } : {}) };
  }

  if (end.kind === 'undo') {
    const reason = end.reason ? `: ${end.reason}` : '';
    recorder.setUndo({ ...undo, state: 'undoing', by: end.by, at: iso(run), ...optReason(end.reason) });
    recorder.enter('Undoing', `undo by ${end.by}${reason}`);
    const leftToDo = yield* run.saga.compensate();
    const why = `undone by ${end.by}${reason}`;
    recorder.setUndo({ ...undo, state: 'undone', by: end.by, at: iso(run), ...optReason(end.reason) });
    if (leftToDo.length > 0) {
      recorder.finish('RollbackFailed', `${why}; the undo could not finish`, leftToDo);
      return { outcome: 'RollbackFailed', reason: why, green: at.green, leftToDo };
    }
    recorder.finish('Undone', why);
    yield* notify(run, 'undone', { by: end.by, ...optReason(end.reason) });
    return { outcome: 'Undone', reason: why, green: at.green };
  }

  if (end.kind === 'guard') {
    recorder.setUndo({ ...undo, state: 'closed', closedBecause: 'the guard flipped back', by: 'guard' });
    return yield* rollBack(run, `post-promotion guard: ${end.reason}`);
  }

  // The window closed: blue leaves production for good, once the cleanup delay has passed too.
  const retireAt = start + Math.max(windowMs, plan.cleanup.deactivateAfterMs);
  if (retireAt > run.now()) yield run.context.df.createTimer(new Date(retireAt));
  yield* strategy.finalise(at.green);
  // The point of no return: green is production, nothing is undone from here on.
  run.saga.commit();
  recorder.setUndo({ ...undo, state: 'closed' });
  const leftToDo = [...(yield* strategy.tidy(at.green)), ...(yield* retireOldRevisions(run, at.green))];
  recorder.note('undo window closed; blue retired');
  recorder.setLeftToDo(leftToDo);
  return { outcome: 'Succeeded', green: at.green, ...(leftToDo.length ? { leftToDo } : {}) };
}

/**
 * Waits until the window closes, an undo (or abort) arrives, or the guard sees production stall. A
 * malformed event is noted and waited past.
 */
function* undoWindow(
  run: RolloutRun,
  strategy: Strategy,
  at: Promoted,
  until: number,
): Generator<Task, WindowEnd, unknown> {
  const { context, recorder } = run;
  let guard = startGuard(run, strategy, at, until);
  // The notice that the window closes soon: a timer of its own, raced with everything else here.
  let warnAt = anyoneWants(run, 'undoWindowClosing')
    ? reminderAt(run.now(), until, run.plan.cleanup.remindBeforeUndoClosesMs)
    : undefined;
  // After promotion an abort means an undo. As in Signals, every wait listens with fresh waiters and every
  // waiter made is read (durable-js hands an event to the newest open waiter of its name).
  const waiting: { name: 'undo' | 'abort'; task: Task }[] = [];
  const listen = (): Task[] =>
    (['undo', 'abort'] as const).map((name) => {
      const task = context.df.waitForExternalEvent(Events[name]);
      waiting.push({ name, task });
      return task;
    });
  /** The first well-formed undo or abort received, in the order they came; malformed ones are noted. */
  const received = (): { by: string; reason?: string } | undefined => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      const { name, task } = waiting[i]!;
      if (!task.isCompleted) continue;
      waiting.splice(i, 1);
      const parsed = parseEvent(name, task.result);
      if (parsed.ok) return parsed.value;
      recorder.note(parsed.problem);
    }
    return undefined;
  };
  for (;;) {
    // An abort raised while the rollout finished its watch landed on a waiter of its own signals.
    const asked = run.signals.aborted() ?? received();
    if (asked) return { kind: 'undo', by: asked.by, ...optReason(asked.reason) };
    // The guard ends by itself when the window closes; without one, a timer does.
    let timer: TimerTask | undefined;
    const closes = guard
      ? guard.task
      : (timer = context.df.createTimer(new Date(Math.max(until, run.now()))));
    const warn = warnAt !== undefined ? context.df.createTimer(new Date(warnAt)) : undefined;
    // The guard (a running child) is waited for again each time round: `anyOf` sends it once.
    const winner = yield anyOf(context, [...listen(), closes, ...(warn ? [warn] : [])]);
    if (warn && !warn.isCompleted) warn.cancel();
    const decided = received();
    if (decided) {
      timer?.cancel();
      return { kind: 'undo', by: decided.by, ...optReason(decided.reason) };
    }
    if (warn && winner === warn) {
      warnAt = undefined;
      if (timer && !timer.isCompleted) timer.cancel();
      yield* notify(run, 'undoWindowClosing', {
        closesAt: new Date(until).toISOString(),
        command: rolloutCommand(run, at),
      });
      continue;
    }
    if (timer && winner === timer) return { kind: 'closed' };
    if (guard && winner === guard.task) {
      const watched: WatchResult | undefined = guard.task.isFaulted ? undefined : guard.result();
      guard = undefined;
      if (watched?.ok) return { kind: 'closed' };
      // Stopped from outside (or failed itself): the window goes on without it.
      if (!watched || /^aborted\b/.test(watched.reason ?? '')) {
        recorder.note('the post-promotion guard stopped before the undo window closed');
        continue;
      }
      return { kind: 'guard', reason: watched.reason ?? 'production stalled' };
    }
    timer?.cancel();
  }
}

/** Flag strategy with the guard on: the watch's checks (lease, heartbeat, progress) until the window closes. */
function startGuard(
  run: RolloutRun,
  strategy: Strategy,
  at: Promoted,
  until: number,
): ChildRun<WatchResult> | undefined {
  const flag = strategy.watchCheck();
  if (!flag?.strategy.guard?.enabled || until <= run.now()) return undefined;
  run.recorder.note('the post-promotion guard watches production until the undo window closes');
  return startChild(
    run.context,
    'watch',
    {
      rolloutId: run.input.rolloutId,
      app: run.app,
      green: at.green,
      blue: at.blue,
      smoke: [],
      gates: [],
      intervalMs: Math.max(run.plan.watch.intervalMs, 1000),
      until,
      iteration: 0,
      flag,
    },
    guardInstanceId(run.input.rolloutId),
  );
}

/** The app's newest rollout when it is not this one. */
function* newerRollout(run: RolloutRun): Generator<Task, string | undefined, unknown> {
  const latest = yield* run.call('latestRollout', run.app);
  return latest.rolloutId && latest.rolloutId !== run.input.rolloutId ? latest.rolloutId : undefined;
}

/** What rolls the previous version out again once undo is no longer possible. */
export function rolloutCommand(run: RolloutRun, at: Promoted): string {
  return `greenlight rollout --app ${run.app.name} --image ${at.previousImage ?? `<the image of ${at.blue}>`}`;
}

/** The image a revision of the snapshot runs, else the app template's. */
export function imageOf(snapshot: AppSnapshot, revision: string): string | undefined {
  return snapshot.revisions.find((r) => r.name === revision)?.image ?? snapshot.image;
}

function iso(run: RolloutRun): string {
  return run.context.df.currentUtcDateTime.toISOString();
}

function optReason(reason: string | undefined): { reason?: string } {
  return reason ? { reason } : {};
}
