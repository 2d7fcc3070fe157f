import type { OrchestrationContext } from 'durable-functions';
import type { ApprovalDecision } from '../../domain/rollout/types';
import { clip as clipText } from '../../domain/text';
import type {
  MemberReport,
  ReleaseInput,
  ReleaseMemberStatus,
  ReleaseOutcome,
  ReleasePhase,
  ReleaseStatus,
} from '../../domain/release/types';

const maxTimeline = 50;
const maxIgnoredEvents = 10;
/** What is left to do, per member and in all: enough to act on, bounded so the status stays small. */
const maxLeftToDo = 10;
const clip = (s: string, max = 500): string => clipText(s, max);

function bounded(items: string[], max = maxLeftToDo): string[] {
  const kept = items.slice(0, max).map((l) => clip(l, 300));
  return items.length > max
    ? [...kept, `… and ${items.length - max} more (see each member's rollout)`]
    : kept;
}

/** The release's custom status, kept small and published on every change. */
export class ReleaseRecorder {
  readonly status: ReleaseStatus;

  constructor(
    private readonly context: OrchestrationContext,
    input: ReleaseInput,
  ) {
    this.status = {
      releaseId: input.releaseId,
      name: input.plan.name,
      order: input.plan.order,
      phase: 'Queued',
      members: input.members.map((m) => ({ app: m.app, rolloutId: m.rolloutId, promoted: false })),
      timeline: [{ at: this.now(), phase: 'Queued' }],
      updatedAt: this.now(),
    };
    this.publish();
  }

  member(app: string): ReleaseMemberStatus {
    return this.status.members.find((m) => m.app === app)!;
  }

  enter(phase: ReleasePhase, note?: string): void {
    this.status.phase = phase;
    this.push({ at: this.now(), phase, ...(note ? { note: clip(note) } : {}) });
  }

  note(note: string): void {
    this.push({ at: this.now(), note: clip(note) });
  }

  /** A member's report, as its line in the status shows it. */
  reported(r: MemberReport): void {
    const m = this.member(r.app);
    switch (r.kind) {
      case 'validated':
        m.phase = 'Validated';
        break;
      case 'stepDone':
        m.step = Math.max(m.step ?? -1, r.step);
        break;
      case 'promoted':
        m.phase = 'Promoted';
        break;
      case 'watched':
        m.phase = 'Watched';
        break;
      case 'succeeded':
        m.phase = 'Succeeded';
        break;
      case 'finished':
        m.phase = 'Finished';
        m.outcome = r.outcome;
        if (r.reason) m.reason = clip(r.reason);
        if (r.leftToDo?.length) m.leftToDo = bounded(r.leftToDo);
        break;
    }
    this.publish();
  }

  memberPhase(app: string, phase: ReleaseMemberStatus['phase']): void {
    this.member(app).phase = phase;
    this.publish();
  }

  memberLeftToDo(app: string, leftToDo: string[]): void {
    this.member(app).leftToDo = bounded(leftToDo);
    this.publish();
  }

  promoted(app: string): void {
    this.member(app).promoted = true;
    this.publish();
  }

  queuedBehind(busy: { app: string; holder: string }[]): void {
    if (busy.length) this.status.queuedBehind = busy;
    else delete this.status.queuedBehind;
    this.publish();
  }

  step(index: number, of: number): void {
    this.status.step = { index, of };
    this.publish();
  }

  approvalPending(pageUrl: string, expiresAt: string): void {
    this.status.approval = { state: 'pending', pageUrl, expiresAt };
    this.publish();
  }

  approvalDecided(d: ApprovalDecision): void {
    this.status.approval = {
      state: d.decision === 'approve' ? 'approved' : 'rejected',
      by: d.approver,
      at: d.decidedAt,
      ...(d.comment ? { comment: clip(d.comment) } : {}),
    };
    this.publish();
  }

  approvalEnded(state: 'skipped' | 'timedOut' | 'notRequired', by?: string): void {
    this.status.approval = { state, ...(by ? { by } : {}), at: this.now() };
    this.publish();
  }

  setUndo(undo: NonNullable<ReleaseStatus['undo']>): void {
    this.status.undo = undo;
    this.publish();
  }

  eventIgnored(name: string, problem: string): void {
    const ignored = [...(this.status.ignoredEvents ?? []), { name, at: this.now(), problem: clip(problem) }];
    this.status.ignoredEvents = ignored.slice(-maxIgnoredEvents);
    this.publish();
  }

  finish(outcome: ReleaseOutcome, reason: string | undefined, leftToDo: string[] = []): void {
    this.status.outcome = outcome;
    if (reason) this.status.reason = clip(reason);
    if (leftToDo.length) this.status.leftToDo = bounded(leftToDo, 3 * maxLeftToDo);
    else delete this.status.leftToDo;
    delete this.status.queuedBehind;
    this.enter(outcome);
  }

  private push(entry: ReleaseStatus['timeline'][number]): void {
    this.status.timeline.push(entry);
    // Bounded: keep the first entry and the latest.
    if (this.status.timeline.length > maxTimeline) this.status.timeline.splice(1, 1);
    this.publish();
  }

  private publish(): void {
    this.status.updatedAt = this.now();
    this.context.df.setCustomStatus(this.status);
  }

  private now(): string {
    return this.context.df.currentUtcDateTime.toISOString();
  }
}
