import type { OrchestrationContext, Task } from 'durable-functions';
import type { ParsedRelease } from '../../domain/release/events';

/** Payloads kept unread at most: a flood of events cannot grow the orchestration's state without bound. */
const maxQueued = 50;

/**
 * One external event name, read as `Signals` reads operator signals: durable-js hands a raised event to
 * the most recently tracked open waiter of its name (or keeps it until one is tracked), so every wait
 * listens with a fresh waiter and every waiter made is read, newest first (the order the events came).
 * Well-formed payloads queue up until taken; malformed ones are handed to `onIgnored` and dropped.
 */
export class EventInbox<T> {
  private readonly waiters: Task[] = [];
  private readonly queue: T[] = [];

  constructor(
    private readonly context: OrchestrationContext,
    private readonly name: string,
    private readonly parse: (payload: unknown) => ParsedRelease<T>,
    private readonly onIgnored: (problem: string) => void,
  ) {}

  /** A fresh waiter, for a `Task.any` of one's own; call `take` after. */
  listen(): Task {
    const task = this.context.df.waitForExternalEvent(this.name);
    this.waiters.push(task);
    return task;
  }

  /** The first queued payload `accept` takes, removed from the queue. */
  take(accept: (value: T) => boolean = () => true): T | undefined {
    this.settle();
    const i = this.queue.findIndex(accept);
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  private settle(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const task = this.waiters[i]!;
      if (!task.isCompleted) continue;
      this.waiters.splice(i, 1);
      const parsed = this.parse(task.result);
      if (!parsed.ok) this.onIgnored(parsed.problem);
      else if (this.queue.length < maxQueued) this.queue.push(parsed.value);
      else this.onIgnored(`'${this.name}' event dropped: ${maxQueued} are already waiting to be read`);
    }
  }
}
