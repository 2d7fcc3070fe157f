import { isStaleEpoch } from '../domain/flag/errors';
import type { WorkloadAgent } from './agent';

export interface SequencedAppenderOptions {
  /** Records kept for a takeover; default 100 000. Must cover the frames that arrive during a flip. */
  capacity?: number;
  /** Pause after a failed write (e.g. Redis away) before trying again; default 200 ms. */
  retryDelayMs?: number;
  /**
   * The ids pushed are the source's (default true): the newest is published as the app's source
   * position (`agent.noteSourcePosition`). Set false for an appender fed by anything else.
   */
  sourceIds?: boolean;
}

/**
 * The receiver side of exactly-once: every replica of every revision buffers each numbered record it
 * receives, in every mode; whichever one holds the lease writes them in order from the log's checkpoint
 * + 1. The write script refuses duplicates and holes, so after a flip the new writer continues exactly
 * where the fenced-out one stopped, out of its own buffer.
 *
 * Ids missing from the writer's buffer (lost on its connection, or let go by while it was stuck) are
 * skipped only when no live receiver of a standby revision holds them. In production, while one does,
 * the writer waits at the hole: production is delayed, its checkpoint stops, the watch sees the stall
 * and flips production to that revision, which writes them. Skipping would move the checkpoint past
 * frames that revision still holds, and the one that takes over continues after them: lost. In mock
 * mode it skips at once, so the holes show in the output validation reads.
 */
export class SequencedAppender {
  private readonly buffer = new Map<number, Record<string, string>>();
  private newest = -Infinity;
  /** Oldest id from which the buffer holds every id up to `newest` (reported for takeovers). */
  private contiguousFrom = -Infinity;
  /** Next id to write in the current mode, or undefined to ask the checkpoint. */
  private next: number | undefined;
  /** Bumped whenever mode or processing changes: a write begun before then decides nothing after. */
  private generation = 0;
  private pumping = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly capacity: number;
  private readonly retryDelayMs: number;
  private readonly sourceIds: boolean;
  /** How often a writer waiting at a hole looks again whether anyone else still holds it. */
  private readonly holdPollMs: number;
  /** The hole it waits at, and until when before looking again. */
  private holding: { id: number; until: number } | undefined;
  private readonly onChange = (): void => {
    this.generation += 1;
    this.next = undefined;
    this.holding = undefined;
    this.agent.noteWaiting(undefined);
    this.kick();
  };

  constructor(
    private readonly agent: WorkloadAgent,
    readonly log: string,
    options: SequencedAppenderOptions = {},
  ) {
    this.capacity = options.capacity ?? 100_000;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.sourceIds = options.sourceIds ?? true;
    this.holdPollMs = Math.max(this.retryDelayMs, 250);
    agent.on('mode', this.onChange);
    agent.on('processing', this.onChange);
  }

  /** Buffers a record (ids must increase) and writes what it can if processing. */
  push(id: number, fields: Record<string, string>): void {
    if (this.closed || id <= this.newest) return;
    this.buffer.set(id, fields);
    if (id !== this.newest + 1) this.contiguousFrom = id;
    this.newest = id;
    if (this.sourceIds) this.agent.noteSourcePosition(id);
    if (this.buffer.size > this.capacity) {
      const oldest = this.buffer.keys().next();
      if (!oldest.done) this.buffer.delete(oldest.value);
    }
    const first = this.oldest();
    if (first !== undefined && first > this.contiguousFrom) this.contiguousFrom = first;
    this.agent.noteBuffered(this.log, { from: this.contiguousFrom, to: this.newest });
    this.kick();
  }

  get buffered(): number {
    return this.buffer.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.agent.noteBuffered(this.log, undefined);
    this.agent.noteWaiting(undefined);
    this.agent.off('mode', this.onChange);
    this.agent.off('processing', this.onChange);
  }

  private kick(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async pump(): Promise<void> {
    while (!this.closed && this.agent.processing) {
      const generation = this.generation;
      try {
        if (this.next === undefined) {
          const checkpoint = await this.agent.checkpoint(this.log);
          if (generation !== this.generation) continue;
          this.next = checkpoint === undefined ? this.oldest() : checkpoint + 1;
          if (this.next === undefined) return;
        }
        const next = this.next;
        if (next > this.newest) return; // caught up
        let id = next;
        let fields = this.buffer.get(id);
        if (!fields) {
          // The ids from `next` never reached this replica (before its buffer, or lost on the way).
          id = this.firstAfter(next);
          fields = this.buffer.get(id);
          if (!fields) return;
          // Looked at most once per holdPollMs, not at every frame pushed meanwhile.
          if (this.holding?.id === next && Date.now() < this.holding.until) {
            this.retryLater(this.holding.until - Date.now());
            return;
          }
          // Set before asking, so a failed lookup (Redis timing out) is throttled too.
          this.holding = { id: next, until: Date.now() + this.holdPollMs };
          if (this.agent.mode === 'prod' && (await this.agent.otherRevisionHolds(this.log, next))) {
            // A standby revision can write them once production is handed to it: wait, never skip.
            this.agent.noteWaiting({ log: this.log, id: next });
            this.retryLater(this.holdPollMs);
            return;
          }
          if (generation !== this.generation) continue;
          // Nobody else holds them: continue with the first one it has, counted as a gap.
        }
        this.holding = undefined;
        this.agent.noteWaiting(undefined);
        const result = await this.agent.append(this.log, id, fields, { allowGap: id !== next });
        if (generation !== this.generation) continue;
        this.next = result.status === 'written' ? id + 1 : result.checkpoint + 1;
      } catch (e) {
        this.next = undefined;
        // A stale writer waits for the agent's next processing change; anything else retries shortly.
        if (!isStaleEpoch(e)) this.retryLater();
        return;
      }
    }
  }

  private retryLater(ms = this.retryDelayMs): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, ms);
    this.retryTimer.unref();
  }

  private oldest(): number | undefined {
    const first = this.buffer.keys().next();
    return first.done ? undefined : first.value;
  }

  private firstAfter(id: number): number {
    for (const key of this.buffer.keys()) if (key > id) return key;
    return Infinity;
  }
}
