import type { FlagStrategyPlan } from '../rollout/types';
import type { ApprovalLinkMaker } from './approvals';
import type { AuditLog } from './audit';
import type { ContainerAppsPort } from './containerApps';
import type { EmergencyStopStore } from './emergencyStops';
import type { FlagControlPlane, MockOutputs } from './flags';
import type { GateProviders } from './gates';
import type { NotifyPorts } from './notify';
import type { RolloutSlots } from './rollouts';
import type { SmokeProber } from './smoke';

export type * from './approvals';
export type * from './audit';
export type * from './containerApps';
export type * from './emergencyStops';
export type * from './flags';
export type * from './gates';
export type * from './notify';
export type * from './rollouts';
export type * from './smoke';

/**
 * Everything a rollout's activities reach outside the process through. The composition root builds it
 * from configuration (Azure SDKs, ioredis, fetch); tests hand in small in-memory objects.
 */
export interface RolloutPorts {
  containerApps: ContainerAppsPort;
  /** The flag strategy's control plane (production Redis) and mock outputs (temporary Redis), per strategy. */
  flags(strategy: FlagStrategyPlan): { control: FlagControlPlane; mock: MockOutputs };
  /** Analysis gate providers by kind. */
  gateProviders(): GateProviders;
  smoke: SmokeProber;
  /** Scheme of a revision's own URL: https in Azure, http against the local emulator. */
  revisionUrlScheme: 'https' | 'http';
  approvalLinks: ApprovalLinkMaker;
  slots: RolloutSlots;
  /** Emergency stops, read before each production change. */
  emergencyStops: EmergencyStopStore;
  /** The audit trail, for the writes and compensations the orchestration records. */
  audit: AuditLog;
  /** Notification delivery: webhook posts, the delivery ledger, rate limits, app settings. */
  notify: NotifyPorts;
  /** Wall clock, for timestamps activities stamp on what they observe. */
  now(): Date;
}
