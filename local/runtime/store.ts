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

/** What a listing shows of an instance: its status without the history it took to get there. */
export type InstanceSummary = Omit<InstanceState, 'history' | 'inbox' | 'dispatched' | 'actionLog'>;

/** Where the engine keeps instance state: Redis in the runtime, memory in scenario tests. */
export interface InstanceStorage {
  save(state: InstanceState): Promise<void>;
  load(id: string): Promise<InstanceState | undefined>;
  loadMany(ids: string[]): Promise<InstanceState[]>;
  loadSummaries(ids: string[]): Promise<InstanceSummary[]>;
  activeIds(): Promise<string[]>;
  allIds(): Promise<string[]>;
  delete(id: string): Promise<void>;
}

export function summaryOf(s: InstanceState): InstanceSummary {
  const { history: _h, inbox: _i, dispatched: _d, actionLog: _a, ...summary } = s;
  return summary;
}

/**
 * Orchestration state in Redis: one JSON document per instance, a small summary of it for listings,
 * an index by creation time and the set of instances not yet finished (what a restarted runtime resumes).
 */
export class InstanceStore implements InstanceStorage {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}i:${id}`;
  }

  private summaryKey(id: string): string {
    return `${this.prefix}s:${id}`;
  }

  async save(state: InstanceState): Promise<void> {
    const m = this.redis.multi();
    m.set(this.key(state.instanceId), JSON.stringify(state));
    m.set(this.summaryKey(state.instanceId), JSON.stringify(summaryOf(state)));
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

  /** Summaries for a listing: one small document each instead of whole histories. */
  async loadSummaries(ids: string[]): Promise<InstanceSummary[]> {
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.summaryKey(id)));
    // State written before summaries existed has none: read the whole document once.
    const missing = ids.filter((_, i) => texts[i] === null);
    const full = new Map((await this.loadMany(missing)).map((s) => [s.instanceId, summaryOf(s)]));
    return ids
      .map((id, i) => (texts[i] ? (JSON.parse(texts[i]) as InstanceSummary) : full.get(id)))
      .filter((s): s is InstanceSummary => s !== undefined);
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
      .del(this.key(id), this.summaryKey(id))
      .zrem(`${this.prefix}idx`, id)
      .srem(`${this.prefix}active`, id)
      .exec();
  }
}
