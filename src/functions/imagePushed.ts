import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { services } from '../composition';
import {
  admissionEntry,
  auditApp,
  auditId,
  releaseGatherEntry,
  type AdmissionOutcome,
} from '../domain/audit';
import { parseImagePushed, pushedImage, pushKey } from '../domain/imagePushed';
import { findPoliciesForImage } from '../domain/policy';
import { gatheringsFor, gatherPush } from '../services/releaseGather';
import { requestRollout } from '../services/rolloutRequest';
import { recordAudit } from './http/audit';
import { changeControlDeps } from './changeControl';

/**
 * ACR `ImagePushed` from Event Grid (either schema). Thin: parse, match policies, request a rollout per
 * policy. A failure throws so Event Grid redelivers (and dead-letters after its retries): no push is lost.
 * A redelivered event (same id, or for an event without id the same content for a few minutes) starts
 * nothing new; a later push of an image already rolled out is a new rollout.
 */
async function onImagePushed(
  event: unknown,
  client: DurableClient,
  context: InvocationContext,
): Promise<void> {
  const s = services();
  const parsed = parseImagePushed(event);
  if (parsed.kind === 'ignored') {
    context.log(`ignored event: ${parsed.reason}`);
    return;
  }
  const push = parsed.push;
  const image = pushedImage(push);
  const text = `${push.registry}/${push.repository}${push.tag ? `:${push.tag}` : ''}${push.digest ? `@${push.digest}` : ''}`;
  const eventLabel = push.eventId ?? '(no id)';
  const policies = findPoliciesForImage(await s.policies(), push);
  // Every push is recorded in the trigger ledger with what was decided, so none is lost silently.
  const recordRefusal = (app: string, decision: string, detail?: string) =>
    s.store.recordTrigger({
      at: new Date().toISOString(),
      source: 'eventGrid',
      ...(push.eventId !== undefined ? { eventId: push.eventId } : {}),
      app,
      image: text,
      ...(push.digest ? { digest: push.digest } : {}),
      decision,
      ...(detail ? { detail } : {}),
    });
  if (policies.length === 0) {
    context.log(`ignored push ${text} (event ${eventLabel}): no policy matches this repository and tag`);
    await recordRefusal('-', 'unmatched');
    return;
  }
  const delivery = pushKey(push);
  for (const policy of policies) {
    const seenKey = `${delivery.key}:${policy.name}`;
    // One push for one policy is one action: a redelivery of the same event records nothing new.
    const audit = async (o: AdmissionOutcome) => {
      const facts = {
        id: auditId('admission', 'eventGrid', delivery.key, policy.name),
        at: new Date().toISOString(),
        app: auditApp(policy.app),
        actor: { kind: 'eventGrid' as const, name: `registry push to ${push.registry}`.slice(0, 200) },
        source: 'eventGrid' as const,
        image: text,
        ...(push.eventId !== undefined ? { eventId: push.eventId } : {}),
      };
      await recordAudit(context, admissionEntry(facts, o));
    };
    const seen = await s.store.eventOutcome(seenKey);
    if (seen) {
      context.log(`duplicate delivery of event ${eventLabel} for ${policy.app.name}: rollout ${seen}`);
      continue;
    }
    if (!image.ok) {
      // A push this policy cannot roll out is recorded and not retried: redelivery would fail the same way.
      context.warn(`push ${text} → ${policy.app.name}: not started: ${image.message}`);
      await recordRefusal(policy.app.name, 'invalid', image.message);
      await audit({ kind: 'invalid', detail: image.message });
      continue;
    }
    // A member image of a release whose tag gives a key is gathered into that release, not rolled out alone.
    const gatherings = gatheringsFor(await s.releases(), policy, image.image);
    if (gatherings.length > 0) {
      const at = new Date().toISOString();
      const ids: string[] = [];
      for (const target of gatherings) {
        const g = await gatherPush(client, target, policy, image.image, {
          ...(push.eventId !== undefined ? { eventId: push.eventId } : {}),
          at,
        });
        ids.push(g.gathering);
        await s.store.recordTrigger({
          at,
          source: 'eventGrid',
          ...(push.eventId !== undefined ? { eventId: push.eventId } : {}),
          app: policy.app.name,
          image: text,
          ...(push.digest ? { digest: push.digest } : {}),
          decision: 'release gathered',
          rolloutId: g.gathering,
          detail: `release ${g.release} (key ${g.key})${g.opened ? ': gathering opened' : ''}`,
        });
        await recordAudit(
          context,
          releaseGatherEntry(
            {
              id: auditId('release-gathered', delivery.key, policy.name, g.release),
              at,
              release: g.release,
              key: g.key,
              actor: { kind: 'eventGrid', name: `registry push to ${push.registry}`.slice(0, 200) },
            },
            { kind: 'gathered', app: policy.name, image: text },
          ),
        );
        context.log(`push ${text} → ${policy.app.name}: gathered into release ${g.release} (key ${g.key})`);
      }
      await s.store.rememberEvent(seenKey, ids.join(','), delivery.ttlSeconds);
      continue;
    }
    const outcome = await requestRollout(
      { client, store: s.store, audit, changeControl: changeControlDeps(s) },
      {
        policy,
        image: image.image,
        trigger: { kind: 'eventGrid', ...(push.eventId !== undefined ? { eventId: push.eventId } : {}) },
        checkAllowed: false,
      },
      { source: 'eventGrid', ...(push.eventId !== undefined ? { eventId: push.eventId } : {}) },
    );
    if (outcome.kind === 'refused') continue;
    // Remembered only once admitted: a failed admission must be retried by Event Grid.
    await s.store.rememberEvent(seenKey, outcome.rolloutId, delivery.ttlSeconds);
    context.log(`push ${text} → ${policy.app.name}: ${outcome.kind} ${outcome.rolloutId}`);
  }
}

df.app.client.eventGrid('imagePushed', { handler: onImagePushed });
