import type { OrchestrationContext, Task } from 'durable-functions';
import { parseEvent, type EventName, type EventPayloads } from '../domain/events';
import type { ApprovalDecision } from '../domain/rollout/types';
import { Events } from '../names';
import { StopRollout } from './stop';
import { anyOf } from './anyOf';

/** Called with each malformed event: it is recorded, never acted on. */
export type OnIgnoredEvent = (name: EventName, problem: string) => void;

const names: readonly EventName[] = ['abort', 'promote', 'approval'];

/**
 * Operator signals (abort, promote, approval), read with the schemas the HTTP routes raise them with: the
 * first well-formed one of each name counts, a malformed one is reported and otherwise changes nothing.
 *
 * durable-js hands a raised event to the most recently tracked open waiter of its name (a waiter is
 * tracked again each time it is yielded, and a second event on the same waiter overwrites the first), or
 * keeps it until one is tracked. So every wait listens with fresh waiters for all three names, and every
 * waiter made is read: events that land on older, still open waiters (several raised while the rollout
 * was busy) are read too, newest waiter first, which is the order they were raised in.
 */
export class Signals {
  private readonly waiters: { name: EventName; task: Task }[] = [];
  private readonly received: { [N in EventName]?: EventPayloads[N] } = {};

  constructor(
    private readonly context: OrchestrationContext,
    private readonly onIgnored: OnIgnoredEvent = () => undefined,
  ) {}

  /** All signals, for a wait of one's own (`Task.any([work, signals.abort])`); call `throwIfAborted` after. */
  get abort(): Task {
    return this.context.df.Task.any(this.listening());
  }

  /** The well-formed abort raised so far, if any (malformed ones are recorded and ignored). */
  aborted(): EventPayloads['abort'] | undefined {
    this.settle();
    return this.received.abort;
  }

  /** Throws StopRollout when a well-formed abort has been raised. */
  throwIfAborted(): void {
    const req = this.aborted();
    if (req) throw new StopRollout(`aborted by ${req.by}${req.reason ? `: ${req.reason}` : ''}`);
  }

  /** Who skipped a wait with a promote. */
  get promotedBy(): string {
    return this.received.promote?.by ?? 'an operator';
  }

  /**
   * Waits `ms` on a durable timer, unless an abort (throws), a promote (skips) or, when asked, an
   * approval decision arrives first. A malformed event changes nothing: the wait goes on to the same end.
   */
  *wait(
    ms: number,
    opts: { promotable: boolean; approval?: boolean },
  ): Generator<Task, WaitOutcome, unknown> {
    const { context } = this;
    const until = this.now() + Math.max(ms, 0);
    for (;;) {
      this.throwIfAborted();
      if (opts.promotable && this.received.promote) return { kind: 'promoted' };
      const decision = opts.approval ? this.received.approval : undefined;
      if (decision) return { kind: 'approval', decision: toDecision(decision) };
      if (ms <= 0 && !opts.approval) return { kind: 'elapsed' };
      // A fresh timer to the same end each time round: a timer is never yielded twice.
      const timer = context.df.createTimer(new Date(until));
      const winner = yield context.df.Task.any([timer, ...this.listening()]);
      if (winner === timer) {
        this.throwIfAborted();
        return { kind: 'elapsed' };
      }
      timer.cancel();
    }
  }

  /**
   * Waits for `task` (a child instance) unless a well-formed abort arrives first (throws). After any other
   * event it waits again for the same task.
   */
  *unlessAborted(task: Task): Generator<Task, void, unknown> {
    for (;;) {
      this.throwIfAborted();
      if (task.isCompleted || task.isFaulted) return;
      // After an event the same running task is waited for again: `anyOf` does not schedule it twice.
      yield anyOf(this.context, [task, ...this.listening()]);
    }
  }

  /** Fresh waiters for every signal, whatever this wait acts on: what comes is read (and recorded) at once. */
  private listening(): Task[] {
    return names.map((name) => {
      const task = this.context.df.waitForExternalEvent(Events[name]);
      this.waiters.push({ name, task });
      return task;
    });
  }

  /** Reads the waiters that received an event since the last look, in the order the events came. */
  private settle(): void {
    const done: { name: EventName; task: Task }[] = [];
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (!w.task.isCompleted) continue;
      done.push(w);
      this.waiters.splice(i, 1);
    }
    for (const { name, task } of done) {
      const parsed = parseEvent(name, task.result);
      if (!parsed.ok) this.onIgnored(name, parsed.problem);
      else (this.received as Record<EventName, unknown>)[name] ??= parsed.value;
    }
  }

  private now(): number {
    return this.context.df.currentUtcDateTime.getTime();
  }
}

/** A well-formed approval event as the decision the status and audit record. */
export function toDecision(e: EventPayloads['approval']): ApprovalDecision {
  return {
    decision: e.decision,
    approver: e.approver,
    decidedAt: e.decidedAt,
    ...(e.comment !== undefined ? { comment: e.comment } : {}),
  };
}

export type WaitOutcome =
  { kind: 'elapsed' } | { kind: 'promoted' } | { kind: 'approval'; decision: ApprovalDecision };
