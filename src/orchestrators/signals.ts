import type { OrchestrationContext, Task } from 'durable-functions';
import type { ApprovalDecision, ControlRequest } from '../domain/rollout/types';
import { Events } from '../names';
import { StopRollout } from './stop';

/**
 * Operator signals. Each waiter is created once and reused: durable-js hands a raised event to the most
 * recently tracked waiter of that name, so fresh waiters per wait would let stale ones swallow events.
 */
export class Signals {
  private abortTask?: Task;
  private promoteTask?: Task;
  private approvalTask?: Task;
  promoted?: ControlRequest;

  constructor(private readonly context: OrchestrationContext) {}

  get abort(): Task {
    return (this.abortTask ??= this.context.df.waitForExternalEvent(Events.abort));
  }
  get promote(): Task {
    return (this.promoteTask ??= this.context.df.waitForExternalEvent(Events.promote));
  }
  get approval(): Task {
    return (this.approvalTask ??= this.context.df.waitForExternalEvent(Events.approval));
  }

  /** Throws StopRollout when an abort has been raised. */
  throwIfAborted(): void {
    if (this.abortTask?.isCompleted) {
      const req = this.abortTask.result as ControlRequest | undefined;
      throw new StopRollout(`aborted by ${req?.by ?? 'an operator'}${req?.reason ? `: ${req.reason}` : ''}`);
    }
  }

  notePromote(): void {
    if (!this.promoted && this.promoteTask?.isCompleted)
      this.promoted = this.promoteTask.result as ControlRequest;
  }

  get decision(): ApprovalDecision {
    return this.approval.result as ApprovalDecision;
  }

  /** Who skipped the wait with a promote. */
  get promotedBy(): string {
    return this.promoted?.by ?? 'an operator';
  }

  /**
   * Waits `ms` on a durable timer, unless an abort (throws), a promote (skips) or, when asked, an
   * approval decision arrives first.
   */
  *wait(
    ms: number,
    opts: { promotable: boolean; approval?: boolean },
  ): Generator<Task, WaitOutcome, unknown> {
    const { context } = this;
    this.throwIfAborted();
    this.notePromote();
    if (opts.promotable && this.promoted) return { kind: 'promoted' };
    if (opts.approval && this.approval.isCompleted) return { kind: 'approval', decision: this.decision };
    if (ms <= 0 && !opts.approval) return { kind: 'elapsed' };
    const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + ms));
    const tasks: Task[] = [timer, this.abort];
    if (opts.promotable) tasks.push(this.promote);
    if (opts.approval) tasks.push(this.approval);
    const winner = yield context.df.Task.any(tasks);
    if (winner !== timer) timer.cancel();
    this.throwIfAborted();
    this.notePromote();
    if (winner === this.promote && opts.promotable) return { kind: 'promoted' };
    if (opts.approval && winner === this.approval) return { kind: 'approval', decision: this.decision };
    return { kind: 'elapsed' };
  }
}

export type WaitOutcome =
  { kind: 'elapsed' } | { kind: 'promoted' } | { kind: 'approval'; decision: ApprovalDecision };
