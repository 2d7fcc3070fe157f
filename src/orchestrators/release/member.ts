import type { Task } from 'durable-functions';
import { parseReleaseCommand } from '../../domain/release/events';
import type { MemberReport, ReleaseCommand } from '../../domain/release/types';
import type { RolloutResult } from '../../domain/rollout/types';
import { Events } from '../../names';
import { compensationRetry, stepRetry } from '../retry';
import type { RolloutRun } from '../run';
import { EventInbox } from './inbox';

/**
 * Member mode: the rollout as one member of a coordinated release (`input.release` set). It validates on
 * its own, then reports to the release and waits for its commands: `promote` (sequence: all steps on its
 * own) or `step` 0 (lockstep: each further step only on `step` i), and after its watch `finish`. Every wait
 * here also ends on an abort, which rolls the member back through its own saga like any rollout.
 */
interface MemberState {
  commands: EventInbox<ReleaseCommand>;
  /** Lockstep: each traffic step waits for the release's `step` command. */
  lockstep: boolean;
  /** The release let it take production (restored first, in reverse promotion order). */
  promoted: boolean;
}

type Report = MemberReport extends infer R
  ? R extends unknown
    ? Omit<R, 'app' | 'rolloutId'>
    : never
  : never;

const states = new WeakMap<RolloutRun, MemberState>();

function stateOf(run: RolloutRun): MemberState | undefined {
  if (!run.input.release) return undefined;
  let state = states.get(run);
  if (!state) {
    const commands = new EventInbox(run.context, Events.releaseCommand, parseReleaseCommand, (problem) =>
      run.recorder.eventIgnored(Events.releaseCommand, problem),
    );
    states.set(run, (state = { commands, lockstep: false, promoted: false }));
  }
  return state;
}

export function isMember(run: RolloutRun): boolean {
  return run.input.release !== undefined;
}

/** Tells the release how far this member is. A release that has ended is not waited for. */
function* report(run: RolloutRun, r: Report, retry = stepRetry): Generator<Task, void, unknown> {
  const membership = run.input.release!;
  const full: MemberReport = { ...r, app: membership.app, rolloutId: run.input.rolloutId };
  const sent = yield* run.call(
    'reportToRelease',
    { parentInstanceId: membership.parentInstanceId, report: full },
    retry,
  );
  if (!sent.raised) run.recorder.note(`release ${membership.releaseId} has ended; ${r.kind} not reported`);
}

/** The next command `accept` takes; an abort first stops the rollout (StopRollout). */
function* nextCommand(
  run: RolloutRun,
  state: MemberState,
  accept: (c: ReleaseCommand) => boolean,
): Generator<Task, ReleaseCommand, unknown> {
  for (;;) {
    run.signals.throwIfAborted();
    const command = state.commands.take(accept);
    if (command) return command;
    yield run.context.df.Task.any([state.commands.listen(), run.signals.abort]);
  }
}

/**
 * Instead of the member's own approval and bake: reports `validated`, then waits for the release's
 * approval to come as a `promote` or `step` 0 command. A gate that wanted a person is left to the
 * release's approval (noted).
 */
export function* awaitRelease(
  run: RolloutRun,
  green: string,
  approvalNeeded: string[],
): Generator<Task, void, unknown> {
  const state = stateOf(run)!;
  const { releaseId } = run.input.release!;
  if (approvalNeeded.length > 0) {
    run.recorder.note(
      `approval needed: ${approvalNeeded.join('; ')}; release ${releaseId}'s approval decides`,
    );
  }
  const needed = approvalNeeded.slice(0, 20).map((a) => a.slice(0, 2000));
  yield* report(run, { kind: 'validated', green, ...(needed.length ? { approvalNeeded: needed } : {}) });
  run.recorder.note(`validated; waiting for release ${releaseId} to promote`);
  const command = yield* nextCommand(
    run,
    state,
    (c) => c.action === 'promote' || (c.action === 'step' && c.step === 0),
  );
  state.lockstep = command.action === 'step';
  state.promoted = true;
  run.recorder.note(`release ${releaseId}: ${state.lockstep ? 'step 1 (lockstep)' : 'promote'}`);
}

/** Lockstep, before traffic step `index` (0-based): reports the step before done and waits for this one. */
export function* stepGate(run: RolloutRun, index: number): Generator<Task, void, unknown> {
  const state = stateOf(run);
  if (!state?.lockstep || index === 0) return;
  yield* report(run, { kind: 'stepDone', step: index - 1 });
  yield* nextCommand(run, state, (c) => c.action === 'step' && c.step === index);
}

/** After the member's promotion: its last step done (lockstep), and promoted. */
export function* reportPromoted(run: RolloutRun): Generator<Task, void, unknown> {
  const state = stateOf(run);
  if (!state) return;
  if (state.lockstep) {
    const { strategy } = run.plan;
    const last = strategy.type === 'traffic' ? Math.max(strategy.steps.length - 1, 0) : 0;
    yield* report(run, { kind: 'stepDone', step: last });
  }
  yield* report(run, { kind: 'promoted' });
}

/** After the member's watch: reports `watched` and waits for the release's `finish`. */
export function* awaitFinish(run: RolloutRun): Generator<Task, void, unknown> {
  const state = stateOf(run);
  if (!state) return;
  yield* report(run, { kind: 'watched' });
  yield* nextCommand(run, state, (c) => c.action === 'finish');
}

/** The member entered Succeeded: its undo window is open. */
export function* reportSucceeded(run: RolloutRun): Generator<Task, void, unknown> {
  if (!isMember(run)) return;
  yield* report(run, { kind: 'succeeded' });
}

/** The member's last word to its release: how it ended, and what is left to do by hand. */
export function* reportFinished(run: RolloutRun, result: RolloutResult): Generator<Task, void, unknown> {
  const state = stateOf(run);
  if (!state) return;
  try {
    yield* report(
      run,
      {
        kind: 'finished',
        outcome: result.outcome,
        ...(result.reason ? { reason: result.reason.slice(0, 2000) } : {}),
        ...(result.leftToDo?.length
          ? { leftToDo: result.leftToDo.slice(0, 50).map((l) => l.slice(0, 2000)) }
          : {}),
        promoted: state.promoted,
      },
      compensationRetry,
    );
  } catch (e) {
    run.recorder.note(
      `could not report to release ${run.input.release!.releaseId}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
