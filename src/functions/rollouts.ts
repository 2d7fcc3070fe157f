import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { services } from '../composition';
import { actionEntry, admissionEntry, auditApp, auditId, unknownApp, type AuditApp } from '../domain/audit';
import { abortEventSchema, promoteEventSchema } from '../domain/events';
import { parseImage } from '../domain/image';
import { findPolicyByApp } from '../domain/policy';
import { Events, Orchestrators, watchInstanceId } from '../names';
import { raiseQuietly, tryGetStatus, type Admission } from '../services/admission';
import { toRolloutView } from '../services/rolloutView';
import { requestRollout } from '../services/rolloutRequest';
import { callerActor, recordAudit } from './http/audit';
import { json, problem, unknownRollout } from './http/problem';
import {
  changeControlDeps,
  closedReply,
  dryRunRollout,
  isDryRun,
  overrideFrom,
  resumeRollout,
} from './changeControl';
import { guarded } from './http/guard';
import { undoRollout } from './undo';
import { actorOf, badId, readJson } from './http/request';
import { rolloutRequestBody } from './http/rolloutBody';

function statusUrl(request: HttpRequest, id: string): string {
  return `${new URL(request.url).origin}/api/rollouts/${encodeURIComponent(id)}`;
}

/** POST /api/rollouts {app, image, digest?}: start (or join, queue, supersede) a rollout. */
async function startRollout(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  if (isDryRun(request)) return dryRunRollout(request);
  const s = services();
  // One request is one action: its audit entry's id comes from the invocation.
  const trigger = (app: AuditApp | undefined, image?: string) => ({
    id: auditId('admission', context.invocationId),
    at: new Date().toISOString(),
    app,
    actor: callerActor(request, s.config.approval.trustClientPrincipal),
    source: 'http' as const,
    ...(image ? { image } : {}),
  });
  const invalid = async (reply: HttpResponseInit, app?: AuditApp, image?: string) => {
    const detail = (reply.jsonBody as { detail?: unknown } | undefined)?.detail;
    const outcome = {
      kind: 'invalid' as const,
      detail: typeof detail === 'string' ? detail : 'invalid request',
    };
    await recordAudit(context, admissionEntry(trigger(app, image), outcome));
    return reply;
  };
  const body = await readJson(request, rolloutRequestBody);
  if (!body.ok) return invalid(body.response);
  const policy = findPolicyByApp(await s.policies(), body.value.app);
  if (!policy) {
    const known = (await s.policies()).map((p) => p.name).join(', ') || 'none loaded';
    return invalid(
      problem({
        status: 404,
        type: 'unknown-app',
        title: 'No policy for that app',
        detail: `no rollout policy targets '${body.value.app.slice(0, 200)}'; known policies: ${known}. Add a policy for the app or fix the name.`,
      }),
    );
  }
  const image = parseImage(body.value.image, body.value.digest);
  if (!image.ok) {
    return invalid(
      problem({ status: 400, type: 'invalid-image', title: 'Invalid image', detail: image.message }),
      auditApp(policy.app),
      body.value.image,
    );
  }
  const override = overrideFrom(request, body.value.override);
  if (!override.ok) return invalid(override.response, auditApp(policy.app), image.image.reference);
  const outcome = await requestRollout(
    {
      client,
      store: s.store,
      changeControl: changeControlDeps(s),
      audit: async (o) => {
        await recordAudit(context, admissionEntry(trigger(auditApp(policy.app), image.image.reference), o));
      },
    },
    {
      policy,
      image: image.image,
      trigger: { kind: 'http', requestedBy: actorOf(request, s.config.approval.trustClientPrincipal) },
      checkAllowed: true,
      ...(override.override ? { override: override.override } : {}),
    },
    { source: 'http' },
  );
  if (outcome.kind === 'refused' && outcome.changeControl) return closedReply(outcome.rule, outcome.detail);
  if (outcome.kind === 'refused') {
    context.warn(
      `rollout request for ${policy.app.name} ${image.image.reference}: refused by ${outcome.rule}`,
    );
    return problem({
      status: 403,
      type: 'image-not-allowed',
      title: 'Image not allowed by the policy',
      detail: outcome.detail,
      rule: outcome.rule,
    });
  }
  context.log(
    `rollout request for ${policy.app.name} ${image.image.reference}: ${outcome.kind} ${outcome.rolloutId}`,
  );
  return admissionReply(request, outcome);
}

/**
 * The reply to a rollout request: Greenlight's own status URL and the admission, nothing else. The
 * Durable management URLs carry the system key, which raises any event on any instance: never hand out.
 */
export function admissionReply(request: HttpRequest, a: Admission): HttpResponseInit {
  if (a.kind === 'rejected') {
    return problem({
      status: 409,
      type: 'rollout-in-progress',
      title: 'Another rollout is running for this app',
      detail: `rollout ${a.running} is in progress and this app's policy has concurrency 'reject'; wait for it to finish, abort it (POST /api/rollouts/${a.running}/abort), or change the policy to 'queue' or 'supersede'.`,
      running: a.running,
      runningStatusUri: statusUrl(request, a.running),
    });
  }
  const greenlightStatusUri = statusUrl(request, a.rolloutId);
  const body = { id: a.rolloutId, greenlightStatusUri, admission: a };
  const status = a.kind === 'duplicate' ? 200 : 202;
  return json(status, body, { location: greenlightStatusUri, 'retry-after': '10' });
}

/** GET /api/rollouts/{id} */
async function getRollout(request: HttpRequest, client: DurableClient) {
  const id = request.params.id ?? '';
  const invalid = badId(id);
  if (invalid) return invalid;
  const status = await tryGetStatus(client, id);
  if (!status || status.name !== Orchestrators.rollout) {
    return problem(unknownRollout(id));
  }
  return json(200, toRolloutView(status));
}

const listQuery = z.object({
  app: z.string().optional(),
  status: z
    .enum(['Pending', 'Running', 'Completed', 'Failed', 'Terminated', 'Suspended'], {
      message: 'must be one of Pending, Running, Completed, Failed, Terminated, Suspended',
    })
    .optional(),
});

/** GET /api/rollouts?app=&status= */
async function listRollouts(request: HttpRequest, client: DurableClient) {
  const q = listQuery.safeParse(Object.fromEntries(request.query.entries()));
  if (!q.success) {
    return problem({
      status: 400,
      type: 'invalid-query',
      title: 'Invalid query',
      detail: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  const all = q.data.status
    ? await client.getStatusBy({ runtimeStatus: [q.data.status as df.OrchestrationRuntimeStatus] })
    : await client.getStatusAll();
  const views = all
    .filter((s) => s.name === Orchestrators.rollout)
    .map(toRolloutView)
    .filter((v) => !q.data.app || v.app.name === q.data.app)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return json(200, { rollouts: views, count: views.length });
}

const controlBody = z.object({ reason: z.string().max(500).optional() }).strict();

/** POST /api/rollouts/{id}/abort and /promote (and /undo, see ./undo.ts) */
async function controlRollout(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const id = request.params.id ?? '';
  const action = request.params.action;
  if (action === 'resume') return resumeRollout(request, client);
  if (action === 'undo') return undoRollout(request, client, statusUrl(request, id), context);
  if (action !== 'abort' && action !== 'promote') {
    return problem({
      status: 404,
      type: 'unknown-action',
      title: 'Unknown action',
      detail: `'${String(action).slice(0, 100)}' is not an action; use POST /api/rollouts/{id}/abort, /promote, /undo or /resume`,
    });
  }
  const invalid = badId(id);
  if (invalid) return invalid;
  const body = await readJson(request, controlBody, { optional: true });
  if (!body.ok) return body.response;
  const status = await tryGetStatus(client, id);
  if (!status || status.name !== Orchestrators.rollout) {
    return problem(unknownRollout(id));
  }
  const view = toRolloutView(status);
  if (view.done || view.phase === 'RollingBack') {
    return problem({
      status: 409,
      type: 'rollout-not-running',
      title: `Cannot ${action} this rollout`,
      detail: `rollout ${id} is ${view.phase}${view.outcome ? ` (${view.outcome})` : ''}; only a running rollout can be ${action === 'abort' ? 'aborted' : 'promoted'}`,
    });
  }
  const actor = callerActor(request, services().config.approval.trustClientPrincipal);
  const by = actor.name;
  const reason = body.value?.reason;
  // Built with the schema the rollout reads its events with: what is raised is what it accepts.
  const data =
    action === 'abort'
      ? abortEventSchema.parse({ by, ...(reason !== undefined ? { reason } : {}) })
      : promoteEventSchema.parse({ by, ...(reason !== undefined ? { reason } : {}) });
  const event = action === 'abort' ? Events.abort : Events.promote;
  await client.raiseEvent(id, event, data);
  if (action === 'abort') await raiseQuietly(client, watchInstanceId(id), Events.abort, data);
  // The custom status names the app once the rollout runs; before its first step, its input does.
  const ref = view.app.name ? view.app : toRolloutView(await client.getStatus(id, { showInput: true })).app;
  const facts = {
    id: auditId('action', context.invocationId),
    at: new Date().toISOString(),
    app: ref.name ? auditApp(ref) : unknownApp,
    rolloutId: id,
    actor,
    ...(reason !== undefined ? { reason } : {}),
  };
  await recordAudit(context, actionEntry(facts, action));
  return json(202, { id, action, accepted: true, by: data.by, statusUri: statusUrl(request, id) });
}

df.app.client.http('startRollout', {
  route: 'rollouts',
  methods: ['POST'],
  authLevel: 'function',
  handler: guarded(startRollout),
});
df.app.client.http('listRollouts', {
  route: 'rollouts',
  methods: ['GET'],
  authLevel: 'function',
  handler: guarded(listRollouts),
});
df.app.client.http('getRollout', {
  route: 'rollouts/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: guarded(getRollout),
});
df.app.client.http('controlRollout', {
  route: 'rollouts/{id}/{action}',
  methods: ['POST'],
  authLevel: 'function',
  handler: guarded(controlRollout),
});
