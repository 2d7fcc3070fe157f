/**
 * The runtime control plane of the flag strategy. On Container Apps an env-var change creates a new
 * revision, so modes and Redis bindings live in Redis (next to the production data, so the fence is
 * checked in the same server-side script as every production write), never in the template.
 */
export type RevisionMode = 'mock' | 'prod' | 'standby';
export type RedisBinding = 'temp' | 'prod';

export interface RevisionFlags {
  mode: RevisionMode;
  binding: RedisBinding;
}

/** One app's control record. A revision with no entry is `standby`: doing nothing is the safe default. */
export interface ControlRecord {
  /** Greenlight's app key (see `appKey`). */
  app: string;
  /** Fencing epoch: +1 at every flip and every restore; production writes stamped with another epoch are refused. */
  epoch: number;
  /** The one revision allowed to write production, or null when none is. */
  active: string | null;
  revisions: Record<string, RevisionFlags>;
  updatedAt: string;
  /** Rollout id (or `bootstrap`) that made the last change; makes retried changes recognisable. */
  updatedBy: string;
}

/** What a revision's agent last reported (heartbeat). */
export interface RevisionReport {
  revision: string;
  /** Mode and binding the agent is applying now (lags the record by at most one re-read). */
  mode: RevisionMode;
  binding: RedisBinding;
  /** Epoch the agent last applied. */
  epoch: number;
  /** Holds the processing lease for its mode (production lease in prod, mock-path lease in mock). */
  holdsLease: boolean;
  processing: boolean;
  /** Counts since the agent started. */
  writes: { prod: number; temp: number; rejected: number };
  /** Writes the log already held (a retry, or a frame another revision wrote first): refused, not stored twice. */
  duplicates?: number;
  /** Ids the agent had to skip because they never reached it (e.g. frames lost before its buffer). */
  gaps?: number;
  /**
   * Per log, the ids this replica's receive buffer holds without a hole (`from`..`to`): what it could
   * write after a takeover. The active writer never skips an id a standby revision's live receiver holds.
   */
  buffered?: Record<string, { from: number; to: number }>;
  /** Production waits at this id of a log: missing from the writer's buffer, held by another revision. */
  waitingFor?: { log: string; id: number };
  /** Replicas of the revision that reported (their counts are summed, flags are the lease holder's). */
  replicas?: number;
  errors: number;
  lastProdWriteAt?: string;
  lastTempWriteAt?: string;
  heartbeatAt: string;
}

/** Redis-safe key for an app: `{subscriptionId}/{resourceGroup}/{name}` lower-cased. */
export function appKey(app: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `${app.subscriptionId}/${app.resourceGroup}/${app.name}`.toLowerCase();
}

export function flagsOf(record: ControlRecord | undefined, revision: string): RevisionFlags {
  return record?.revisions[revision] ?? { mode: 'standby', binding: 'prod' };
}
