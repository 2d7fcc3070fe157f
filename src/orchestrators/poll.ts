import type { OrchestrationContext, Task } from 'durable-functions';
import { nextPollDelay } from '../domain/rollout/readiness';
import { StopRollout } from './stop';

/** One look at something the rollout waits for. */
export type Poll<T> =
  { state: 'done'; value: T } | { state: 'failed'; message: string } | { state: 'pending'; message: string };

export interface PollOptions<T> {
  timeoutMs: number;
  /** First delay between looks; it backs off from there (see `nextPollDelay`). */
  intervalMs: number;
  look(): Generator<Task, Poll<T>, unknown>;
  /** Waits between looks: a durable timer, abortable or not as the caller decides. */
  pause(ms: number): Generator<Task, unknown, unknown>;
  /** The reason a look that failed stops the rollout with. */
  failed(message: string): string;
  /** The reason running out of time stops the rollout with, from the last look. */
  timedOut(message: string): string;
}

/**
 * Looks until done, failed or out of time; throws StopRollout for the last two. The delay backs off and
 * never runs past the deadline, so the last look is at the deadline.
 */
export function* pollUntil<T>(context: OrchestrationContext, o: PollOptions<T>): Generator<Task, T, unknown> {
  const deadline = context.df.currentUtcDateTime.getTime() + o.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const poll = yield* o.look();
    if (poll.state === 'done') return poll.value;
    if (poll.state === 'failed') throw new StopRollout(o.failed(poll.message));
    const now = context.df.currentUtcDateTime.getTime();
    if (now >= deadline) throw new StopRollout(o.timedOut(poll.message));
    yield* o.pause(Math.min(nextPollDelay(o.intervalMs, attempt), deadline - now));
  }
}
