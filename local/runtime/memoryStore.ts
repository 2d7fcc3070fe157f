import {
  summaryOf,
  terminalStatuses,
  type InstanceState,
  type InstanceStorage,
  type InstanceSummary,
} from './store';

/**
 * Instance state in memory, for scenario tests that drive orchestrators without Redis. Every document is
 * kept as JSON text, as Redis keeps it, so a replay sees exactly what a restarted runtime would read.
 */
export class MemoryInstanceStore implements InstanceStorage {
  private readonly docs = new Map<string, string>();
  private readonly order: string[] = [];

  async save(state: InstanceState): Promise<void> {
    if (!this.docs.has(state.instanceId)) this.order.push(state.instanceId);
    this.docs.set(state.instanceId, JSON.stringify(state));
  }

  async load(id: string): Promise<InstanceState | undefined> {
    const text = this.docs.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as InstanceState);
  }

  async loadMany(ids: string[]): Promise<InstanceState[]> {
    const states = await Promise.all(ids.map((id) => this.load(id)));
    return states.filter((s): s is InstanceState => s !== undefined);
  }

  async loadSummaries(ids: string[]): Promise<InstanceSummary[]> {
    return (await this.loadMany(ids)).map(summaryOf);
  }

  async activeIds(): Promise<string[]> {
    return (await this.loadMany(this.order))
      .filter((s) => !terminalStatuses.has(s.runtimeStatus))
      .map((s) => s.instanceId);
  }

  async allIds(): Promise<string[]> {
    return [...this.order];
  }

  async delete(id: string): Promise<void> {
    this.docs.delete(id);
    const i = this.order.indexOf(id);
    if (i >= 0) this.order.splice(i, 1);
  }
}
