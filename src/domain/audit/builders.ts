import type { TrafficEntry } from '../ports/containerApps';
import type { AuditActor, AuditApp, AuditDetails, AuditEntry, FlagState } from './entry';
import { auditId, unknownApp } from './entry';
import { clip as clipText } from '../text';

/** What Greenlight decided about one trigger; mirrors the request-a-rollout service's outcomes. */
export type AdmissionOutcome =
  | { kind: 'started'; rolloutId: string }
  | { kind: 'duplicate'; rolloutId: string }
  | { kind: 'queued'; rolloutId: string; behind: string }
  | { kind: 'superseding'; rolloutId: string; superseded: string; dropped: string[] }
  | { kind: 'rejected'; rolloutId: string; running: string }
  | { kind: 'refused'; rule: string; detail: string }
  | { kind: 'invalid'; detail: string };

export interface TriggerFacts {
  /** Deterministic id of the action (see `auditId`). */
  id: string;
  at: string;
  /** The app, or undefined when the trigger named none Greenlight knows. */
  app: AuditApp | undefined;
  actor: AuditActor;
  source: 'http' | 'eventGrid';
  /** The image as the trigger gave it (never a secret: a registry reference). */
  image?: string;
  eventId?: string;
}

const clip = (s: string, max = 300): string => clipText(s, max);

/** The audit entry of one trigger's admission. */
export function admissionEntry(t: TriggerFacts, o: AdmissionOutcome): AuditEntry {
  const details: AuditDetails = {
    source: t.source,
    ...(t.image ? { image: clip(t.image) } : {}),
    ...(t.eventId ? { eventId: clip(t.eventId, 200) } : {}),
  };
  const common = { id: t.id, at: t.at, app: t.app ?? unknownApp, actor: t.actor };
  const image = t.image ? clip(t.image) : 'an image';
  switch (o.kind) {
    case 'started':
      return {
        ...common,
        kind: 'admission.started',
        rolloutId: o.rolloutId,
        summary: `${t.actor.name} started rollout ${o.rolloutId} of ${image}`,
        details,
      };
    case 'duplicate':
      return {
        ...common,
        kind: 'admission.deduplicated',
        rolloutId: o.rolloutId,
        summary: `${t.actor.name} asked for ${image} again: same rollout ${o.rolloutId}, nothing new started`,
        details,
      };
    case 'queued':
      return {
        ...common,
        kind: 'admission.queued',
        rolloutId: o.rolloutId,
        summary: `${t.actor.name} queued rollout ${o.rolloutId} of ${image} behind ${o.behind}`,
        details: { ...details, behind: o.behind },
      };
    case 'superseding':
      return {
        ...common,
        kind: 'admission.superseded',
        rolloutId: o.rolloutId,
        summary: `${t.actor.name} started rollout ${o.rolloutId} of ${image}, superseding ${o.superseded}`,
        details: {
          ...details,
          superseded: o.superseded,
          ...(o.dropped.length ? { dropped: o.dropped.join(',') } : {}),
        },
      };
    case 'rejected':
      return {
        ...common,
        kind: 'admission.rejected',
        rolloutId: o.rolloutId,
        summary: `${t.actor.name} was refused rollout ${o.rolloutId} of ${image}: ${o.running} is running and the policy rejects a second`,
        details: { ...details, reason: 'concurrency', running: o.running },
      };
    case 'refused':
      return {
        ...common,
        kind: 'admission.rejected',
        summary: `${t.actor.name} was refused ${image}: ${clip(o.detail, 500)}`,
        details: { ...details, reason: 'notAllowed', rule: clip(o.rule, 200) },
      };
    case 'invalid':
      return {
        ...common,
        kind: 'admission.invalid',
        summary: `${t.actor.name} sent an invalid trigger: ${clip(o.detail, 500)}`,
        details,
      };
  }
}

/** Who decided, on which rollout: approvals and operator actions. */
export interface DecisionFacts {
  id: string;
  at: string;
  app: AuditApp;
  rolloutId: string;
  actor: AuditActor;
  reason?: string;
}

export function approvalEntry(f: DecisionFacts, decision: 'approve' | 'reject'): AuditEntry {
  const approved = decision === 'approve';
  return {
    id: f.id,
    at: f.at,
    app: f.app,
    rolloutId: f.rolloutId,
    actor: f.actor,
    kind: approved ? 'approval.approved' : 'approval.rejected',
    summary: `${f.actor.name} ${approved ? 'approved' : 'rejected'} rollout ${f.rolloutId}${f.reason ? `: ${clip(f.reason, 500)}` : ''}`,
    ...(f.reason ? { details: { comment: clip(f.reason, 500) } } : {}),
  };
}

const actionKinds = {
  promote: 'rollout.promoted',
  abort: 'rollout.aborted',
  undo: 'rollout.undone',
} as const;
const actionPast = { promote: 'promoted', abort: 'aborted', undo: 'undid' } as const;

export function actionEntry(f: DecisionFacts, action: 'promote' | 'abort' | 'undo'): AuditEntry {
  return {
    id: f.id,
    at: f.at,
    app: f.app,
    rolloutId: f.rolloutId,
    actor: f.actor,
    kind: actionKinds[action],
    summary: `${f.actor.name} ${actionPast[action]} rollout ${f.rolloutId}${f.reason ? `: ${clip(f.reason, 500)}` : ''}`,
    ...(f.reason ? { details: { reason: clip(f.reason, 500) } } : {}),
  };
}

/**
 * What the orchestration records: its writes and compensations. `step` names the write within the
 * rollout (e.g. `traffic:2`, `rollback:traffic`), so a replayed or retried call has the same id.
 */
export interface RolloutFacts {
  rolloutId: string;
  app: { subscriptionId: string; resourceGroup: string; name: string };
  /** The orchestration's own clock (`context.df.currentUtcDateTime`), so a retry stamps the same time. */
  at: string;
  step: string;
}

const system: AuditActor = { kind: 'system', name: 'greenlight' };

function common(f: RolloutFacts, kind: string, app: AuditApp) {
  return { id: auditId(f.rolloutId, kind, f.step), at: f.at, app, rolloutId: f.rolloutId, actor: system };
}

const describeTraffic = (t: TrafficEntry[]): string =>
  t.length === 0
    ? '(none)'
    : t.map((e) => `${e.revisionName} ${e.weight}%${e.label ? ` [${e.label}]` : ''}`).join(', ');

const plainTraffic = (t: TrafficEntry[]): TrafficEntry[] =>
  t.map((e) => ({ revisionName: e.revisionName, weight: e.weight, ...(e.label ? { label: e.label } : {}) }));

export function trafficEntry(
  f: RolloutFacts,
  app: AuditApp,
  before: TrafficEntry[],
  after: TrafficEntry[],
): AuditEntry {
  return {
    ...common(f, 'traffic.written', app),
    kind: 'traffic.written',
    summary: `traffic ${describeTraffic(before)} → ${describeTraffic(after)}`,
    before: { traffic: plainTraffic(before) },
    after: { traffic: plainTraffic(after) },
    details: { step: f.step },
  };
}

export function flagsEntry(f: RolloutFacts, app: AuditApp, before: FlagState, after: FlagState): AuditEntry {
  return {
    ...common(f, 'flags.written', app),
    kind: 'flags.written',
    summary: `flags epoch ${before.epoch} active ${before.active ?? '(none)'} → epoch ${after.epoch} active ${after.active ?? '(none)'}`,
    before: { epoch: before.epoch, active: before.active },
    after: { epoch: after.epoch, active: after.active },
    details: { step: f.step },
  };
}

export function compensationEntry(
  f: RolloutFacts,
  app: AuditApp,
  outcome: 'succeeded' | 'failed',
  message?: string,
): AuditEntry {
  return {
    ...common(f, 'compensation.ran', app),
    kind: 'compensation.ran',
    outcome,
    summary: `compensation ${f.step} ${outcome}${message ? `: ${clip(message, 500)}` : ''}`,
    details: { step: f.step, ...(message ? { message: clip(message, 500) } : {}) },
  };
}

export function finishedEntry(f: RolloutFacts, app: AuditApp, outcome: string, reason?: string): AuditEntry {
  return {
    ...common(f, 'rollout.finished', app),
    kind: 'rollout.finished',
    outcome,
    summary: `rollout ${f.rolloutId} finished: ${outcome}${reason ? ` (${clip(reason, 500)})` : ''}`,
    ...(reason ? { details: { reason: clip(reason, 500) } } : {}),
  };
}

/** What the orchestration hands the `appendAudit` activity: the facts; the activity builds the entry. */
export type RolloutAuditRecord = RolloutFacts &
  (
    | { kind: 'traffic.written'; before: TrafficEntry[]; after: TrafficEntry[] }
    | { kind: 'flags.written'; before: FlagState; after: FlagState }
    | { kind: 'compensation.ran'; outcome: 'succeeded' | 'failed'; message?: string }
    | { kind: 'rollout.finished'; outcome: string; reason?: string }
  );

export function rolloutAuditEntry(r: RolloutAuditRecord, app: AuditApp): AuditEntry {
  const f: RolloutFacts = { rolloutId: r.rolloutId, app: r.app, at: r.at, step: r.step };
  switch (r.kind) {
    case 'traffic.written':
      return trafficEntry(f, app, r.before, r.after);
    case 'flags.written':
      return flagsEntry(f, app, r.before, r.after);
    case 'compensation.ran':
      return compensationEntry(f, app, r.outcome, r.message);
    case 'rollout.finished':
      return finishedEntry(f, app, r.outcome, r.reason);
  }
}

// ---- Coordinated releases: entries under the app `release:<name>`, the release id as `rolloutId` ----

/** The audit trail's "app" for a release: one stream per release name, beside the apps' own. */
export function releaseAuditApp(release: string): AuditApp {
  return { key: `release:${release}`.slice(0, 300), name: release.slice(0, 200) };
}

/** What Greenlight decided about one release request (HTTP or a completed gathering of pushes). */
export type ReleaseAdmissionOutcome =
  | { kind: 'started'; releaseId: string }
  | { kind: 'duplicate'; releaseId: string }
  | { kind: 'queued'; releaseId: string; behind: string }
  | { kind: 'superseding'; releaseId: string; superseded: string }
  | { kind: 'rejected'; releaseId?: string; running?: string; detail: string }
  | { kind: 'invalid'; detail: string };

export interface ReleaseTriggerFacts {
  id: string;
  at: string;
  release: string;
  actor: AuditActor;
  source: 'http' | 'eventGrid';
  /** `member=image` pairs, as requested. */
  images?: Record<string, string>;
  reason?: string;
}

const describeImages = (images: Record<string, string> | undefined): string =>
  images && Object.keys(images).length > 0
    ? Object.entries(images)
        .map(([app, image]) => `${app}=${image}`)
        .join(', ')
    : 'no images';

/** The audit entry of one release request's admission. */
export function releaseAdmissionEntry(t: ReleaseTriggerFacts, o: ReleaseAdmissionOutcome): AuditEntry {
  const details: AuditDetails = {
    source: t.source,
    images: clip(describeImages(t.images), 1000),
    ...(t.reason ? { reason: clip(t.reason, 500) } : {}),
  };
  const common = { id: t.id, at: t.at, app: releaseAuditApp(t.release), actor: t.actor };
  const what = `release ${t.release} (${clip(describeImages(t.images), 400)})`;
  switch (o.kind) {
    case 'started':
      return {
        ...common,
        kind: 'release.started',
        rolloutId: o.releaseId,
        summary: `${t.actor.name} started ${o.releaseId}: ${what}`,
        details,
      };
    case 'duplicate':
      return {
        ...common,
        kind: 'release.deduplicated',
        rolloutId: o.releaseId,
        summary: `${t.actor.name} asked for ${what} again: same release ${o.releaseId}, nothing new started`,
        details,
      };
    case 'queued':
      return {
        ...common,
        kind: 'release.queued',
        rolloutId: o.releaseId,
        summary: `${t.actor.name} started ${o.releaseId}: ${what}, waiting behind ${o.behind}`,
        details: { ...details, behind: o.behind },
      };
    case 'superseding':
      return {
        ...common,
        kind: 'release.superseded',
        rolloutId: o.releaseId,
        summary: `${t.actor.name} started ${o.releaseId}: ${what}, superseding ${o.superseded}`,
        details: { ...details, superseded: o.superseded },
      };
    case 'rejected':
      return {
        ...common,
        kind: 'release.rejected',
        ...(o.releaseId ? { rolloutId: o.releaseId } : {}),
        summary: `${t.actor.name} was refused ${what}: ${clip(o.detail, 500)}`,
        details: { ...details, ...(o.running ? { running: o.running } : {}) },
      };
    case 'invalid':
      return {
        ...common,
        kind: 'release.invalid',
        summary: `${t.actor.name} sent an invalid release request: ${clip(o.detail, 500)}`,
        details,
      };
  }
}

/** A push gathered into a release, or a gathering that closed before every member had an image. */
export function releaseGatherEntry(
  f: { id: string; at: string; release: string; key: string; actor: AuditActor },
  g:
    | { kind: 'gathered'; app: string; image: string }
    | { kind: 'incomplete'; missing: string[]; images: Record<string, string> },
): AuditEntry {
  const common = { id: f.id, at: f.at, app: releaseAuditApp(f.release), actor: f.actor };
  if (g.kind === 'gathered') {
    return {
      ...common,
      kind: 'release.gathered',
      summary: `push of ${clip(g.image)} for ${g.app} gathered into release ${f.release} (key ${clip(f.key, 100)})`,
      details: { key: clip(f.key, 200), member: clip(g.app, 200), image: clip(g.image) },
    };
  }
  return {
    ...common,
    kind: 'release.gatherIncomplete',
    summary: `release ${f.release} (key ${clip(f.key, 100)}) not started: no image for ${g.missing.join(', ')} before the gathering window closed`,
    details: {
      key: clip(f.key, 200),
      missing: clip(g.missing.join(','), 500),
      images: clip(describeImages(g.images), 1000),
    },
  };
}

const releaseActionKinds = {
  promote: 'release.promoted',
  abort: 'release.aborted',
  undo: 'release.undone',
} as const;

/** Who promoted, aborted or undid a release. */
export function releaseActionEntry(
  f: { id: string; at: string; release: string; releaseId: string; actor: AuditActor; reason?: string },
  action: 'promote' | 'abort' | 'undo',
): AuditEntry {
  return {
    id: f.id,
    at: f.at,
    app: releaseAuditApp(f.release),
    rolloutId: f.releaseId,
    actor: f.actor,
    kind: releaseActionKinds[action],
    summary: `${f.actor.name} ${actionPast[action]} release ${f.releaseId}${f.reason ? `: ${clip(f.reason, 500)}` : ''}`,
    ...(f.reason ? { details: { reason: clip(f.reason, 500) } } : {}),
  };
}

/** A release's end, recorded once by its orchestration (the id is deterministic from the release id). */
export function releaseFinishedEntry(
  f: { release: string; releaseId: string; at: string },
  outcome: string,
  reason?: string,
): AuditEntry {
  return {
    id: auditId(f.releaseId, 'release.finished'),
    at: f.at,
    app: releaseAuditApp(f.release),
    rolloutId: f.releaseId,
    actor: system,
    kind: 'release.finished',
    outcome,
    summary: `release ${f.releaseId} finished: ${outcome}${reason ? ` (${clip(reason, 500)})` : ''}`,
    ...(reason ? { details: { reason: clip(reason, 500) } } : {}),
  };
}
