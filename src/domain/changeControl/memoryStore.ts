import type { AppRef, EmergencyStopStore, StopAuditEntry } from '../ports';
import { stopAppKey, type EmergencyStop, type StopScope } from './emergencyStop';

/** Emergency stops in memory, with the Redis store's semantics: for tests and single-process tools. */
export class InMemoryEmergencyStopStore implements EmergencyStopStore {
  private readonly stops = new Map<string, EmergencyStop>();
  private readonly log: StopAuditEntry[] = [];
  /** Calls of `inForce`, so a test can see the rollout asked. */
  reads = 0;

  private key(scope: StopScope): string {
    return scope.kind === 'global' ? 'global' : `app:${scope.app.toLowerCase()}`;
  }

  async engage(stop: EmergencyStop): Promise<{ engaged: boolean; stop: EmergencyStop }> {
    const current = this.stops.get(this.key(stop.scope));
    if (current) return { engaged: false, stop: current };
    this.stops.set(this.key(stop.scope), stop);
    this.log.unshift({
      action: 'engage',
      scope: stop.scope,
      by: stop.by,
      at: stop.since,
      reason: stop.reason,
    });
    return { engaged: true, stop };
  }

  async lift(scope: StopScope, by: string, at: string): Promise<EmergencyStop | undefined> {
    const current = this.stops.get(this.key(scope));
    if (!current) return undefined;
    this.stops.delete(this.key(scope));
    this.log.unshift({ action: 'lift', scope, by, at });
    return current;
  }

  async inForce(app: AppRef): Promise<EmergencyStop[]> {
    this.reads++;
    return [this.stops.get('global'), this.stops.get(`app:${stopAppKey(app)}`)].filter(
      (s): s is EmergencyStop => s !== undefined,
    );
  }

  async list(): Promise<EmergencyStop[]> {
    return [...this.stops.values()];
  }

  async audit(limit = 100): Promise<StopAuditEntry[]> {
    return this.log.slice(0, limit);
  }
}
