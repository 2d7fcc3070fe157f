import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { services } from '../composition';
import { errorMessage, isGreenlightError } from '../domain/errors';
import { parseImagePushed } from '../domain/imagePushed';
import { findPoliciesForImage } from '../domain/policy';
import { admitRollout } from '../services/admission';
import { buildRolloutInput } from '../services/rolloutRequest';

/**
 * ACR `ImagePushed` from Event Grid (either schema). Thin: parse, match policies, admit. A failure throws
 * so Event Grid redelivers (and dead-letters after its retries): no push is lost. Admission is idempotent
 * by image digest, so a redelivered event starts nothing new.
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
  const image = `${push.registry}/${push.repository}${push.tag ? `:${push.tag}` : ''}${push.digest ? `@${push.digest}` : ''}`;
  const policies = findPoliciesForImage(await s.policies(), {
    registry: push.registry,
    repository: push.repository,
    tag: push.tag,
  });
  // Every push is recorded in the trigger ledger with what was decided, so none is lost silently.
  const record = (app: string, decision: string, rolloutId?: string) =>
    s.store.recordTrigger({
      at: new Date().toISOString(),
      source: 'eventGrid',
      eventId: push.eventId,
      app,
      image,
      digest: push.digest,
      decision,
      ...(rolloutId ? { rolloutId } : {}),
    });
  if (policies.length === 0) {
    context.log(`ignored push ${image} (event ${push.eventId}): no policy matches this repository and tag`);
    await record('-', 'unmatched');
    return;
  }
  for (const policy of policies) {
    const seen = await s.store.eventOutcome(`${push.eventId}:${policy.name}`);
    if (seen) {
      context.log(`duplicate delivery of event ${push.eventId} for ${policy.app.name}: rollout ${seen}`);
      continue;
    }
    let input;
    try {
      input = buildRolloutInput(policy, image, push.digest, { kind: 'eventGrid', eventId: push.eventId });
    } catch (e) {
      // A push this policy cannot roll out is recorded and not retried: redelivery would fail the same way.
      if (!isGreenlightError(e)) throw e;
      context.warn(`push ${image} → ${policy.app.name}: not started: ${errorMessage(e)}`);
      await record(policy.app.name, 'invalid');
      continue;
    }
    const admission = await admitRollout({ client, store: s.store }, input, policy.concurrency);
    // Remembered for a week only once admitted: a failed admission must be retried by Event Grid.
    await s.store.rememberEvent(`${push.eventId}:${policy.name}`, admission.rolloutId);
    await record(policy.app.name, admission.kind, admission.rolloutId);
    context.log(`push ${image} → ${policy.app.name}: ${admission.kind} ${admission.rolloutId}`);
  }
}

df.app.client.eventGrid('imagePushed', { handler: onImagePushed });
