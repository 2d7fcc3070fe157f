import type { OrchestrationContext, RetryOptions, Task, TimerTask } from 'durable-functions';
import { call, type ActivityInput, type ActivityName, type ActivityOutput } from '../../activities/contract';
import { parseEvent, type EventName, type EventPayloads } from '../../domain/events';
import { parseMemberReport } from '../../domain/release/events';
import type { MemberReport, ReleaseInput, ReleaseMemberInput, ReleasePlan } from '../../domain/release/types';
import type { ApprovalDecision } from '../../domain/rollout/types';
import { Events } from '../../names';
import { anyOf } from '../anyOf';
import { stepRetry } from '../retry';
import { toDecision } from '../signals';
import { StopRollout } from '../stop';
import { EventInbox } from './inbox';
import { ReleaseRecorder } from './recorder';

/** What the release knows of one member from its reports. */
export interface MemberState {
  readonly member: ReleaseMemberInput;
  /** The release started its rollout (only started members are aborted or undone). */
  started: boolean;
  validated: boolean;
  /** Why this member wants a person to approve (an inconclusive gate that pauses), if it does. */
  approvalNeeded?: string[];
  /** Lockstep: the last step it reported done (0-based), -1 before any. */
  stepDone: number;
  promotedReported: boolean;
  watched: boolean;
  succeeded: boolean;
  /** Its last report: how it ended. */
  finished?: Extract<MemberReport, { kind: 'finished' }>;
}

/** Why a wait ended, when it did not end by its condition. */
export type WaitEnd =
  | { kind: 'done' }
  | { kind: 'elapsed' }
  | { kind: 'promoted'; by: string }
  | { kind: 'approval'; decision: ApprovalDecision }
  | { kind: 'undo'; by: string; reason?: string };

export interface WaitOptions {
  /** Epoch ms at which the wait ends `elapsed`. */
  deadline?: number;
  /** A well-formed `promote` ends the wait. */
  promote?: boolean;
  /** A well-formed approval decision ends the wait. */
  approval?: boolean;
  /** An `undo` (or an `abort`, which after success means the same) ends the wait. */
  undo?: boolean;
  /** An `abort` stops the release (throws StopRollout); off while the release restores. Default on. */
  abortStops?: boolean;
  /** A member that ended stops the release (forward phases). Default on. */
  memberEndStops?: boolean;
}

type Signal = EventName;

/** One release: its input, status, the events it reads and what each member has reported. */
export class ReleaseRun {
  readonly input: ReleaseInput;
  readonly plan: ReleasePlan;
  readonly recorder: ReleaseRecorder;
  readonly members: MemberState[];
  /**
   * The member orchestrations, once started: `all` ends early when one fails outright (throws without
   * reporting how it ended), which every wait also listens for, so such a member cannot hold the release.
   */
  memberRuns?: { all: Task; each: Task[] };
  /** Members in the order they took production: restored in reverse. */
  readonly promotionOrder: string[] = [];
  /** Epoch ms of the first member's `succeeded`: the release's undo window starts there. */
  firstSucceededAt?: number;
  /** Who promoted, once a well-formed `promote` came. */
  private promotedBy?: string;
  private readonly reports: EventInbox<MemberReport>;
  private readonly signals: { [N in Signal]: EventInbox<EventPayloads[N]> };

  constructor(readonly context: OrchestrationContext) {
    this.input = context.df.getInput<ReleaseInput>();
    this.plan = this.input.plan;
    this.recorder = new ReleaseRecorder(context, this.input);
    this.members = this.input.members.map((member) => ({
      member,
      started: false,
      validated: false,
      stepDone: -1,
      promotedReported: false,
      watched: false,
      succeeded: false,
    }));
    const ignored = (name: string) => (problem: string) => this.recorder.eventIgnored(name, problem);
    this.reports = new EventInbox(
      context,
      Events.memberReport,
      parseMemberReport,
      ignored(Events.memberReport),
    );
    const inbox = <N extends Signal>(name: N) =>
      new EventInbox<EventPayloads[N]>(
        context,
        Events[name],
        (payload) => {
          const parsed = parseEvent(name, payload);
          return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, problem: parsed.problem };
        },
        ignored(name),
      );
    this.signals = {
      abort: inbox('abort'),
      promote: inbox('promote'),
      approval: inbox('approval'),
      undo: inbox('undo'),
    };
  }

  get releaseId(): string {
    return this.input.releaseId;
  }

  member(app: string): MemberState {
    return this.members.find((m) => m.member.app === app)!;
  }

  call<N extends ActivityName>(
    name: N,
    input: ActivityInput<N>,
    retry: RetryOptions = stepRetry,
  ): Generator<Task, ActivityOutput<N>, unknown> {
    return call(this.context, name, input, retry);
  }

  now(): number {
    return this.context.df.currentUtcDateTime.getTime();
  }

  /**
   * Waits until `done()` holds, reading member reports and operator events as they come. Only fresh
   * event waiters (and a timer) are yielded: never a member's running sub-orchestration, and nothing per
   * interval, so the history grows with the events, not with time.
   */
  *wait(done: () => boolean, opts: WaitOptions = {}): Generator<Task, WaitEnd, unknown> {
    const { context } = this;
    const abortStops = opts.abortStops ?? true;
    const memberEndStops = opts.memberEndStops ?? true;
    for (;;) {
      this.readReports();
      this.readOutrightFailures();
      if (abortStops && !opts.undo) {
        const abort = this.signals.abort.take();
        if (abort) throw new StopRollout(`aborted by ${abort.by}${abort.reason ? `: ${abort.reason}` : ''}`);
      }
      if (opts.undo) {
        const undo = this.signals.undo.take() ?? this.signals.abort.take();
        if (undo) return { kind: 'undo', by: undo.by, ...(undo.reason ? { reason: undo.reason } : {}) };
      }
      if (memberEndStops) {
        const ended = this.members.find((m) => m.finished);
        if (ended?.finished) {
          const f = ended.finished;
          throw new StopRollout(`member ${f.app} ended ${f.outcome}${f.reason ? `: ${f.reason}` : ''}`);
        }
      }
      if (done()) return { kind: 'done' };
      if (opts.approval) {
        const d = this.signals.approval.take();
        if (d) return { kind: 'approval', decision: toDecision(d) };
      }
      if (opts.promote) {
        // Kept once received: one promote skips the approval and the bake after it, as for a rollout.
        this.promotedBy ??= this.signals.promote.take()?.by;
        if (this.promotedBy) return { kind: 'promoted', by: this.promotedBy };
      }
      if (opts.deadline !== undefined && this.now() >= opts.deadline) return { kind: 'elapsed' };
      let timer: TimerTask | undefined;
      if (opts.deadline !== undefined) timer = context.df.createTimer(new Date(opts.deadline));
      const listening = [
        this.reports.listen(),
        this.signals.abort.listen(),
        this.signals.promote.listen(),
        this.signals.approval.listen(),
        this.signals.undo.listen(),
      ];
      const runs = this.memberRuns;
      if (runs && !runs.all.isCompleted) listening.push(runs.all);
      // `all` was scheduled when the members started: `anyOf` does not send it again.
      const winner = yield anyOf(context, timer ? [...listening, timer] : listening);
      if (timer && winner !== timer) timer.cancel();
    }
  }

  /**
   * A member whose orchestration failed outright never reports its end: it is taken as ended, and as
   * RollbackFailed, since nothing says its app was put back.
   */
  private readOutrightFailures(): void {
    const runs = this.memberRuns;
    if (!runs) return;
    runs.each.forEach((task, i) => {
      const m = this.members[i];
      if (!m || m.finished || !task.isFaulted) return;
      const why = task.result instanceof Error ? task.result.message : String(task.result);
      const report: Extract<MemberReport, { kind: 'finished' }> = {
        kind: 'finished',
        app: m.member.app,
        rolloutId: m.member.rolloutId,
        outcome: 'RollbackFailed',
        reason: `its rollout failed outright: ${why.split('\n')[0]!.slice(0, 300)}`,
        leftToDo: [
          `check ${m.member.app} against its snapshot (rollout ${m.member.rolloutId} ended without restoring it)`,
        ],
        promoted: m.promotedReported,
      };
      m.finished = report;
      this.recorder.reported(report);
    });
  }

  /** Applies every report received so far to the members' states and the status. */
  private readReports(): void {
    for (;;) {
      const r = this.reports.take();
      if (!r) return;
      const m = this.members.find((x) => x.member.rolloutId === r.rolloutId && x.member.app === r.app);
      if (!m) {
        this.recorder.eventIgnored(
          Events.memberReport,
          `report from '${r.rolloutId}', not a member of this release`,
        );
        continue;
      }
      switch (r.kind) {
        case 'validated':
          m.validated = true;
          if (r.approvalNeeded?.length) m.approvalNeeded = r.approvalNeeded;
          break;
        case 'stepDone':
          m.stepDone = Math.max(m.stepDone, r.step);
          break;
        case 'promoted':
          m.promotedReported = true;
          break;
        case 'watched':
          m.watched = true;
          break;
        case 'succeeded':
          m.succeeded = true;
          this.firstSucceededAt ??= this.now();
          break;
        case 'finished':
          m.finished = r;
          break;
      }
      this.recorder.reported(r);
    }
  }
}
