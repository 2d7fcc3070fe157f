import type { OrchestrationContext, Task } from 'durable-functions';
import { parseEvent, type EventName, type EventPayloads } from '../domain/events';
import type { ApprovalDecision } from '../domain/rollout/types';
import { Events } from '../names';
import { StopRollout } from './stop';

/** Called with each malformed event: it is recorded, never acted on. */
export type OnIgnoredEvent = (name: EventName, problem: string) => void;

/**
 * Operator signals (abort, promote, approval), read with the schemas the HTTP routes raise them with.
 *
 * durable-js hands a raised event to the most recently tracked open waiter of its name, or keeps it until
 * one is tracked. So each name has one waiter, reused until it completes: a well-formed payload is kept as
 * the signal; a malformed one is reported and its waiter replaced by a fresh one, which is then the latest
 * tracked and receives the next event of that name. The rollout keeps waiting as if nothing came. A kept
 * payload is copied out at once and never read from its task again: a waiter tracked by several waits is
 * listed several times, so a later event may land on it.
 */
export class Signals {
  private readonly waiters: Partial<Record<EventName, Task>> = {};
  private readonly received: { [N in EventName]?: EventPayloads[N] } = {};

  constructor(
    private readonly context: OrchestrationContext,
    private readonly onIgnored: OnIgnoredEvent = () => undefined,
  ) {}

  /** The abort waiter, for a wait of one's own; call `throwIfAborted` when anything wins. */
  get abort(): Task {
    return this.waiter('abort');
  }

  /** Throws StopRollout when a well-formed abort has been raised. */
  throwIfAborted(): void {
    this.settle();
    const req = this.received.abort;
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
      const tasks: Task[] = [timer, this.waiter('abort')];
      if (opts.promotable) tasks.push(this.waiter('promote'));
      if (opts.approval) tasks.push(this.waiter('approval'));
      const winner = yield context.df.Task.any(tasks);
      if (winner === timer) {
        this.throwIfAborted();
        return { kind: 'elapsed' };
      }
      timer.cancel();
    }
  }

  /**
   * Waits for `task` (a child instance, all gate runs) unless a well-formed abort arrives first (throws).
   * After a malformed abort it waits again for the same task with a fresh abort waiter.
   */
  *unlessAborted(task: Task): Generator<Task, void, unknown> {
    for (;;) {
      this.throwIfAborted();
      if (task.isCompleted || task.isFaulted) return;
      yield this.context.df.Task.any([task, this.waiter('abort')]);
    }
  }

  /** The open waiter of `name`: made when first needed, and again after a malformed event. */
  private waiter(name: EventName): Task {
    return (this.waiters[name] ??= this.context.df.waitForExternalEvent(Events[name]));
  }

  /** Reads every waiter that completed since the last look: keeps what parses, reports and replaces the rest. */
  private settle(): void {
    for (const name of Object.keys(this.waiters) as EventName[]) {
      const task = this.waiters[name];
      if (!task?.isCompleted || this.received[name]) continue;
      const parsed = parseEvent(name, task.result);
      if (parsed.ok) {
        (this.received as Record<EventName, unknown>)[name] = parsed.value;
      } else {
        delete this.waiters[name];
        this.onIgnored(name, parsed.problem);
      }
    }
  }

  private now(): number {
    return this.context.df.currentUtcDateTime.getTime();
  }
}

function toDecision(e: EventPayloads['approval']): ApprovalDecision {
  return {
    decision: e.decision,
    approver: e.approver,
    decidedAt: e.decidedAt,
    ...(e.comment !== undefined ? { comment: e.comment } : {}),
  };
}

export type WaitOutcome =
  { kind: 'elapsed' } | { kind: 'promoted' } | { kind: 'approval'; decision: ApprovalDecision };
