import type { OrchestrationContext } from 'durable-functions';
import type { TrafficEntry } from '../domain/ports/containerApps';
import type { ControlRecord } from '../domain/flag/control';
import type { DeliveryOutcome } from '../domain/ports/notify';
import type { MockReport } from '../domain/flag/validation';
import type { RolloutPhase } from '../domain/rollout/phase';
import type {
  ApprovalDecision,
  CheckResult,
  GateReport,
  RolloutInput,
  RolloutOutcome,
  RollbackProgress,
  RolloutStatus,
  SmokeReport,
  UndoStatus,
} from '../domain/rollout/types';
import { clip as clipText } from '../domain/text';

const maxTimeline = 40;
const maxIgnoredEvents = 10;
const maxNotifications = 20;
const maxText = 500;

/** Keeps the rollout's custom status (what the status API serves) and publishes every change. */
export class RolloutRecorder {
  readonly status: RolloutStatus;

  constructor(
    private readonly context: OrchestrationContext,
    input: RolloutInput,
  ) {
    const at = this.now();
    this.status = {
      rolloutId: input.rolloutId,
      app: input.plan.app,
      image: input.image,
      strategy: input.plan.strategy.type,
      phase: 'Initializing',
      blue: [],
      checks: {},
      gates: [],
      approval: { state: input.plan.approval.required ? 'upcoming' : 'notRequired' },
      timeline: [{ phase: 'Initializing', at }],
      updatedAt: at,
    };
    this.publish();
  }

  enter(phase: RolloutPhase, note?: string): void {
    this.status.phase = phase;
    this.status.timeline.push({ phase, at: this.now(), ...(note ? { note: clip(note) } : {}) });
    // Bounded so a long rollout never nears the 16 KB custom status limit: keep the first and the latest.
    if (this.status.timeline.length > maxTimeline) this.status.timeline.splice(1, 1);
    this.publish();
  }

  note(note: string): void {
    const last = this.status.timeline[this.status.timeline.length - 1];
    if (last) last.note = clip(last.note ? `${last.note}; ${note}` : note);
    this.publish();
  }

  setBlue(revisions: string[]): void {
    this.status.blue = revisions;
    this.publish();
  }

  setGreen(revision: string): void {
    this.status.green = revision;
    this.publish();
  }

  setTraffic(traffic: TrafficEntry[]): void {
    this.status.traffic = traffic;
    this.publish();
  }

  setStep(index: number, of: number, weight: number): void {
    this.status.step = { index, of, weight };
    this.publish();
  }

  setReadiness(result: CheckResult): void {
    this.status.checks.readiness = { ...result, message: clip(result.message) };
    this.publish();
  }

  setSmoke(report: SmokeReport): void {
    this.status.checks.smoke = {
      ...report,
      results: report.results.slice(0, 20).map((r) => ({ ...r, message: clip(r.message) })),
    };
    this.publish();
  }

  setFlags(record: ControlRecord): void {
    this.status.flags = { epoch: record.epoch, active: record.active, revisions: record.revisions };
    this.publish();
  }

  setMock(report: MockReport): void {
    this.status.checks.mock = { ...report, message: clip(report.message) };
    this.publish();
  }

  setFlip(result: CheckResult): void {
    this.status.checks.flip = { ...result, message: clip(result.message) };
    this.publish();
  }

  setGates(report: GateReport): void {
    this.status.gates = report.results.slice(0, 20).map((r) => ({ ...r, message: clip(r.message) }));
    this.publish();
  }

  /** Change control: the admission verdict, the latest production-change check, overrides. */
  setChangeControl(changeControl: RolloutStatus['changeControl']): void {
    if (changeControl) this.status.changeControl = changeControl;
    this.publish();
  }

  setGuardrails(findings: RolloutStatus['guardrails']): void {
    if (findings?.length) this.status.guardrails = findings;
    this.publish();
  }

  approvalPending(pageUrl: string, expiresAt: string): void {
    this.status.approval = { state: 'pending', pageUrl, expiresAt };
    this.publish();
  }

  approvalDecided(d: ApprovalDecision): void {
    this.status.approval = {
      state: d.decision === 'approve' ? 'approved' : 'rejected',
      decidedBy: d.approver,
      decidedAt: d.decidedAt,
      ...(d.comment ? { comment: clip(d.comment) } : {}),
    };
    this.publish();
  }

  approvalSkipped(by: string): void {
    this.status.approval = { state: 'skipped', decidedBy: by, decidedAt: this.now() };
    this.publish();
  }

  approvalTimedOut(): void {
    this.status.approval = { state: 'timedOut', decidedAt: this.now() };
    this.publish();
  }

  /** A malformed external event: kept (the latest few) so an operator sees what was ignored and why. */
  eventIgnored(name: string, problem: string): void {
    const ignored = [...(this.status.ignoredEvents ?? []), { name, at: this.now(), problem: clip(problem) }];
    this.status.ignoredEvents = ignored.slice(-maxIgnoredEvents);
    this.publish();
  }

  /** Notification outcomes, the latest few: a channel that is down shows here, never fails the rollout. */
  notified(outcomes: DeliveryOutcome[]): void {
    if (!outcomes.length) return;
    const all = [
      ...(this.status.notifications ?? []),
      ...outcomes.map((o) => (o.reason ? { ...o, reason: clip(o.reason) } : o)),
    ];
    this.status.notifications = all.slice(-maxNotifications);
    this.publish();
  }

  /** Where a retried compensation stands; cleared when the undo is done. */
  setRollback(progress: RollbackProgress | undefined): void {
    if (progress) this.status.rollback = { ...progress, lastError: clip(progress.lastError) };
    else delete this.status.rollback;
    this.publish();
  }

  finish(outcome: RolloutOutcome, reason: string, leftToDo: string[] = []): void {
    this.status.outcome = outcome;
    this.status.reason = clip(reason);
    if (leftToDo.length) this.status.leftToDo = leftToDo.map(clip);
    this.enter(outcome);
  }

  /** Undo after promotion: the window, and who undid the rollout, why and when. */
  setUndo(undo: UndoStatus): void {
    this.status.undo = { ...undo, ...(undo.reason ? { reason: clip(undo.reason) } : {}) };
    this.publish();
  }

  /** What an operator must still do by hand, after the rollout recorded its outcome. */
  setLeftToDo(leftToDo: string[]): void {
    if (leftToDo.length) this.status.leftToDo = leftToDo.map(clip);
    else delete this.status.leftToDo;
    this.publish();
  }

  private now(): string {
    return this.context.df.currentUtcDateTime.toISOString();
  }

  private publish(): void {
    this.status.updatedAt = this.now();
    this.context.df.setCustomStatus(this.status);
  }
}

function clip(s: string): string {
  return clipText(s, maxText);
}
