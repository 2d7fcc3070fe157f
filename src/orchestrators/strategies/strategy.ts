import type { Task } from 'durable-functions';
import type { WatchInput } from '../../activities/contract';
import type { AppSnapshot, RevisionInfo } from '../../domain/ports';
import type { Undo } from '../saga';

/** A strategy's step: a piece of orchestration that yields durable tasks and returns a value. */
export type Step<T = void> = Generator<Task, T, unknown>;

/**
 * What differs between moving production by traffic weight and by runtime flag. The rollout calls these
 * in order (snapshot, deploy, validate, promote, finalise, tidy); everything else is shared.
 */
export interface Strategy {
  /** Reads the rollback point; returns blue, the revision production runs on now. Stops when there is none. */
  snapshot(app: AppSnapshot): Step<string>;
  /** Adds the undos it will need, then deploys green where production cannot reach it; returns green. */
  deploy(blue: string): Step<string>;
  /** What this strategy checks on green before the shared smoke checks and gates. */
  validate(green: string): Step;
  /** Moves production to green. */
  promote(green: string, blue: string, revision: RevisionInfo): Step;
  /** What the watch checks beyond health, smoke checks and gates (flag: green keeps the lease). */
  watchCheck(): WatchInput['flag'];
  /** After the cleanup delay: blue leaves production for good. */
  finalise(green: string): Step;
  /** Tidy-up after the point of no return; returns what is left to do by hand. */
  tidy(green: string): Step<string[]>;
  /** The undo that puts production back exactly as the snapshot found it. */
  restore(): Undo;
  /** The status line of a rollout that succeeded. */
  summary(green: string): string;
}

/** A step with nothing to wait for. */
// eslint-disable-next-line require-yield
export function* immediately<T>(value: T): Step<T> {
  return value;
}
