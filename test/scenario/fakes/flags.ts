import { GreenlightError } from '../../../src/domain/errors';
import type { ControlRecord, RevisionFlags, RevisionReport } from '../../../src/domain/flag/control';
import type { FlagControlPlane, MockOutputs } from '../../../src/domain/ports';
import type { Outage } from './containerApps';

/** How a simulated workload revision behaves under its flags. */
export interface WorkerBehaviour {
  /** Sampled mock records lack these fields. */
  malformed?: string[];
  /** Never takes its lease. */
  noLease?: boolean;
  /** Stops (no heartbeat, no lease, no writes) once it becomes the active revision. */
  crashesWhenActive?: boolean;
  /** Loses every n-th frame it should write. */
  dropsEvery?: number;
  /** Alive, holding its lease and heartbeating, but writes nothing to production. */
  stallsWhenActive?: boolean;
  /** Frames it commits per look at production while active (the source emits 10): fewer falls behind. */
  commitsPerLook?: number;
}

/**
 * The flag control plane and the workloads that follow it, in memory. The record changes by the same
 * compare-and-set rules as the Redis control plane; each revision's agent applies its flags at once, so
 * reports, lease and production writes follow the record (a crashed agent stops reporting).
 */
export class FakeFlags implements FlagControlPlane, MockOutputs {
  private record: ControlRecord | undefined;
  private readonly dropped = new Set<string>();
  private readonly crashed = new Set<string>();
  /** Production frames committed so far: advances while a live, writing revision is active. */
  private committed = 0;
  /** The source's newest frame: 10 more at every look at production. */
  private source = 0;
  /** Whether the workload publishes the source's position (the watch can then measure lag). */
  publishesSource = false;
  /** Every change, in order: the epoch must only move forward. */
  readonly epochs: number[] = [];

  /** The scenario's clock, for outages that last a while (`failFor`). */
  now: () => number = () => Date.now();
  private outage?: Outage;

  constructor(private readonly behaviourOf: (revision: string) => WorkerBehaviour = () => ({})) {}

  /** The control plane (`restore`) or the temporary Redis (`drop`) is unreachable for `forMs` from the first such call. */
  failFor(forMs: number, ops: ('restore' | 'drop')[]): Outage {
    this.outage = { forMs, ops: new Set(ops), refused: [] };
    return this.outage;
  }

  private maybeFail(op: 'restore' | 'drop'): void {
    const o = this.outage;
    if (!o || (o.ops !== 'all' && !o.ops.has(op))) return;
    o.startedAt ??= this.now();
    if (this.now() >= o.startedAt + o.forMs) return;
    o.refused.push({ op, at: this.now() });
    throw new GreenlightError('ProviderUnavailable', `Redis unreachable for ${op}: connect ECONNREFUSED`);
  }

  current(): ControlRecord | undefined {
    return this.record ? structuredClone(this.record) : undefined;
  }

  async read(): Promise<ControlRecord | undefined> {
    return this.current();
  }

  async ensure(app: string, active: string, by: string): Promise<ControlRecord> {
    if (!this.record) {
      this.write({
        app,
        epoch: 1,
        active,
        revisions: { [active]: { mode: 'prod', binding: 'prod' } },
        ...stamp(by),
      });
    }
    return this.current()!;
  }

  async setRevision(
    _app: string,
    revision: string,
    flags: RevisionFlags & { mode: 'mock' | 'standby' },
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord> {
    const r = this.existing();
    if (r.epoch !== expectEpoch) throw conflict(expectEpoch, r);
    if (r.active === revision) throw new GreenlightError('InvalidRequest', `${revision} is active`);
    this.write({ ...r, revisions: { ...r.revisions, [revision]: { ...flags } }, ...stamp(by) });
    return this.current()!;
  }

  async flip(_app: string, to: string, expectEpoch: number, by: string): Promise<ControlRecord> {
    const r = this.existing();
    if (r.epoch === expectEpoch + 1 && r.active === to && r.updatedBy === by) return this.current()!;
    if (r.epoch !== expectEpoch) throw conflict(expectEpoch, r);
    const revisions: Record<string, RevisionFlags> = {};
    for (const [name, f] of Object.entries(r.revisions)) {
      revisions[name] = f.mode === 'prod' ? { mode: 'standby', binding: 'prod' } : f;
    }
    revisions[to] = { mode: 'prod', binding: 'prod' };
    this.write({ app: r.app, epoch: r.epoch + 1, active: to, revisions, ...stamp(by) });
    return this.current()!;
  }

  async restore(
    _app: string,
    snapshot: ControlRecord,
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord> {
    this.maybeFail('restore');
    const r = this.existing();
    if (r.updatedBy === by && r.active === snapshot.active) return this.current()!;
    if (r.epoch !== expectEpoch) throw conflict(expectEpoch, r);
    this.write({ ...structuredClone(snapshot), epoch: r.epoch + 1, ...stamp(by) });
    return this.current()!;
  }

  async removeRevision(
    _app: string,
    revision: string,
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord> {
    const r = this.existing();
    if (r.epoch !== expectEpoch) throw conflict(expectEpoch, r);
    const { [revision]: _gone, ...revisions } = r.revisions;
    this.write({ ...r, revisions, ...stamp(by) });
    return this.current()!;
  }

  async reports(): Promise<RevisionReport[]> {
    const r = this.record;
    if (!r) return [];
    return Object.entries(r.revisions)
      .filter(([name]) => this.alive(name))
      .map(([name, f]) => this.report(name, f, r.epoch));
  }

  async leaseHolder(): Promise<{ revision: string; epoch: number } | undefined> {
    const r = this.record;
    if (!r?.active || !this.alive(r.active) || this.behaviourOf(r.active).noLease) return undefined;
    return { revision: r.active, epoch: r.epoch };
  }

  async lastWrite(): Promise<{ revision: string; epoch: number; at: string } | undefined> {
    const holder = await this.leaseHolder();
    return holder ? { ...holder, at: '2026-01-01T00:00:00.000Z' } : undefined;
  }

  async records(
    _app: string,
    revision: string,
    sample: number,
  ): Promise<{ count: number; sample: Record<string, string>[] }> {
    if (this.dropped.has(revision) || this.record?.revisions[revision]?.mode !== 'mock')
      return { count: 0, sample: [] };
    const missing = new Set(this.behaviourOf(revision).malformed ?? []);
    const record: Record<string, string> = {};
    for (const field of ['id', 'payload', 'processedBy']) if (!missing.has(field)) record[field] = 'x';
    return { count: 100, sample: Array.from({ length: Math.min(sample, 100) }, () => ({ ...record })) };
  }

  async sequence(
    _app: string,
    revision: string,
    _field: string,
    limit: number,
  ): Promise<{ ids: number[]; total: number; truncated: boolean; unreadable: number }> {
    const { count } = await this.records(_app, revision, 0);
    const every = this.behaviourOf(revision).dropsEvery;
    const ids = Array.from({ length: count }, (_, i) => i + 1).filter((id) => !every || id % every !== 0);
    return { ids: ids.slice(-limit), total: ids.length, truncated: ids.length > limit, unreadable: 0 };
  }

  async checkpoint(): Promise<number | undefined> {
    this.source += 10;
    const active = this.record?.active;
    const b = active ? this.behaviourOf(active) : {};
    if (active && this.alive(active) && !b.stallsWhenActive) {
      this.committed = Math.min(this.source, this.committed + (b.commitsPerLook ?? 10));
    }
    return this.committed;
  }

  /** How far production is behind the source after the last look. */
  lag(): number {
    return this.source - this.committed;
  }

  async sourcePosition(): Promise<number | undefined> {
    return this.publishesSource ? this.source : undefined;
  }

  async consumerLag(): Promise<{ lag: number; pending: number } | undefined> {
    return { lag: 0, pending: 0 };
  }

  async drop(_app: string, revision: string): Promise<number> {
    this.maybeFail('drop');
    const had = !this.dropped.has(revision);
    this.dropped.add(revision);
    return had ? 1 : 0;
  }

  mockKeysDropped(revision: string): boolean {
    return this.dropped.has(revision);
  }

  private alive(revision: string): boolean {
    if (this.crashed.has(revision)) return false;
    if (this.behaviourOf(revision).crashesWhenActive && this.record?.active === revision) {
      this.crashed.add(revision);
      return false;
    }
    return true;
  }

  private report(revision: string, f: RevisionFlags, epoch: number): RevisionReport {
    const b = this.behaviourOf(revision);
    const processing = f.mode !== 'standby';
    return {
      revision,
      mode: f.mode,
      binding: f.binding,
      epoch,
      holdsLease: processing && !b.noLease,
      processing,
      writes: { prod: f.mode === 'prod' ? 10 : 0, temp: f.mode === 'mock' ? 100 : 0, rejected: 0 },
      errors: 0,
      heartbeatAt: '2026-01-01T00:00:00.000Z',
    };
  }

  private existing(): ControlRecord {
    if (!this.record) throw new GreenlightError('NotFound', 'no control record');
    return structuredClone(this.record);
  }

  private write(next: ControlRecord): void {
    this.record = structuredClone(next);
    this.epochs.push(next.epoch);
  }
}

function stamp(by: string): { updatedAt: string; updatedBy: string } {
  return { updatedAt: '2026-01-01T00:00:00.000Z', updatedBy: by };
}

function conflict(expected: number, r: ControlRecord): GreenlightError {
  return new GreenlightError('ControlPlaneConflict', `epoch is ${r.epoch}, expected ${expected}`);
}
