import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { rolloutPorts, services } from '../composition';
import { channelWants, type NotificationChannel } from '../domain/notify/channels';
import { deliverNotification } from '../domain/notify/deliver';
import type { NotificationEvent } from '../domain/notify/events';
import { auditId, releaseAdmissionEntry, releaseGatherEntry } from '../domain/audit';
import {
  GatherActivities,
  type GatherOutcome,
  type IncompleteGatherInput,
  type StartGatheredInput,
} from '../domain/releaseGather';
import { recordAudit } from '../functions/http/audit';
import { requestRelease, resolveRelease } from '../services/releaseRequest';

const pushActor = { kind: 'eventGrid' as const, name: 'registry pushes gathered into a release' };

const imageText = (images: StartGatheredInput['images']): Record<string, string> =>
  Object.fromEntries(Object.entries(images).map(([app, i]) => [app, i.image]));

/**
 * Every member has an image: request the release as an HTTP caller would, without the allowed-image
 * check (each push was matched by its member's trigger). Idempotent: a retry finds the release running
 * with the same images and is told it is a duplicate.
 */
async function startGathered(input: StartGatheredInput, context: InvocationContext): Promise<GatherOutcome> {
  const s = services();
  const policies = await s.policies();
  const audit = (o: Parameters<typeof releaseAdmissionEntry>[1]) =>
    recordAudit(
      context,
      releaseAdmissionEntry(
        {
          id: auditId('release-gather', input.gathering, input.openedAt, 'start'),
          at: new Date().toISOString(),
          release: input.release,
          actor: pushActor,
          source: 'eventGrid',
          images: imageText(input.images),
          reason: `gathered pushes with key ${input.key}`,
        },
        o,
      ),
    ).then(() => undefined);
  const resolved = resolveRelease(await s.releases(), policies, input, { checkAllowed: false });
  if (!resolved.ok) {
    await audit({ kind: 'invalid', detail: resolved.problem.detail });
    return { state: 'Refused', detail: resolved.problem.detail };
  }
  const admission = await requestRelease(
    { client: df.getClient(context), store: s.store, audit },
    {
      resolved: resolved.value,
      policies,
      trigger: { kind: 'eventGrid', ...(input.eventIds[0] ? { eventId: input.eventIds[0] } : {}) },
      reason: `pushes gathered under key ${input.key}`,
    },
  );
  context.log(
    `release ${input.release} gathered (key ${input.key}): ${admission.kind} ${admission.releaseId}`,
  );
  if (admission.kind === 'rejected') {
    return { state: 'Refused', releaseId: admission.releaseId, detail: admission.detail };
  }
  return { state: 'Started', releaseId: admission.releaseId, detail: admission.kind };
}

/** The window closed first: one trigger-ledger row per member pushed, an audit entry; nothing starts. */
async function recordIncomplete(
  input: IncompleteGatherInput,
  context: InvocationContext,
): Promise<{ recorded: true }> {
  const s = services();
  const policies = await s.policies();
  const detail = `release ${input.release} (key ${input.key}) not started: no image for ${input.missing.join(', ')} when the gathering window closed at ${input.closedAt}`;
  for (const [member, image] of Object.entries(input.images)) {
    await s.store.recordTrigger({
      at: new Date().toISOString(),
      source: 'eventGrid',
      app: policies.find((p) => p.name === member)?.app.name ?? member,
      image: image.image,
      ...(image.digest ? { digest: image.digest } : {}),
      decision: 'release incomplete',
      detail,
    });
  }
  await recordAudit(
    context,
    releaseGatherEntry(
      {
        id: auditId('release-gather', input.gathering, input.openedAt, 'incomplete'),
        at: input.closedAt,
        release: input.release,
        key: input.key,
        actor: { kind: 'system', name: 'greenlight' },
      },
      { kind: 'incomplete', missing: input.missing, images: imageText(input.images) },
    ),
  );
  context.warn(detail);
  // The members' channels that asked for it hear it once each; a delivery never fails the gathering.
  const release = (await s.releases()).find((r) => r.name === input.release);
  const members = (release?.members ?? Object.keys(input.images)).map((m) =>
    policies.find((p) => p.name === m),
  );
  const channels = new Map<string, NotificationChannel>();
  for (const p of members) {
    for (const c of p?.notifications ?? []) {
      if (channelWants(c, 'releaseIncomplete') && !channels.has(c.name)) channels.set(c.name, c);
    }
  }
  const event: NotificationEvent = {
    id: `incomplete:${input.openedAt}`,
    rolloutId: input.gathering,
    policy: input.release,
    app: members.map((p, i) => p?.app.name ?? release?.members[i] ?? '?').join(', '),
    at: input.closedAt,
    image: { to: Object.values(imageText(input.images)).join(', ') || 'none' },
    kind: 'releaseIncomplete',
    key: input.key,
    missing: input.missing,
    closedAt: input.closedAt,
  };
  const notify = rolloutPorts().notify;
  await Promise.all(
    [...channels.values()].map((channel) =>
      deliverNotification(notify, { event, channel, budgetMs: 10_000 }),
    ),
  );
  return { recorded: true };
}

/** Registers the gathering's activities with the host (they reach the durable client and the stores). */
export function registerGatherActivities(): void {
  df.app.activity(GatherActivities.start, {
    extraInputs: [df.input.durableClient()],
    handler: (input: StartGatheredInput, context: InvocationContext) => startGathered(input, context),
  });
  df.app.activity(GatherActivities.recordIncomplete, {
    handler: (input: IncompleteGatherInput, context: InvocationContext) => recordIncomplete(input, context),
  });
}
