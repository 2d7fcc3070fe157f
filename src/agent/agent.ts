import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import {
  checkpointKey,
  decodeRecord,
  type FlagKeys,
  flagKeys,
  mockKey,
  prodLogKey,
  recordFields,
  reportMember,
  sourceKey,
} from '../protocol/flagKeys';
import { advanceSourcePosition } from '../protocol/sourcePosition';
import {
  type ControlRecord,
  flagsOf,
  type RedisBinding,
  type RevisionMode,
  type RevisionReport,
} from '../domain/flag/control';
import { StaleEpochError } from '../domain/flag/errors';
import { errorMessage, GreenlightError } from '../domain/errors';
import { type AgentOptions, type ResolvedAgentOptions, resolveAgentOptions } from './options';
import {
  acquireLease,
  type AppendTarget,
  fencedAck,
  fencedAppend,
  fencedRead,
  type Guard,
  type LogEntry,
  type Refusal,
  releaseLease,
  renewLease,
  writeHeartbeat,
} from './scripts';

/** What the agent applies now: the revision's flags and the record's epoch and active revision. */
export interface AgentState {
  mode: RevisionMode;
  binding: RedisBinding;
  epoch: number;
  active: string | null;
}

export interface AgentEvents {
  /** Mode, binding, epoch or active revision changed. */
  mode: [state: AgentState];
  /** The agent started or stopped processing (it holds, or lost, the lease for its mode). */
  processing: [processing: boolean];
}

export interface AppendOptions {
  /** Write past ids that never arrived (counted as `gaps`) instead of refusing with status `gap`. */
  allowGap?: boolean;
  /** Acknowledge an entry of `log` read with `read(log, group)` in the same atomic step. */
  ack?: { log: string; group: string; entryId: string };
}

export type AppendResult =
  | { status: 'written'; id: number; entryId: string; /** ids skipped before this one */ skipped: number }
  /** The log already holds this id (or a later one): nothing was written. */
  | { status: 'duplicate'; checkpoint: number }
  /** Refused: the log ends at `checkpoint`, write `checkpoint + 1` first (or pass `allowGap`). */
  | { status: 'gap'; checkpoint: number };

export type { LogEntry } from './scripts';

interface HeldLease {
  guard: Guard;
  redis: Redis;
  /** Local end of the lease: the last successful take or renewal, counted from when it was sent. */
  validUntil?: number;
}

/**
 * Embedded in a workload, the agent follows the revision's flags in the control record, holds the
 * processing lease for its mode, and writes through fenced scripts: a production write lands only if
 * the record still holds the writer's epoch and names its revision active, and the writer holds the
 * lease. See README.md next to this file.
 */
export class WorkloadAgent extends EventEmitter<AgentEvents> {
  readonly app: string;
  readonly revision: string;
  readonly replica: string;
  readonly keyPrefix: string;
  private readonly options: ResolvedAgentOptions;
  private readonly keys: FlagKeys;
  private readonly prod: Redis;
  private readonly subscriber: Redis;
  private readonly temp: Redis | undefined;
  private state: AgentState = { mode: 'standby', binding: 'prod', epoch: 0, active: null };
  private lease: HeldLease | undefined;
  private started = false;
  private stopped = false;
  private wasProcessing = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private beating = false;
  private readonly counts = { prod: 0, temp: 0, rejected: 0, duplicates: 0, gaps: 0, errors: 0 };
  private lastProdWriteAt: string | undefined;
  private lastTempWriteAt: string | undefined;
  /** What each receive buffer holds without a hole, and an id production waits at (see `SequencedAppender`). */
  private readonly buffered = new Map<string, { from: number; to: number }>();
  private waitingFor: { log: string; id: number } | undefined;
  /** Newest source id this replica received, and the newest it published (see `noteSourcePosition`). */
  private sourceSeen = -1;
  private sourcePublished = -1;

  constructor(options: AgentOptions = {}) {
    super();
    this.options = resolveAgentOptions(options);
    this.app = this.options.app;
    this.revision = this.options.revision;
    this.replica = this.options.replica;
    this.keyPrefix = this.options.keyPrefix;
    this.keys = flagKeys(this.keyPrefix, this.app);
    this.prod = this.connection(this.options.prodUrl, 'production');
    this.subscriber = this.connection(this.options.prodUrl, 'production (changes)');
    this.temp = this.options.tempUrl ? this.connection(this.options.tempUrl, 'temporary') : undefined;
    // Once, here: a start() retried after a failed connect must not stack listeners.
    this.subscriber.on('message', (channel: string) => {
      if (channel === this.keys.changed) void this.refresh();
    });
  }

  /** Connects, applies the current record and starts following it. */
  async start(): Promise<this> {
    if (this.started) return this;
    this.started = true;
    try {
      await Promise.all([this.prod.connect(), this.subscriber.connect(), this.temp?.connect()]);
      await this.subscriber.subscribe(this.keys.changed);
    } catch (e) {
      this.disconnectAll();
      this.started = false;
      throw new GreenlightError(
        'InvalidConfiguration',
        `workload agent cannot reach Redis: ${errorMessage(e)}`,
        {},
        { cause: e },
      );
    }
    // Changes published while the connection was down are lost: read the record again on every reconnect.
    this.prod.on('ready', () => void this.refresh());
    await this.refresh();
    await this.heartbeat();
    this.timers.push(
      setInterval(() => void this.refresh(), this.options.rereadIntervalMs).unref(),
      setInterval(() => void this.heartbeat(), this.options.heartbeatIntervalMs).unref(),
    );
    this.options.logger.info(`${this.revision} follows the control record of ${this.app}`);
    return this;
  }

  /** Releases the lease, withdraws the report and disconnects. Stop the workload's own loops first. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.syncing;
    const held = this.lease;
    this.lease = undefined;
    this.updateProcessing();
    const member = reportMember(this.revision, this.replica);
    await Promise.allSettled([
      held ? releaseLease(held.redis, held.guard.leaseKey, held.guard.token) : undefined,
      this.prod.multi().del(this.keys.report(member)).zrem(this.keys.reports, member).exec(),
    ]);
    await Promise.allSettled(
      [this.subscriber, this.prod, this.temp].map(async (r) => {
        if (r?.status === 'ready') await r.quit();
        else r?.disconnect();
      }),
    );
  }

  get mode(): RevisionMode {
    return this.state.mode;
  }

  get binding(): RedisBinding {
    return this.state.binding;
  }

  get epoch(): number {
    return this.state.epoch;
  }

  /** A copy of what the agent applies now. */
  get current(): AgentState {
    return { ...this.state };
  }

  get holdsLease(): boolean {
    return this.lease !== undefined;
  }

  /** True while the workload may do work: mode mock or prod, and this replica holds that mode's lease. */
  get processing(): boolean {
    return (
      !this.stopped &&
      this.lease !== undefined &&
      this.state.mode !== 'standby' &&
      // A renewal that never answers must not leave it processing past the lease's end.
      (this.lease.validUntil ?? 0) > Date.now()
    );
  }

  /** The connection of the current binding (temporary Redis in mock/temp, production otherwise). */
  get redis(): Redis {
    const r = this.bindingRedis();
    if (!r) {
      throw new GreenlightError(
        'InvalidConfiguration',
        `${this.revision} is bound to the temporary Redis but has no URL for it; set tempUrl or its env var`,
      );
    }
    return r;
  }

  /** Key of a log in the current mode: production in prod, this revision's mock prefix otherwise. */
  key(log: string): string {
    return this.logKey(this.state.mode === 'prod' ? 'prod' : 'mock', log);
  }

  /** Last id committed to `log` in the current mode, or undefined before the first write. */
  async checkpoint(log: string): Promise<number | undefined> {
    const held = this.lease;
    const redis = held?.redis ?? this.bindingRedis() ?? this.prod;
    const kind = held?.guard.kind ?? (this.state.mode === 'prod' ? 'prod' : 'mock');
    const value = await redis.get(checkpointKey(this.logKey(kind, log)));
    return value === null ? undefined : Number(value);
  }

  /**
   * Appends one record with id `id` to `log`, stamped with the epoch and revision, in one server-side
   * step that refuses a stale writer (`StaleEpochError`, after which the agent has stopped processing),
   * ignores an id already written (`duplicate`) and refuses to leave a hole (`gap`).
   */
  async append(
    log: string,
    id: number,
    fields: Record<string, string>,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (!Number.isSafeInteger(id) || id < 0) {
      throw new GreenlightError(
        'InvalidRequest',
        `id of a record for ${log} must be a whole number >= 0; got ${id}`,
      );
    }
    const held = this.lease;
    if (!held || !this.processing) {
      this.counts.rejected += 1;
      throw new StaleEpochError('not-processing', this.revision, this.state.epoch);
    }
    const g = held.guard;
    const logKey = this.logKey(g.kind, log);
    const target: AppendTarget = {
      log: logKey,
      checkpoint: checkpointKey(logKey),
      ...(g.kind === 'prod' ? { lastWrite: this.keys.lastWrite } : {}),
      ...(options.ack
        ? {
            ack: {
              stream: this.logKey(g.kind, options.ack.log),
              group: options.ack.group,
              entryId: options.ack.entryId,
            },
          }
        : {}),
    };
    const stamped = Object.entries({ ...fields, epoch: String(g.epoch), revision: this.revision }).flat();
    const reply = await this.counted(() =>
      fencedAppend(held.redis, g, target, id, stamped, options.allowGap ?? false),
    );
    if ('refused' in reply) {
      this.counts.rejected += 1;
      throw this.refused(held, reply);
    }
    if (reply.status !== 'written') {
      if (reply.status === 'duplicate') this.counts.duplicates += 1;
      return reply;
    }
    const skipped = reply.previous === undefined ? 0 : Math.max(0, id - reply.previous - 1);
    this.counts.gaps += skipped;
    const at = new Date().toISOString();
    if (g.kind === 'prod') {
      this.counts.prod += 1;
      this.lastProdWriteAt = at;
    } else {
      this.counts.temp += 1;
      this.lastTempWriteAt = at;
    }
    return { status: 'written', id, entryId: reply.entryId, skipped };
  }

  /**
   * Up to `count` entries of `log` for consumer group `group`, fenced like a write: entries another
   * consumer read but never acknowledged (a demoted revision's) come first, then new ones.
   */
  async read(log: string, group: string, count = 100): Promise<LogEntry[]> {
    const held = this.lease;
    if (!held || !this.processing)
      throw new StaleEpochError('not-processing', this.revision, this.state.epoch);
    const reply = await this.counted(() =>
      fencedRead(held.redis, held.guard, this.logKey(held.guard.kind, log), group, this.revision, count),
    );
    if ('refused' in reply) throw this.refused(held, reply);
    return reply.entries;
  }

  /** Acknowledges entries read with `read` without writing anything for them (e.g. records it must skip). */
  async ack(log: string, group: string, entryIds: string[]): Promise<void> {
    const held = this.lease;
    if (!held || !this.processing)
      throw new StaleEpochError('not-processing', this.revision, this.state.epoch);
    const refused = await this.counted(() =>
      fencedAck(held.redis, held.guard, this.logKey(held.guard.kind, log), group, entryIds),
    );
    if (refused) throw this.refused(held, refused);
  }

  /**
   * Records the newest sequence id this replica received from the source (a `SequencedAppender` does it
   * for every record pushed). Published with each heartbeat, in every mode, as the app's source position:
   * the watch measures production's lag behind it, so a writer that stalls shows while the standby
   * replicas go on receiving.
   */
  noteSourcePosition(id: number): void {
    if (Number.isSafeInteger(id) && id > this.sourceSeen) this.sourceSeen = id;
  }

  /** What a receive buffer for `log` holds without a hole (reported, so a writer missing ids knows who has them). */
  noteBuffered(log: string, range: { from: number; to: number } | undefined): void {
    if (range) this.buffered.set(log, range);
    else this.buffered.delete(log);
  }

  /** Production waits at `id` of `log` (reported), or no longer waits (undefined). */
  noteWaiting(waiting: { log: string; id: number } | undefined): void {
    this.waitingFor = waiting;
  }

  /**
   * Whether a live receiver (heartbeat within three intervals) of another revision in standby holds `id`
   * of `log` in its buffer: a revision Greenlight may hand production back to, which then writes it.
   * While one does, the writer must not skip `id`: skipping would commit past a frame that could still
   * be written. A candidate in mock mode does not count (production must not wait on an unvalidated
   * revision). A live receiver whose buffer is whole from `id` on holds it even if its last report is
   * older than the frame: it has been receiving since.
   */
  async otherRevisionHolds(log: string, id: number): Promise<boolean> {
    const [seconds, micros] = await this.prod.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const members = await this.prod.zrangebyscore(
      this.keys.reports,
      nowMs - 3 * this.options.heartbeatIntervalMs,
      '+inf',
    );
    const others = members.filter((m) => !m.startsWith(`${this.revision}|`));
    if (others.length === 0) return false;
    const values = await this.prod.mget(...others.map((m) => this.keys.report(m)));
    return values.some((v) => {
      if (!v) return false;
      let report: RevisionReport;
      try {
        report = JSON.parse(v) as RevisionReport;
      } catch {
        return false; // an unreadable report holds nothing
      }
      const range = report.buffered?.[log];
      return report.mode === 'standby' && range !== undefined && range.from <= id;
    });
  }

  /** Counts an error of the workload's own (e.g. a frame it could not parse) in the report. */
  countError(): void {
    this.counts.errors += 1;
  }

  /** The heartbeat this replica writes. */
  report(): RevisionReport {
    return {
      revision: this.revision,
      mode: this.state.mode,
      binding: this.state.binding,
      epoch: this.state.epoch,
      holdsLease: this.holdsLease,
      processing: this.processing,
      writes: { prod: this.counts.prod, temp: this.counts.temp, rejected: this.counts.rejected },
      duplicates: this.counts.duplicates,
      gaps: this.counts.gaps,
      ...(this.buffered.size > 0 ? { buffered: Object.fromEntries(this.buffered) } : {}),
      ...(this.waitingFor ? { waitingFor: this.waitingFor } : {}),
      errors: this.counts.errors,
      ...(this.lastProdWriteAt ? { lastProdWriteAt: this.lastProdWriteAt } : {}),
      ...(this.lastTempWriteAt ? { lastTempWriteAt: this.lastTempWriteAt } : {}),
      heartbeatAt: new Date().toISOString(),
    };
  }

  /** Reads the control record now and applies it (also done on every change message and periodically). */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const run = async (): Promise<void> => {
      do {
        this.syncAgain = false;
        await this.sync();
      } while (this.syncAgain && !this.stopped);
    };
    this.syncing = run().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private connection(url: string, role: string): Redis {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5_000,
      // No command waits longer than part of a lease: a renewal stuck on a dead socket must fail.
      commandTimeout: Math.min(Math.max(this.options.leaseTtlMs / 2, 500), 5_000),
      // Fail a command after one reconnect attempt, so the agent notices a blip and stops processing...
      maxRetriesPerRequest: 1,
      // ...but keep reconnecting for ever: an always-on workload outlives any Redis outage.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      ...this.options.redis,
    });
    redis.on('error', (e: Error) =>
      this.options.logger.warn(`${this.revision}: ${role} Redis: ${e.message}`),
    );
    return redis;
  }

  private disconnectAll(): void {
    for (const r of [this.subscriber, this.prod, this.temp]) r?.disconnect();
  }

  private bindingRedis(): Redis | undefined {
    return this.state.binding === 'temp' ? this.temp : this.prod;
  }

  private logKey(kind: 'prod' | 'mock', log: string): string {
    return kind === 'prod'
      ? prodLogKey(this.keyPrefix, this.app, log)
      : mockKey(this.keyPrefix, this.app, this.revision, log);
  }

  private async counted<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      this.counts.errors += 1;
      throw e;
    }
  }

  private async sync(): Promise<void> {
    let record: ControlRecord | undefined;
    try {
      const raw = await this.prod.hget(this.keys.record, recordFields.record);
      record = raw ? decodeRecord(raw) : undefined;
    } catch (e) {
      // The lease heartbeat demotes the agent if Redis stays away; the next read tries again.
      this.options.logger.warn(`${this.revision}: cannot read the control record: ${errorMessage(e)}`);
      return;
    }
    const previous = this.state;
    this.state = {
      ...flagsOf(record, this.revision),
      epoch: record?.epoch ?? 0,
      active: record?.active ?? null,
    };
    const wanted = this.wantedLease();
    // A lease that ran out locally is taken again below (the server keeps it while it is still ours).
    if (this.lease && (this.lease.validUntil ?? 0) <= Date.now()) this.lease = undefined;
    if (this.lease && !(wanted && sameLease(wanted, this.lease))) await this.dropLease(this.lease);
    if (
      previous.mode !== this.state.mode ||
      previous.binding !== this.state.binding ||
      previous.epoch !== this.state.epoch ||
      previous.active !== this.state.active
    ) {
      this.options.logger.info(
        `${this.revision}: ${this.state.mode}/${this.state.binding} at epoch ${this.state.epoch} (active ${this.state.active ?? 'none'})`,
      );
      this.emit('mode', this.current);
    }
    if (wanted && !this.lease) await this.tryAcquire(wanted);
    this.updateProcessing();
  }

  /** The lease the current flags call for, if any. */
  private wantedLease(): HeldLease | undefined {
    if (!this.options.holdLease || this.stopped) return undefined;
    const { mode, epoch, active } = this.state;
    if (mode === 'prod' && active === this.revision) {
      return {
        redis: this.prod,
        guard: {
          kind: 'prod',
          recordKey: this.keys.record,
          leaseKey: this.keys.lease,
          epoch,
          revision: this.revision,
          token: `${this.revision}|${epoch}|${this.replica}`,
        },
      };
    }
    if (mode === 'mock') {
      const redis = this.bindingRedis();
      if (!redis) {
        this.options.logger.warn(`${this.revision}: mock mode on the temporary Redis, but no URL for it`);
        return undefined;
      }
      const leaseKey = mockKey(this.keyPrefix, this.app, this.revision, 'lease');
      return {
        redis,
        guard: {
          kind: 'mock',
          recordKey: leaseKey,
          leaseKey,
          epoch,
          revision: this.revision,
          token: this.replica,
        },
      };
    }
    return undefined;
  }

  private async tryAcquire(wanted: HeldLease): Promise<void> {
    try {
      const sentAt = Date.now();
      const refused = await acquireLease(wanted.redis, wanted.guard, this.options.leaseTtlMs);
      if (!refused) {
        this.lease = { ...wanted, validUntil: sentAt + this.options.leaseTtlMs };
        this.options.logger.info(
          `${this.revision}: holds the ${wanted.guard.kind} lease at epoch ${wanted.guard.epoch}`,
        );
      } else if (refused.refused === 'epoch') {
        // The record moved on between the read and the take: read it again.
        this.syncAgain = true;
      }
      // Held by another replica at this epoch: try again at the next read.
    } catch (e) {
      this.options.logger.warn(
        `${this.revision}: cannot take the ${wanted.guard.kind} lease: ${errorMessage(e)}`,
      );
    }
  }

  private async dropLease(held: HeldLease): Promise<void> {
    this.lease = undefined;
    this.updateProcessing();
    try {
      await releaseLease(held.redis, held.guard.leaseKey, held.guard.token);
    } catch (e) {
      // It expires on its own; a fenced-out lease is taken over at once by the new epoch anyway.
      this.options.logger.warn(`${this.revision}: cannot release the lease: ${errorMessage(e)}`);
    }
  }

  /** Stops processing at once and re-reads the record, which takes the lease again if still entitled. */
  private loseLease(held: HeldLease, why: string): void {
    if (this.lease !== held) return;
    this.options.logger.warn(`${this.revision}: stops processing: ${why}`);
    this.lease = undefined;
    this.updateProcessing();
    void this.refresh();
  }

  private refused(held: HeldLease, r: Refusal): StaleEpochError {
    const error =
      r.refused === 'epoch'
        ? new StaleEpochError('epoch', this.revision, held.guard.epoch, {
            ...(r.epoch !== undefined ? { epoch: r.epoch } : {}),
            active: r.active,
          })
        : new StaleEpochError('lease', this.revision, held.guard.epoch, { holder: r.holder });
    this.loseLease(held, error.message);
    return error;
  }

  private async heartbeat(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    try {
      const held = this.lease;
      if (held && (held.validUntil ?? 0) <= Date.now()) {
        this.loseLease(held, 'the lease ran out before a renewal succeeded');
      } else if (held) {
        try {
          const sentAt = Date.now();
          const refused = await renewLease(held.redis, held.guard, this.options.leaseTtlMs);
          if (refused) this.refused(held, refused);
          else held.validUntil = sentAt + this.options.leaseTtlMs;
        } catch (e) {
          // Unable to show it still holds the lease: stop until a read of the record says otherwise.
          this.loseLease(held, `cannot renew the lease: ${errorMessage(e)}`);
        }
      }
      // A renewal in flight when stop() began must not put back the report stop() withdraws
      // (stop's DEL goes out later on the same connection, so checking here is enough).
      if (this.stopped) return;
      await this.publishSourcePosition();
      const member = reportMember(this.revision, this.replica);
      await writeHeartbeat(
        this.prod,
        { report: this.keys.report(member), index: this.keys.reports },
        member,
        JSON.stringify({ ...this.report(), replica: this.replica }),
        this.options.reportTtlMs,
      ).catch((e: unknown) =>
        this.options.logger.warn(`${this.revision}: cannot write its report: ${errorMessage(e)}`),
      );
    } finally {
      this.beating = false;
    }
  }

  private async publishSourcePosition(): Promise<void> {
    const seen = this.sourceSeen;
    if (seen <= this.sourcePublished) return;
    try {
      await advanceSourcePosition(this.prod, sourceKey(this.keyPrefix, this.app), seen);
      this.sourcePublished = Math.max(this.sourcePublished, seen);
    } catch (e) {
      // Published again with the next heartbeat; until then the watch sees an older position.
      this.options.logger.warn(`${this.revision}: cannot publish the source position: ${errorMessage(e)}`);
    }
  }

  private updateProcessing(): void {
    const now = this.processing;
    if (now === this.wasProcessing) return;
    this.wasProcessing = now;
    this.emit('processing', now);
  }
}

function sameLease(a: HeldLease, b: HeldLease): boolean {
  return (
    a.redis === b.redis &&
    a.guard.kind === b.guard.kind &&
    a.guard.leaseKey === b.guard.leaseKey &&
    a.guard.token === b.guard.token
  );
}
