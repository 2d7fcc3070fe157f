import type { CompletenessReport } from './completeness';
import type { RevisionFlags, RevisionReport } from './control';

/** What green must show in mock mode before it may be promoted (from the policy's `validation.mock`). */
export interface MockSpec {
  deadlineMs: number;
  /** Green must write at least this many records to the temporary Redis. */
  minRecords: number;
  /** Fields every sampled record must carry. */
  requiredFields: string[];
  /** Downstream consumer group that must be reading green's mock stream. */
  consumerGroup?: string;
  /** Largest consumer backlog (undelivered + unacknowledged) that still counts as keeping up. */
  maxLag: number;
  /** Errors green's agent may report before validation fails. */
  maxErrors: number;
  /**
   * Field of each record carrying the source's sequence id (e.g. `frameId`): when set, the ids green
   * wrote must be complete (see `assessCompleteness`). Absent in plans made before it existed.
   */
  sequenceField?: string;
  /** Longest run of missing ids tolerated; default 0. */
  maxGap?: number;
}

/** One look at green in mock mode, gathered by an activity. */
export interface MockObservation {
  /** Green's agent heartbeat, if fresh. */
  report?: RevisionReport;
  /** Flags the control record holds for green. */
  flags: RevisionFlags;
  records: number;
  /** Sampled records and the required fields each one lacks. */
  sampled: number;
  malformed: { index: number; missing: string[] }[];
  lag?: { lag: number; pending: number };
  /** Sequence ids green wrote, judged against the source (only when the spec names `sequenceField`). */
  completeness?: CompletenessReport;
}

export type Verdict = 'pass' | 'pending' | 'fail';

export interface MockReport {
  verdict: Verdict;
  message: string;
  records: number;
  malformed: number;
  lag?: number;
  errors?: number;
  holdsLease?: boolean;
  /** Missing ids, ids written twice, and the first few of each (when completeness is checked). */
  holes?: { count: number; examples: number[] };
  duplicates?: { count: number; examples: number[] };
  at: string;
}

/**
 * Judges one observation: `fail` is final (broken output), `pending` means not yet enough evidence
 * (the caller looks again until the deadline, then fails with the last message).
 */
export function assessMock(spec: MockSpec, obs: MockObservation, at: string): MockReport {
  const base = {
    records: obs.records,
    malformed: obs.malformed.length,
    ...(obs.lag ? { lag: obs.lag.lag + obs.lag.pending } : {}),
    ...(obs.report ? { errors: obs.report.errors, holdsLease: obs.report.holdsLease } : {}),
    ...(obs.completeness
      ? {
          holes: { count: obs.completeness.holes.count, examples: obs.completeness.holes.examples },
          duplicates: obs.completeness.duplicates,
        }
      : {}),
    at,
  };
  const r = (verdict: Verdict, message: string): MockReport => ({ verdict, message, ...base });
  if (obs.flags.mode !== 'mock' || obs.flags.binding !== 'temp') {
    return r(
      'fail',
      `green is in ${obs.flags.mode}/${obs.flags.binding} in the control record, not mock/temp`,
    );
  }
  if (obs.malformed.length > 0) {
    const first = obs.malformed[0]!;
    return r(
      'fail',
      `${obs.malformed.length} of ${obs.sampled} sampled records lack required fields (record ${first.index}: ${first.missing.join(', ')})`,
    );
  }
  // Lost or doubled frames are final: waiting longer cannot fill a hole green already skipped.
  if (obs.completeness?.verdict === 'fail') return r('fail', obs.completeness.message);
  if (!obs.report) return r('pending', "green's agent has not reported yet");
  if (obs.report.errors > spec.maxErrors) {
    return r('fail', `green reported ${obs.report.errors} errors (at most ${spec.maxErrors} allowed)`);
  }
  if (obs.report.mode !== 'mock') return r('pending', `green's agent still applies mode ${obs.report.mode}`);
  if (obs.report.writes.prod > 0) {
    return r('fail', `green wrote ${obs.report.writes.prod} records to production while in mock mode`);
  }
  if (!obs.report.holdsLease) return r('pending', 'green does not hold its mock-path lease');
  if (obs.records < spec.minRecords) {
    return r('pending', `green wrote ${obs.records} of ${spec.minRecords} records to the temporary Redis`);
  }
  if (spec.consumerGroup) {
    if (!obs.lag)
      return r('pending', `consumer group '${spec.consumerGroup}' has not read green's stream yet`);
    const backlog = obs.lag.lag + obs.lag.pending;
    if (backlog > spec.maxLag) {
      return r(
        'pending',
        `consumer group '${spec.consumerGroup}' is ${backlog} records behind (at most ${spec.maxLag})`,
      );
    }
  }
  if (spec.sequenceField && !obs.completeness) {
    return r('pending', `green's records carry no '${spec.sequenceField}' ids to check yet`);
  }
  return r(
    'pass',
    `green wrote ${obs.records} well-formed records in mock mode${spec.consumerGroup ? ` and '${spec.consumerGroup}' kept up` : ''}${obs.completeness ? `; ${obs.completeness.message}` : ''}`,
  );
}

/** The control plane and the agents' heartbeats after a flip (or a flip back). */
export interface FlipObservation {
  epoch: number;
  active: string | null;
  lease?: { revision: string; epoch: number };
  /** The last accepted production write, as the fenced write script recorded it. */
  lastWrite?: { revision: string; epoch: number };
  reports: RevisionReport[];
}

/**
 * A flip has taken effect when the control record still says what we set, the new active revision
 * holds the production lease at that epoch and has written since the flip, and no other revision
 * is still processing production.
 */
export function assessFlip(
  expect: { active: string; epoch: number },
  obs: FlipObservation,
): { verdict: Verdict; message: string } {
  if (obs.epoch !== expect.epoch || obs.active !== expect.active) {
    return {
      verdict: 'fail',
      message: `the control record changed under the rollout: epoch ${obs.epoch}, active ${obs.active ?? 'none'} (expected epoch ${expect.epoch}, active ${expect.active})`,
    };
  }
  const still = obs.reports.filter((r) => r.revision !== expect.active && r.mode === 'prod' && r.processing);
  if (still.length > 0) {
    return {
      verdict: 'pending',
      message: `${still.map((r) => r.revision).join(', ')} still processing production`,
    };
  }
  if (!obs.lease || obs.lease.revision !== expect.active || obs.lease.epoch !== expect.epoch) {
    return {
      verdict: 'pending',
      message: `${expect.active} does not hold the production lease at epoch ${expect.epoch}${obs.lease ? ` (held by ${obs.lease.revision} at epoch ${obs.lease.epoch})` : ''}`,
    };
  }
  // Epochs, not timestamps: the orchestration's clock and the workload's need not agree.
  if (!obs.lastWrite || obs.lastWrite.revision !== expect.active || obs.lastWrite.epoch !== expect.epoch) {
    return { verdict: 'pending', message: `${expect.active} has not written to production since the flip` };
  }
  return {
    verdict: 'pass',
    message: `${expect.active} holds the production lease at epoch ${expect.epoch} and is writing; no other revision processes`,
  };
}
