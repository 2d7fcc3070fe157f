import type { Redis } from 'ioredis';
import {
  type ControlRecord,
  type RevisionFlags,
  type RevisionMode,
  type RevisionReport,
} from '../../domain/flag/control';
import { EpochConflictError } from '../../domain/flag/errors';
import { GreenlightError } from '../../domain/errors';
import {
  checkpointKey,
  decodeRecord,
  encodeRecord,
  flagKeys,
  parseStamp,
  prodLogKey,
  recordFields,
  sourceKey,
} from '../../protocol/flagKeys';
import { LuaScript } from '../../protocol/luaScript';
import { readSourcePosition } from '../../protocol/sourcePosition';
import type { FlagControlPlane } from '../../domain/ports/flags';

// Swap the record only if nobody changed it since it was read, and tell the agents in the same step.
const swapScript = new LuaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[1], ARGV[7])
redis.call('PUBLISH', KEYS[2], ARGV[7])
return 1
`);

export interface RedisControlPlaneOptions {
  /** Clock for `updatedAt`; default the system clock. */
  now?: () => Date;
  /** Attempts when concurrent changes keep winning the swap; default 10. */
  maxAttempts?: number;
}

/** What a change does to the record it finds: the new record, or the found one when already done. */
type Decision = ControlRecord | { done: ControlRecord };

/**
 * The flag strategy's control plane on the workload's production Redis (see `keys.ts` for the layout).
 * Each change reads the record, decides in TypeScript, and swaps it in with a script that refuses if
 * the stored record changed meanwhile (then it reads and decides again), so every change is atomic
 * and compare-and-set on the whole record, the epoch included.
 */
export class RedisControlPlane implements FlagControlPlane {
  private readonly now: () => Date;
  private readonly maxAttempts: number;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    options: RedisControlPlaneOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 10;
  }

  async read(app: string): Promise<ControlRecord | undefined> {
    const json = await this.redis.hget(flagKeys(this.keyPrefix, app).record, recordFields.record);
    return json ? decodeRecord(json) : undefined;
  }

  async ensure(app: string, active: string, by: string): Promise<ControlRecord> {
    return this.change(app, (current) =>
      current
        ? { done: current }
        : {
            app,
            epoch: 1,
            active,
            revisions: { [active]: { mode: 'prod', binding: 'prod' } },
            ...this.stamp(by),
          },
    );
  }

  async setRevision(
    app: string,
    revision: string,
    flags: RevisionFlags & { mode: 'mock' | 'standby' },
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord> {
    const wanted: RevisionFlags = { mode: flags.mode, binding: flags.binding };
    if (
      !(['mock', 'standby'] as RevisionMode[]).includes(wanted.mode) ||
      !['temp', 'prod'].includes(wanted.binding)
    ) {
      throw new GreenlightError(
        'InvalidRequest',
        `flags for ${revision} must have mode 'mock' or 'standby' and binding 'temp' or 'prod'; got ${JSON.stringify(flags)} (a revision reaches prod only by flip)`,
      );
    }
    return this.change(app, (current) => {
      const record = this.existing(app, current);
      if (record.epoch !== expectEpoch) {
        if (record.updatedBy === by && sameFlags(record.revisions[revision], wanted)) return { done: record };
        throw new EpochConflictError(app, expectEpoch, record);
      }
      this.refuseActive(record, revision, `set it to ${wanted.mode}`);
      if (sameFlags(record.revisions[revision], wanted)) return { done: record };
      return { ...record, revisions: { ...record.revisions, [revision]: wanted }, ...this.stamp(by) };
    });
  }

  async flip(app: string, to: string, expectEpoch: number, by: string): Promise<ControlRecord> {
    return this.change(app, (current) => {
      const record = this.existing(app, current);
      if (record.epoch === expectEpoch + 1 && record.active === to && record.updatedBy === by) {
        return { done: record };
      }
      if (record.epoch !== expectEpoch) throw new EpochConflictError(app, expectEpoch, record);
      const revisions: Record<string, RevisionFlags> = {};
      for (const [name, flags] of Object.entries(record.revisions)) {
        revisions[name] = flags.mode === 'prod' ? { mode: 'standby', binding: 'prod' } : flags;
      }
      revisions[to] = { mode: 'prod', binding: 'prod' };
      return { app, epoch: record.epoch + 1, active: to, revisions, ...this.stamp(by) };
    });
  }

  async restore(
    app: string,
    snapshot: ControlRecord,
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord> {
    if (snapshot.app !== app) {
      throw new GreenlightError(
        'InvalidRequest',
        `snapshot is of app '${snapshot.app}', not '${app}': restore only an app's own snapshot`,
      );
    }
    return this.change(app, (current) => {
      const record = this.existing(app, current);
      // Done by this caller and untouched since, whichever epoch the retry read before calling again.
      if (
        record.updatedBy === by &&
        record.active === snapshot.active &&
        sameRevisions(record.revisions, snapshot.revisions)
      ) {
        return { done: record };
      }
      if (record.epoch !== expectEpoch) throw new EpochConflictError(app, expectEpoch, record);
      return {
        app,
        epoch: record.epoch + 1,
        active: snapshot.active,
        revisions: structuredClone(snapshot.revisions),
        ...this.stamp(by),
      };
    });
  }

  async removeRevision(
    app: string,
    revision: string,
    expectEpoch: number,
    by: string,
  ): Promise<ControlRecord> {
    return this.change(app, (current) => {
      const record = this.existing(app, current);
      if (record.epoch !== expectEpoch) {
        if (record.updatedBy === by && !(revision in record.revisions)) return { done: record };
        throw new EpochConflictError(app, expectEpoch, record);
      }
      this.refuseActive(record, revision, 'remove it');
      if (!(revision in record.revisions)) return { done: record };
      const { [revision]: _removed, ...revisions } = record.revisions;
      return { ...record, revisions, ...this.stamp(by) };
    });
  }

  async reports(app: string, maxAgeMs: number): Promise<RevisionReport[]> {
    const keys = flagKeys(this.keyPrefix, app);
    // Heartbeats are scored with the Redis server's clock, so compare with that clock too.
    const [seconds, micros] = await this.redis.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const members = await this.redis.zrangebyscore(keys.reports, nowMs - maxAgeMs, '+inf');
    if (members.length === 0) return [];
    const values = await this.redis.mget(...members.map((m) => keys.report(m)));
    const agents = values.flatMap((v) => (v ? [JSON.parse(v) as RevisionReport] : []));
    return mergeByRevision(agents);
  }

  async leaseHolder(app: string): Promise<{ revision: string; epoch: number } | undefined> {
    const stamp = parseStamp(await this.redis.get(flagKeys(this.keyPrefix, app).lease));
    return stamp ? { revision: stamp.revision, epoch: stamp.epoch } : undefined;
  }

  async lastWrite(app: string): Promise<{ revision: string; epoch: number; at: string } | undefined> {
    const stamp = parseStamp(await this.redis.get(flagKeys(this.keyPrefix, app).lastWrite));
    const ms = Number(stamp?.rest[0]);
    if (!stamp || !Number.isFinite(ms)) return undefined;
    return { revision: stamp.revision, epoch: stamp.epoch, at: new Date(ms).toISOString() };
  }

  async checkpoint(app: string, log: string): Promise<number | undefined> {
    const value = await this.redis.get(checkpointKey(prodLogKey(this.keyPrefix, app, log)));
    const id = Number(value);
    return value !== null && Number.isSafeInteger(id) ? id : undefined;
  }

  async sourcePosition(app: string): Promise<number | undefined> {
    return readSourcePosition(this.redis, sourceKey(this.keyPrefix, app));
  }

  private stamp(by: string): { updatedAt: string; updatedBy: string } {
    return { updatedAt: this.now().toISOString(), updatedBy: by };
  }

  private existing(app: string, record: ControlRecord | undefined): ControlRecord {
    if (!record) {
      throw new GreenlightError(
        'NotFound',
        `app '${app}' has no control record; create it with ensure(app, <production revision>) first`,
        { app },
      );
    }
    return record;
  }

  private refuseActive(record: ControlRecord, revision: string, what: string): void {
    if (record.active !== revision) return;
    throw new GreenlightError(
      'Conflict',
      `${revision} is the active production revision of '${record.app}' at epoch ${record.epoch}; flip to another revision or restore a snapshot before you ${what}`,
      { app: record.app, revision, epoch: record.epoch },
    );
  }

  /** Reads, decides and swaps until the swap wins (another change in between means deciding again). */
  private async change(
    app: string,
    decide: (current: ControlRecord | undefined) => Decision,
  ): Promise<ControlRecord> {
    const keys = flagKeys(this.keyPrefix, app);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const raw = await this.redis.hget(keys.record, recordFields.record);
      const decision = decide(raw ? decodeRecord(raw) : undefined);
      if ('done' in decision) return decision.done;
      const fields = encodeRecord(decision);
      const swapped = await swapScript.run(
        this.redis,
        [keys.record, keys.changed],
        [
          recordFields.record,
          raw ?? '',
          recordFields.epoch,
          fields[recordFields.epoch] ?? '',
          recordFields.active,
          fields[recordFields.active] ?? '',
          fields[recordFields.record] ?? '',
        ],
      );
      if (swapped === 1) return decision;
    }
    throw new GreenlightError(
      'Conflict',
      `control record of '${app}' changed during each of ${this.maxAttempts} attempts; another writer is busy with it, retry later`,
      { app },
    );
  }
}

function sameFlags(a: RevisionFlags | undefined, b: RevisionFlags | undefined): boolean {
  return a?.mode === b?.mode && a?.binding === b?.binding;
}

function sameRevisions(a: Record<string, RevisionFlags>, b: Record<string, RevisionFlags>): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((n) => sameFlags(a[n], b[n]));
}

/** One report per revision: counts summed over its replicas, flags and epoch from the lease holder. */
function mergeByRevision(agents: RevisionReport[]): RevisionReport[] {
  const byRevision = new Map<string, RevisionReport[]>();
  for (const a of agents) byRevision.set(a.revision, [...(byRevision.get(a.revision) ?? []), a]);
  return [...byRevision.values()].map((group) => {
    const lead =
      group.find((r) => r.holdsLease) ?? group.reduce((a, b) => (a.heartbeatAt >= b.heartbeatAt ? a : b));
    const sum = (f: (r: RevisionReport) => number | undefined): number =>
      group.reduce((s, r) => s + (f(r) ?? 0), 0);
    const latest = (f: (r: RevisionReport) => string | undefined): string | undefined =>
      group
        .map(f)
        .reduce<string | undefined>(
          (a, b) => (b !== undefined && (a === undefined || b > a) ? b : a),
          undefined,
        );
    const lastProdWriteAt = latest((r) => r.lastProdWriteAt);
    const lastTempWriteAt = latest((r) => r.lastTempWriteAt);
    return {
      revision: lead.revision,
      mode: lead.mode,
      binding: lead.binding,
      epoch: lead.epoch,
      holdsLease: group.some((r) => r.holdsLease),
      processing: group.some((r) => r.processing),
      writes: {
        prod: sum((r) => r.writes.prod),
        temp: sum((r) => r.writes.temp),
        rejected: sum((r) => r.writes.rejected),
      },
      duplicates: sum((r) => r.duplicates),
      gaps: sum((r) => r.gaps),
      replicas: group.length,
      errors: sum((r) => r.errors),
      ...(lastProdWriteAt ? { lastProdWriteAt } : {}),
      ...(lastTempWriteAt ? { lastTempWriteAt } : {}),
      heartbeatAt: latest((r) => r.heartbeatAt) ?? lead.heartbeatAt,
    };
  });
}
