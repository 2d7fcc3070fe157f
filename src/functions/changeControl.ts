import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { services, type Services } from '../composition';
import {
  newEmergencyStop,
  parseOverride,
  scopeText,
  stopsFor,
  type Override,
  type StopScope,
} from '../domain/changeControl';
import { parseImage } from '../domain/image';
import { findPolicyByApp } from '../domain/policy';
import { toRolloutView } from '../services/rolloutView';
import { tryGetStatus } from '../services/admission';
import {
  abortAll,
  notifyChanged,
  runningRolloutsIn,
  type ChangeControlDeps,
} from '../services/changeControl';
import { whatIf } from '../domain/whatIf';
import { Labels, Orchestrators } from '../names';
import { guarded } from './http/guard';
import { json, problem, unknownRollout } from './http/problem';
import { actorOf, badId, readJson } from './http/request';
import { rolloutRequestBody } from './http/rolloutBody';

/** What requestRollout needs for deploy windows, freezes and stops, from the composition root. */
export function changeControlDeps(s: Services): ChangeControlDeps {
  return {
    stops: s.emergencyStops,
    ...(s.changeControl ? { global: s.changeControl } : {}),
    now: () => Date.now(),
  };
}

/**
 * The identity an override or a stop is recorded under: the platform's principal when trusted, else
 * the calling key's fingerprint; never a name from the body. Undefined for an unidentified caller.
 */
function trustedCaller(request: HttpRequest): string | undefined {
  const who = actorOf(request, services().config.approval.trustClientPrincipal);
  return who.startsWith('unidentified') ? undefined : who;
}

function badInput(title: string, problems: string[]): HttpResponseInit {
  return problem({
    status: 400,
    type: 'invalid-request',
    title,
    detail: problems.join('; '),
    problems: problems.map((p) => ({ field: p.split(':')[0], message: p })),
  });
}

/** An override from a request body's `override`, or a 400 naming the field. */
export function overrideFrom(
  request: HttpRequest,
  raw: unknown,
  rolloutId?: string,
): { ok: true; override?: Override } | { ok: false; response: HttpResponseInit } {
  if (raw === undefined) return { ok: true };
  const parsed = parseOverride(raw, trustedCaller(request), new Date());
  if (!parsed.ok) return { ok: false, response: badInput('Invalid override', parsed.problems) };
  if (rolloutId && parsed.override.rolloutId && parsed.override.rolloutId !== rolloutId) {
    return {
      ok: false,
      response: badInput('Invalid override', [
        `override.rolloutId: names ${parsed.override.rolloutId}, but this request is for ${rolloutId}`,
      ]),
    };
  }
  return {
    ok: true,
    override: { ...parsed.override, ...(rolloutId ? { rolloutId } : {}) },
  };
}

/** A production change refused at admission by change control: 409 with the rule that decided. */
export function closedReply(rule: string, detail: string): HttpResponseInit {
  return problem({
    status: 409,
    type: 'production-closed',
    title: rule.startsWith('emergencyStop') ? 'Production is stopped' : 'Production is closed',
    detail: `${detail}. ${rule.startsWith('emergencyStop') ? 'Lift the emergency stop (DELETE its /emergency-stop) to roll out.' : 'Retry when production opens, or send an override { reason } to let this rollout through.'}`,
    rule,
  });
}

// ---- What-if: POST /api/rollouts?dryRun=true ----

export function isDryRun(request: HttpRequest): boolean {
  const v = request.query.get('dryRun');
  return v !== null && v !== 'false' && v !== '0';
}

/**
 * The plan a real run would follow, with no write anywhere: the policy matched, one snapshot (ARM reads
 * only), the stops read, and the pure what-if. Nothing is recorded (not even in the audit trail).
 */
export async function dryRunRollout(request: HttpRequest): Promise<HttpResponseInit> {
  const body = await readJson(request, rolloutRequestBody);
  if (!body.ok) return body.response;
  const s = services();
  const policy = findPolicyByApp(await s.policies(), body.value.app);
  if (!policy) {
    return problem({
      status: 404,
      type: 'unknown-app',
      title: 'No policy for that app',
      detail: `no rollout policy targets '${body.value.app.slice(0, 200)}'; add a policy for the app or fix the name`,
    });
  }
  const image = parseImage(body.value.image, body.value.digest);
  if (!image.ok) {
    return problem({ status: 400, type: 'invalid-image', title: 'Invalid image', detail: image.message });
  }
  const override = overrideFrom(request, body.value.override);
  if (!override.ok) return override.response;
  const snapshot = await s.containerApps.getSnapshot(policy.app);
  const stops = await s.emergencyStops.inForce(policy.app);
  const plan = whatIf({
    policy,
    image: image.image.reference,
    ...(image.image.digest ? { digest: image.image.digest } : {}),
    snapshot,
    now: new Date(),
    ...(s.changeControl ? { global: s.changeControl } : {}),
    stops,
    ...(override.override ? { override: override.override } : {}),
    labels: Labels,
  });
  return json(200, { dryRun: true, ...plan });
}

// ---- Resume with an override: POST /api/rollouts/{id}/resume ----

const resumeBody = z
  .object({ override: z.unknown().optional(), reason: z.string().max(500).optional() })
  .strict();

/**
 * Tells a paused rollout to look at change control again; with `override: { reason }`, lets it through a
 * freeze or closed windows (never an emergency stop), recorded under the caller's identity.
 */
export async function resumeRollout(request: HttpRequest, client: DurableClient): Promise<HttpResponseInit> {
  const id = request.params.id ?? '';
  const invalid = badId(id);
  if (invalid) return invalid;
  const body = await readJson(request, resumeBody, { optional: true });
  if (!body.ok) return body.response;
  const override = overrideFrom(request, body.value?.override, id);
  if (!override.ok) return override.response;
  const status = await tryGetStatus(client, id);
  if (!status || status.name !== Orchestrators.rollout) {
    return problem(unknownRollout(id));
  }
  const view = toRolloutView(status);
  if (view.done) {
    return problem({
      status: 409,
      type: 'rollout-not-running',
      title: 'Cannot resume this rollout',
      detail: `rollout ${id} is ${view.phase}; only a running rollout can be resumed`,
    });
  }
  const reason = body.value?.reason ?? (override.override ? 'override' : 'resume requested');
  await notifyChanged(client, [id], {
    reason,
    ...(override.override ? { override: override.override } : {}),
  });
  return json(202, {
    id,
    action: 'resume',
    accepted: true,
    ...(override.override ? { override: override.override } : {}),
  });
}

// ---- Emergency stop: PUT/DELETE/GET /api/emergency-stop and /api/apps/{sub}/{rg}/{name}/emergency-stop ----

const engageBody = z
  .object({
    reason: z.unknown(),
    /** Abort every running rollout of the stopped scope in the same call (each rolls back). */
    abortRunning: z.boolean({ message: 'must be true or false' }).optional(),
  })
  .strict();

const liftBody = z.object({ reason: z.string().max(500).optional() }).strict();

function scopeOf(request: HttpRequest): StopScope {
  const { subscriptionId, resourceGroup, name } = request.params;
  return subscriptionId && resourceGroup && name
    ? { kind: 'app', app: `${subscriptionId}/${resourceGroup}/${name}` }
    : { kind: 'global' };
}

async function engageStop(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const body = await readJson(request, engageBody);
  if (!body.ok) return body.response;
  const by = trustedCaller(request);
  const parsed = newEmergencyStop(scopeOf(request), body.value, by, new Date());
  if (!parsed.ok) {
    if (!by) {
      return problem({
        status: 403,
        type: 'identity-required',
        title: 'An emergency stop needs a named caller',
        detail: 'call with a function key or a signed-in principal; the stop is recorded under that identity',
      });
    }
    return badInput('Invalid emergency stop', parsed.problems);
  }
  const s = services();
  const result = await s.emergencyStops.engage(parsed.stop);
  const scope = result.stop.scope;
  context.warn(
    `emergency stop (${scopeText(scope)}) ${result.engaged ? 'engaged' : 'already engaged'} by ${by}`,
  );
  let aborted: string[] = [];
  if (body.value.abortRunning) {
    aborted = await runningRolloutsIn(client, scope);
    await abortAll(client, aborted, {
      by: parsed.stop.by,
      reason: `emergency stop: ${result.stop.reason}`.slice(0, 500),
    });
  }
  return json(result.engaged ? 201 : 200, {
    engaged: result.engaged,
    stop: result.stop,
    ...(result.engaged ? {} : { note: 'a stop was already engaged for this scope; it is kept as it was' }),
    ...(body.value.abortRunning ? { aborted } : {}),
  });
}

async function liftStop(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const body = await readJson(request, liftBody, { optional: true });
  if (!body.ok) return body.response;
  const by = trustedCaller(request);
  if (!by) {
    return problem({
      status: 403,
      type: 'identity-required',
      title: 'Lifting an emergency stop needs a named caller',
      detail: 'call with a function key or a signed-in principal; the lift is recorded under that identity',
    });
  }
  const scope = scopeOf(request);
  if (scope.kind === 'app') {
    const checked = newEmergencyStop(scope, { reason: 'lift' }, by, new Date());
    if (!checked.ok) return badInput('Invalid app', checked.problems);
    scope.app = scope.app.toLowerCase();
  }
  const lifted = await services().emergencyStops.lift(scope, by, new Date().toISOString());
  if (!lifted) {
    return problem({
      status: 404,
      type: 'no-emergency-stop',
      title: 'No emergency stop engaged',
      detail: `no ${scopeText(scope)} emergency stop is engaged`,
    });
  }
  // Rollouts paused by it look again now (they also look every five minutes on their own).
  const resumed = await runningRolloutsIn(client, scope);
  await notifyChanged(client, resumed, { reason: `emergency stop lifted by ${by}` });
  context.log(`emergency stop (${scopeText(scope)}) lifted by ${by}; ${resumed.length} rollout(s) told`);
  return json(200, { lifted, by, notified: resumed });
}

async function listStops(request: HttpRequest) {
  const s = services();
  const scope = scopeOf(request);
  const all = await s.emergencyStops.list();
  const stops =
    scope.kind === 'app'
      ? stopsFor(
          {
            subscriptionId: request.params.subscriptionId ?? '',
            resourceGroup: request.params.resourceGroup ?? '',
            name: request.params.name ?? '',
          },
          all,
        )
      : all;
  return json(200, { stops, audit: await s.emergencyStops.audit(50) });
}

async function emergencyStop(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  if (request.method === 'PUT') return engageStop(request, client, context);
  if (request.method === 'DELETE') return liftStop(request, client, context);
  return listStops(request);
}

df.app.client.http('emergencyStop', {
  route: 'emergency-stop',
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'function',
  handler: guarded(emergencyStop),
});
df.app.client.http('appEmergencyStop', {
  route: 'apps/{subscriptionId}/{resourceGroup}/{name}/emergency-stop',
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'function',
  handler: guarded(emergencyStop),
});
