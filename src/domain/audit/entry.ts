import { createHash } from 'node:crypto';
import { z } from 'zod';
import { appKey } from '../flag/control';

/**
 * The audit trail's closed set of kinds, each with what it records. An entry is appended once and never
 * changed; what happened later is a later entry.
 */
export const auditKinds = {
  /** A trigger started a new rollout. */
  'admission.started': 'a trigger started a rollout',
  /** A trigger named a rollout that already exists (same image, running or just succeeded). */
  'admission.deduplicated': 'a trigger joined an existing rollout',
  /** A trigger started a rollout that supersedes the running one (policy concurrency `supersede`). */
  'admission.superseded': 'a trigger superseded the running rollout',
  /** A trigger's rollout waits behind the running one (policy concurrency `queue`). */
  'admission.queued': 'a trigger was queued',
  /** A trigger was refused: the image is not allowed, or another rollout runs (concurrency `reject`). */
  'admission.rejected': 'a trigger was refused',
  /** A trigger that could not name a rollout: malformed request, unknown app, bad image. */
  'admission.invalid': 'an invalid trigger',
  'approval.approved': 'an approver approved',
  'approval.rejected': 'an approver rejected',
  'rollout.promoted': 'a caller promoted',
  'rollout.aborted': 'a caller aborted',
  'rollout.undone': 'a caller undid a promotion',
  /** A traffic write to the app's ingress, with the weights before and after. */
  'traffic.written': 'traffic weights written',
  /** A flag write to the runtime store, with the fencing epoch and the active revision before and after. */
  'flags.written': 'flags written',
  /** One compensating step of a rollback, with its outcome. */
  'compensation.ran': 'a compensation ran',
  'rollout.finished': 'a rollout finished',
  /** Coordinated releases: recorded under the app `release:<name>`, with the release id as `rolloutId`. */
  'release.started': 'a request started a release',
  'release.deduplicated': 'a request joined the running release of the same images',
  'release.superseded': 'a request started a release that supersedes the running one',
  'release.queued': 'a request started a release that waits for the running one',
  'release.rejected': 'a release request was refused',
  'release.invalid': 'an invalid release request',
  /** A member image push was gathered into a release (its name and tag key). */
  'release.gathered': 'a push was gathered into a release',
  /** The gathering window closed before every member had an image: nothing started. */
  'release.gatherIncomplete': 'a release gathering closed incomplete',
  'release.promoted': 'a caller promoted a release',
  'release.aborted': 'a caller aborted a release',
  'release.undone': 'a caller undid a release',
  'release.finished': 'a release finished',
} as const;

export type AuditKind = keyof typeof auditKinds;
export const auditKindNames = Object.keys(auditKinds) as AuditKind[];

export const admissionKinds = [
  'admission.started',
  'admission.deduplicated',
  'admission.superseded',
  'admission.queued',
  'admission.rejected',
  'admission.invalid',
] as const satisfies AuditKind[];

export const releaseRequestKinds = [
  'release.started',
  'release.deduplicated',
  'release.superseded',
  'release.queued',
  'release.rejected',
  'release.invalid',
  'release.gathered',
  'release.gatherIncomplete',
] as const satisfies AuditKind[];

const releaseDecisionKinds = [
  'release.promoted',
  'release.aborted',
  'release.undone',
] as const satisfies AuditKind[];

const decisionKinds = [
  'approval.approved',
  'approval.rejected',
  'rollout.promoted',
  'rollout.aborted',
  'rollout.undone',
] as const satisfies AuditKind[];

/** Where an entry of an invalid trigger goes when the trigger named no app Greenlight knows. */
export const unknownApp = { key: '-', name: '(unknown app)' } as const;

const text = (max: number) => z.string().min(1).max(max);

const appSchema = z.strictObject({
  /** The app key (`subscriptionId/resourceGroup/name`, lower case), or `-` for triggers naming no known app. */
  key: text(300),
  name: text(200),
});

const actorSchema = z.strictObject({
  /**
   * principal: a person the platform signed in (or an approval link's approver); key: a function key,
   * by fingerprint; system: Greenlight itself (the orchestration); eventGrid: a registry push.
   */
  kind: z.enum(['principal', 'key', 'system', 'eventGrid']),
  name: text(200),
});

/** Flat, short facts: what a log query filters by. Never a secret (keys, tokens, connection strings). */
const detailsSchema = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,39}$/),
  z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
);

const trafficSchema = z.array(
  z.strictObject({
    revisionName: text(200),
    weight: z.number().int().min(0).max(100),
    label: z.string().max(64).optional(),
  }),
);

const flagStateSchema = z.strictObject({
  epoch: z.number().int().min(0),
  active: z.string().max(200).nullable(),
});

const base = {
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,120}$/, 'must be 1-120 letters, digits, . _ : or -'),
  at: z.iso.datetime({ offset: false }),
  app: appSchema,
  rolloutId: z.string().min(1).max(120).optional(),
  actor: actorSchema,
  summary: text(1000),
  details: detailsSchema.optional(),
};

export const auditEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...base, kind: z.enum(admissionKinds) }),
  z.strictObject({ ...base, kind: z.enum(decisionKinds) }),
  z.strictObject({
    ...base,
    kind: z.literal('traffic.written'),
    before: z.strictObject({ traffic: trafficSchema }),
    after: z.strictObject({ traffic: trafficSchema }),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('flags.written'),
    before: flagStateSchema,
    after: flagStateSchema,
  }),
  z.strictObject({
    ...base,
    kind: z.literal('compensation.ran'),
    outcome: z.enum(['succeeded', 'failed']),
    details: detailsSchema.and(z.object({ step: text(200) })),
  }),
  z.strictObject({ ...base, kind: z.literal('rollout.finished'), outcome: text(64) }),
  z.strictObject({ ...base, kind: z.enum(releaseRequestKinds) }),
  z.strictObject({ ...base, kind: z.enum(releaseDecisionKinds) }),
  z.strictObject({ ...base, kind: z.literal('release.finished'), outcome: text(64) }),
]);

/** One fact of the audit trail. */
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export type AuditActor = AuditEntry['actor'];
export type AuditApp = AuditEntry['app'];
export type AuditDetails = NonNullable<z.infer<typeof detailsSchema>>;
export type FlagState = z.infer<typeof flagStateSchema>;

/**
 * Checks an entry before it is appended; throws with every problem named. An entry that does not fit
 * the model is a programming error, not an input error: nothing should build one.
 */
export function validAuditEntry(entry: unknown): AuditEntry {
  const parsed = auditEntrySchema.safeParse(entry);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`);
  throw new Error(`[Internal] audit entry does not fit the model: ${problems.join('; ')}`);
}

/**
 * A deterministic entry id from what makes the action one action (a request's invocation, an event
 * and policy, a rollout and step): the same action retried gets the same id, and is appended once.
 */
export function auditId(...parts: (string | number)[]): string {
  const digest = createHash('sha256').update(parts.map(String).join('\u0000')).digest('base64url');
  return `a_${digest.slice(0, 32)}`;
}

/** The app as the trail names it: its key (what streams and queries use) and its name (what people read). */
export function auditApp(app: { subscriptionId: string; resourceGroup: string; name: string }): AuditApp {
  return { key: appKey(app), name: app.name };
}
