import type { ActivityName } from './activities/contract';

export { memberRolloutId } from './domain/release/ids';

/** Every durable name in one place, so a typo is a compile error rather than a stuck instance. */
export const Orchestrators = {
  rollout: 'rolloutOrchestrator',
  watch: 'rolloutWatchOrchestrator',
  gateRun: 'gateRunOrchestrator',
  /** A coordinated release: the parent of its member rollouts. */
  release: 'releaseOrchestrator',
  /** Gathers image pushes into one release (one instance per release name and tag key). */
  releaseGather: 'releaseGatherOrchestrator',
} as const;

export const Activities = {
  snapshotApp: 'snapshotApp',
  ensureMultipleRevisionMode: 'ensureMultipleRevisionMode',
  deployGreen: 'deployGreen',
  getRevision: 'getRevision',
  setTraffic: 'setTraffic',
  deactivateRevision: 'deactivateRevision',
  retireRevisions: 'retireRevisions',
  runSmokeChecks: 'runSmokeChecks',
  measureGate: 'measureGate',
  createApprovalLinks: 'createApprovalLinks',
  finishRollout: 'finishRollout',
  // Flag strategy
  snapshotFlags: 'snapshotFlags',
  setRevisionFlags: 'setRevisionFlags',
  observeMock: 'observeMock',
  flipFlags: 'flipFlags',
  observeFlip: 'observeFlip',
  observeProgress: 'observeProgress',
  restoreFlags: 'restoreFlags',
  dropMockOutputs: 'dropMockOutputs',
  emergencyStopsInForce: 'emergencyStopsInForce',
  setSessionAffinity: 'setSessionAffinity',
  appendAudit: 'appendAudit',
  latestRollout: 'latestRollout',
  deliverNotification: 'deliverNotification',
  // Coordinated releases
  reportToRelease: 'reportToRelease',
  signalMember: 'signalMember',
  holdReleaseApps: 'holdReleaseApps',
  freeReleaseApps: 'freeReleaseApps',
  appendReleaseAudit: 'appendReleaseAudit',
} as const satisfies { [N in ActivityName]: N };

/** External events an operator (or the approval page) raises on a rollout. */
export const Events = {
  approval: 'approval',
  abort: 'abort',
  promote: 'promote',
  /** Undo after promotion, while the undo window is open. */
  undo: 'undo',
  /** An emergency stop was lifted or an override given: a paused rollout checks change control again. */
  changeControlChanged: 'changeControlChanged',
  /** A member rollout reports to its release (validated, promoted, stepDone, watched, succeeded, finished). */
  memberReport: 'memberReport',
  /** A release commands a member rollout (promote, step, finish). */
  releaseCommand: 'releaseCommand',
} as const;

/** The label that marks the revision serving production before the rollout, and the candidate. */
export const Labels = { blue: 'blue', green: 'green' } as const;

/** The post-promotion watch runs as a child instance with a name derived from its rollout. */
export function watchInstanceId(rolloutId: string): string {
  return `${rolloutId}:watch`;
}

/** The post-promotion guard (the flag strategy's undo window) runs the watch as its own child instance. */
export function guardInstanceId(rolloutId: string): string {
  return `${rolloutId}:guard`;
}

/** A gate run is a child instance too; `seq` numbers the runs of one rollout (deterministic on replay). */
export function gateRunInstanceId(rolloutId: string, seq: number, gateName: string): string {
  return `${rolloutId}:gate:${seq}:${gateName.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The instance gathering pushes for one release name and tag key. */
export function releaseGatherId(releaseName: string, key: string): string {
  return `gather:${releaseName.replace(/[^A-Za-z0-9_.-]/g, '-')}:${key.replace(/[^A-Za-z0-9_.-]/g, '-')}`;
}
