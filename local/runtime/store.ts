import type { Redis } from 'ioredis';
import type { HistoryEvent } from './history';

export type RuntimeStatus =
  'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated' | 'Suspended';

export const terminalStatuses: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

/** Work handed out for one open task of an orchestration, so a restarted runtime can hand it out again. */
export type Dispatch =
  | { kind: 'activity'; name: string; input: unknown }
  | { kind: 'timer'; fireAt: number }
  | { kind: 'sub'; name: string; childId: string; input: unknown };

export interface InstanceState {
  instanceId: string;
  name: string;
  /** Changes on continue-as-new, so late completions of the previous execution are dropped. */
  executionId: string;
  input: unknown;
  runtimeStatus: RuntimeStatus;
  createdTime: string;
  lastUpdatedTime: string;
  customStatus: unknown;
  output: unknown;
  parent?: { instanceId: string; taskId: number; executionId: string };
  /** Events already replayed. */
  history: HistoryEvent[];
  /** New events waiting for the next replay. */
  inbox: HistoryEvent[];
  dispatched: Record<string, Dispatch>;
  /** Actions the orchestrator produced so far (`Type:name`), checked on every replay for determinism. */
  actionLog: string[];
  /** How many replays this execution took (status and benchmarks). */
  replays: number;
}

/**
 * Orchestration state in Redis: one JSON document per instance, an index by creation time and the set
 * of instances not yet finished (what a restarted runtime resumes).
 */
export class InstanceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}i:${id}`;
  }

  async save(state: InstanceState): Promise<void> {
    const m = this.redis.multi();
    m.set(this.key(state.instanceId), JSON.stringify(state));
    m.zadd(`${this.prefix}idx`, Date.parse(state.createdTime), state.instanceId);
    if (terminalStatuses.has(state.runtimeStatus)) m.srem(`${this.prefix}active`, state.instanceId);
    else m.sadd(`${this.prefix}active`, state.instanceId);
    await m.exec();
  }

  async load(id: string): Promise<InstanceState | undefined> {
    const text = await this.redis.get(this.key(id));
    return text ? (JSON.parse(text) as InstanceState) : undefined;
  }

  async loadMany(ids: string[]): Promise<InstanceState[]> {
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.key(id)));
    return texts.filter((t): t is string => t !== null).map((t) => JSON.parse(t) as InstanceState);
  }

  async activeIds(): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}active`);
  }

  /** Instance ids, oldest first. */
  async allIds(): Promise<string[]> {
    return this.redis.zrange(`${this.prefix}idx`, 0, -1);
  }

  async delete(id: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.key(id))
      .zrem(`${this.prefix}idx`, id)
      .srem(`${this.prefix}active`, id)
      .exec();
  }
}
