import type { ControlRecord, RevisionFlags, RevisionReport } from '../flag/control';

/**
 * The control plane as the orchestration's activities see it. Every change is atomic and
 * compare-and-set on the epoch; a retried change that already took effect (same `by`) returns the
 * current record instead of failing, so activities stay idempotent.
 */
export interface FlagControlPlane {
  read(app: string): Promise<ControlRecord | undefined>;
  /** Creates the record with `active` in prod/prod at epoch 1 if none exists; returns the current record. */
  ensure(app: string, active: string, by: string): Promise<ControlRecord>;
  /**
   * Sets one revision's flags (mock or standby only: prod is reached by `flip`), epoch unchanged.
   * Throws `EpochConflictError` when the record's epoch is not `expectEpoch`.
   */
  setRevision(
    app: string,
    revision: string,
    flags: RevisionFlags & { mode: 'mock' | 'standby' },
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord>;
  /**
   * One atomic flip: epoch + 1, `to` becomes prod/prod and `active`, every other revision in prod
   * becomes standby. Throws `EpochConflictError` unless epoch is `expectEpoch` (or the flip by `by` is
   * already done).
   */
  flip(app: string, to: string, expectEpoch: number, by: string): Promise<ControlRecord>;
  /**
   * Puts back `snapshot`'s active revision and flags with epoch = current + 1 (fencing only moves
   * forward). Revisions absent from the snapshot are removed (standby). Idempotent for the same `by`.
   */
  restore(app: string, snapshot: ControlRecord, expectEpoch: number, by: string): Promise<ControlRecord>;
  /** Removes a revision's entry (it becomes standby), epoch unchanged. */
  removeRevision(app: string, revision: string, expectEpoch: number, by: string): Promise<ControlRecord>;
  /** Reports of agents whose heartbeat is fresher than `maxAgeMs`. */
  reports(app: string, maxAgeMs: number): Promise<RevisionReport[]>;
  /** The revision holding the production lease, if any. */
  leaseHolder(app: string): Promise<{ revision: string; epoch: number } | undefined>;
  /** The last production write the fenced write script accepted: who wrote it, at which epoch. */
  lastWrite(app: string): Promise<{ revision: string; epoch: number; at: string } | undefined>;
  /** Last sequence id committed to a production log (e.g. `sink`), if any was. */
  checkpoint(app: string, log: string): Promise<number | undefined>;
  /** The source's newest sequence id as its receivers (or the source itself) published it, if known. */
  sourcePosition(app: string): Promise<number | undefined>;
}

/** What a revision wrote to the temporary Redis in mock mode. */
export interface MockOutputs {
  /** Count of records the revision wrote to its mock sink, and up to `sample` of them. */
  records(
    app: string,
    revision: string,
    sample: number,
  ): Promise<{ count: number; sample: Record<string, string>[] }>;
  /** Lag of a consumer group on the revision's mock stream: entries not yet delivered + pending. */
  consumerLag(
    app: string,
    revision: string,
    group: string,
  ): Promise<{ lag: number; pending: number } | undefined>;
  /**
   * Sequence ids (the integer in `field`) of the newest `limit` records the revision wrote to its mock
   * sink, oldest first. `truncated`: the sink holds more than were read. `unreadable`: records read whose
   * `field` is missing or not an integer.
   */
  sequence(
    app: string,
    revision: string,
    field: string,
    limit: number,
  ): Promise<{ ids: number[]; total: number; truncated: boolean; unreadable: number }>;
  /** Deletes every key the revision wrote to the temporary Redis; returns how many. Idempotent. */
  drop(app: string, revision: string): Promise<number>;
}
