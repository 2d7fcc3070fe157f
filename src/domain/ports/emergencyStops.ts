import type { EmergencyStop, StopScope } from '../changeControl/emergencyStop';
import type { AppRef } from './containerApps';

/** One entry of the stops' audit trail: who engaged or lifted which stop, when, and why. */
export interface StopAuditEntry {
  action: 'engage' | 'lift';
  scope: StopScope;
  by: string;
  at: string;
  reason?: string;
}

/**
 * Where emergency stops live, shared by every trigger and activity. Engaging is idempotent: a second
 * engage of an engaged scope keeps the first stop (its reason and owner) and says so.
 */
export interface EmergencyStopStore {
  engage(stop: EmergencyStop): Promise<{ engaged: boolean; stop: EmergencyStop }>;
  /** Lifts the scope's stop; undefined when none was engaged. */
  lift(scope: StopScope, by: string, at: string): Promise<EmergencyStop | undefined>;
  /** The stops that hold this app now: the global one and its own. */
  inForce(app: AppRef): Promise<EmergencyStop[]>;
  list(): Promise<EmergencyStop[]>;
  /** Newest first. */
  audit(limit?: number): Promise<StopAuditEntry[]>;
}
