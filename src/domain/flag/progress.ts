import type { RevisionReport } from './control';
import type { Verdict } from './validation';

/**
 * Whether the active revision is really processing production, not only holding its lease: a producer
 * that is alive and leased but has stopped writing (a stall) keeps the lease renewed, so the lease alone
 * cannot tell. Two looks at the production log's checkpoint, some time apart, can.
 */

/** What the watch (and the post-promotion guard) expects of production, from the plan. */
export interface ProgressSpec {
  /** The revision the rollout made active, and the epoch of that flip. */
  active: string;
  epoch: number;
  /**
   * Largest lag of the production log behind the source that still counts as in step (when the source
   * position is known). Beyond it at two looks in a row (a whole check interval) is a stall.
   */
  maxLagFrames: number;
}

/** One look at production, gathered by the `observeProgress` activity. */
export interface ProgressObservation {
  /** When the activity looked (its clock, ms since the epoch): the time between two looks. */
  observedAt: number;
  epoch: number;
  active: string | null;
  lease?: { revision: string; epoch: number };
  /** The last accepted production write; `at` is the Redis server's clock (ISO). */
  lastWrite?: { revision: string; epoch: number; at: string };
  /** Last sequence id committed to the production log the policy names (e.g. the processor's sink). */
  checkpoint?: number;
  /** The source's newest sequence id, when the workload (or the source) publishes it. */
  source?: number;
  /** Fresh heartbeats. */
  reports: RevisionReport[];
}

export interface ProgressReport {
  verdict: Verdict;
  message: string;
  /** Ids committed since the previous look. */
  advanced?: number;
  /** How far the production log is behind the source. */
  lag?: number;
}

/** How far the production log is behind the source at one look, when both are known. */
export function lagOf(obs: ProgressObservation): number | undefined {
  return obs.source !== undefined && obs.checkpoint !== undefined
    ? Math.max(0, obs.source - obs.checkpoint)
    : undefined;
}

/**
 * Judges one look at production against the previous one. `fail` means production is not being
 * processed by the rollout's active revision: the record changed under the rollout, the active revision
 * lost its lease or heartbeat (crashed), stopped writing while the source went on (stalled), or stayed
 * further behind the source than the policy allows for a whole check interval (two looks in a row: a
 * burst the writer catches up with between two checks is not a stall). `pending` is the first look (a
 * baseline: progress needs two) or a first look beyond the lag limit. Without the source's position, a
 * continuous source is assumed: no write between two looks is a stall.
 */
export function assessProgress(
  previous: ProgressObservation | undefined,
  current: ProgressObservation,
  spec: ProgressSpec,
): ProgressReport {
  const { active, epoch } = spec;
  if (current.epoch !== epoch || current.active !== active) {
    return {
      verdict: 'fail',
      message: `the control record changed under the rollout: epoch ${current.epoch}, active ${current.active ?? 'none'} (expected epoch ${epoch}, active ${active})`,
    };
  }
  const report = current.reports.find((r) => r.revision === active);
  if (!report) {
    return {
      verdict: 'fail',
      message: `${active} has stopped reporting (no fresh heartbeat): it crashed or was stopped`,
    };
  }
  if (!current.lease || current.lease.revision !== active || current.lease.epoch !== epoch) {
    return {
      verdict: 'fail',
      message: `${active} does not hold the production lease at epoch ${epoch}${current.lease ? ` (held by ${current.lease.revision} at epoch ${current.lease.epoch})` : ' (nobody holds it)'}`,
    };
  }
  if (!current.lastWrite || current.lastWrite.revision !== active || current.lastWrite.epoch !== epoch) {
    return { verdict: 'fail', message: `${active} has not written to production at epoch ${epoch}` };
  }
  const lag = lagOf(current);
  const withLag = lag === undefined ? {} : { lag };
  const behind = lag !== undefined && lag > spec.maxLagFrames;
  const behindNote = `${active} is ${lag} frames behind the source at ${current.source} (at most ${spec.maxLagFrames})`;
  if (!previous) {
    return {
      verdict: 'pending',
      message: behind
        ? `${behindNote}: a stall if still so at the next check`
        : `first look at ${active}'s progress`,
      ...withLag,
    };
  }
  const seconds = Math.max(0, (current.observedAt - previous.observedAt) / 1000).toFixed(1);
  if (current.checkpoint !== undefined && previous.checkpoint !== undefined) {
    const advanced = current.checkpoint - previous.checkpoint;
    if (advanced > 0) {
      const before = lagOf(previous);
      if (behind && before !== undefined && before > spec.maxLagFrames) {
        return {
          verdict: 'fail',
          message: `${behindNote}, and was ${before} behind ${seconds}s before: it is not keeping up`,
          advanced,
          ...withLag,
        };
      }
      if (behind) {
        return {
          verdict: 'pending',
          message: `${behindNote}: a stall if still so at the next check`,
          advanced,
          ...withLag,
        };
      }
      return {
        verdict: 'pass',
        message: `${active} committed ${advanced} ids in ${seconds}s${lag === undefined ? '' : `, ${lag} behind the source`}`,
        advanced,
        ...withLag,
      };
    }
    const sourceMoved =
      current.source === undefined ||
      previous.source === undefined ||
      current.source > previous.source ||
      current.source > current.checkpoint;
    if (!sourceMoved) {
      return {
        verdict: 'pass',
        message: `the source is idle and ${active} is caught up`,
        advanced: 0,
        ...withLag,
      };
    }
    return {
      verdict: 'fail',
      message: `${active} is stalled: alive and holding the lease, but its checkpoint stayed at ${current.checkpoint} for ${seconds}s${current.source === undefined ? '' : ` while the source reached ${current.source}`}`,
      advanced: 0,
      ...withLag,
    };
  }
  // No checkpoint to compare: the last-write stamp moves with every production write.
  if (previous.lastWrite && previous.lastWrite.at === current.lastWrite.at) {
    return {
      verdict: 'fail',
      message: `${active} is stalled: alive and holding the lease, but has not written to production for ${seconds}s`,
      ...withLag,
    };
  }
  return { verdict: 'pass', message: `${active} wrote to production in the last ${seconds}s`, ...withLag };
}
