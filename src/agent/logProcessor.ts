import { isStaleEpoch } from '../domain/flag/errors';
import type { WorkloadAgent } from './agent';

export interface LogProcessorOptions {
  /** Log to consume (what the receiver appends), e.g. `stream`. */
  from: string;
  /** Log to write, e.g. `sink`. */
  to: string;
  /** Consumer group on `from`; Greenlight watches its lag in mock mode (the policy's `consumerGroup`). */
  group: string;
  /** Field carrying each record's increasing id; default `frameId`. */
  idField?: string;
  /** Output record for an input record; `undefined` skips it (acknowledged and counted as an error). */
  transform?: (fields: Record<string, string>) => Record<string, string> | undefined;
  /** Entries per read; default 100. */
  batch?: number;
  /** Wait when nothing is new; default 25 ms. */
  idleMs?: number;
  /** Wait after a failed read or write (e.g. Redis away); default 200 ms. */
  retryDelayMs?: number;
}

/**
 * The processor side of exactly-once: reads `from` through a consumer group and writes each record to
 * `to` with the same id, acknowledging the input in the same fenced step. Reads are fenced too, so a
 * demoted revision cannot take entries after the flip, and the new active one first takes over any
 * entries the old one read but never acknowledged. A record already in `to` is acknowledged, not
 * written twice.
 */
export class LogProcessor {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly onProcessing = (processing: boolean): void => {
    if (processing) this.wake?.();
  };
  processed = 0;

  constructor(
    private readonly agent: WorkloadAgent,
    private readonly options: LogProcessorOptions,
  ) {}

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.agent.on('processing', this.onProcessing);
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.agent.off('processing', this.onProcessing);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { from, to, group, batch = 100, idleMs = 25, retryDelayMs = 200 } = this.options;
    const idField = this.options.idField ?? 'frameId';
    const transform = this.options.transform ?? ((fields: Record<string, string>) => fields);
    while (!this.stopped) {
      if (!this.agent.processing) {
        await this.pause(retryDelayMs * 5);
        continue;
      }
      try {
        const entries = await this.agent.read(from, group, batch);
        if (entries.length === 0) {
          await this.pause(idleMs);
          continue;
        }
        for (const entry of entries) {
          if (this.stopped) break;
          const id = Number(entry.fields[idField]);
          // A record the transform cannot handle is counted and skipped: left pending, it would be
          // claimed back first on every read and stall the log.
          let out: Record<string, string> | undefined;
          try {
            out = Number.isSafeInteger(id) ? transform(entry.fields) : undefined;
          } catch {
            out = undefined;
          }
          if (!out) {
            this.agent.countError();
            await this.agent.ack(from, group, [entry.entryId]);
            continue;
          }
          await this.agent.append(to, id, out, {
            allowGap: true,
            ack: { log: from, group, entryId: entry.entryId },
          });
          this.processed += 1;
        }
      } catch (e) {
        // Fenced out: wait for the agent to process again. Anything else: try again shortly.
        await this.pause(isStaleEpoch(e) ? retryDelayMs * 5 : retryDelayMs);
      }
    }
  }

  /** Sleeps up to `ms`, or until the agent starts processing or the processor stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
