import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { z } from 'zod';
import { services } from '../composition';
import {
  auditId,
  releaseActionEntry,
  releaseAdmissionEntry,
  type ReleaseAdmissionOutcome,
} from '../domain/audit';
import { abortEventSchema, promoteEventSchema, undoEventSchema } from '../domain/events';
import type { ReleaseInput } from '../domain/release/types';
import { Events, Orchestrators } from '../names';
import { tryGetStatus } from '../services/admission';
import {
  releaseRequestBody,
  requestRelease,
  resolveRelease,
  sortReleases,
  type ReleaseAdmission,
} from '../services/releaseRequest';
import { toReleaseView, type ReleaseView } from '../services/releaseView';
import { toRolloutView, type RolloutView } from '../services/rolloutView';
import { callerActor, recordAudit } from './http/audit';
import { guarded } from './http/guard';
import { json, problem, type Problem } from './http/problem';
import { actorOf, badId, readJson } from './http/request';

function statusUrl(request: HttpRequest, id: string): string {
  return `${new URL(request.url).origin}/api/releases/${encodeURIComponent(id)}`;
}

/** 404 for an id that names no release: the same answer from every release route. */
export function unknownRelease(id: string): Problem {
  return {
    status: 404,
    type: 'unknown-release',
    title: 'Release not found',
    detail: `no release has id '${id}'; list releases with GET /api/releases`,
  };
}

/** POST /api/releases {release, images: {member: image}, reason?}: start (or join, queue, supersede) a release. */
async function startRelease(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const s = services();
  const actor = callerActor(request, s.config.approval.trustClientPrincipal);
  // One request is one action: its audit entry's id comes from the invocation.
  const audit =
    (release: string, images: Record<string, string> | undefined, reason?: string) =>
    (o: ReleaseAdmissionOutcome) =>
      recordAudit(
        context,
        releaseAdmissionEntry(
          {
            id: auditId('release', context.invocationId),
            at: new Date().toISOString(),
            release,
            actor,
            source: 'http',
            ...(images ? { images } : {}),
            ...(reason !== undefined ? { reason } : {}),
          },
          o,
        ),
      ).then(() => undefined);
  const body = await readJson(request, releaseRequestBody);
  if (!body.ok) {
    const detail = (body.response.jsonBody as { detail?: unknown } | undefined)?.detail;
    await audit(
      '-',
      undefined,
    )({ kind: 'invalid', detail: typeof detail === 'string' ? detail : 'invalid request' });
    return body.response;
  }
  const { release, images, reason } = body.value;
  const policies = await s.policies();
  const resolved = resolveRelease(await s.releases(), policies, { release, images }, { checkAllowed: true });
  const record = audit(resolved.ok ? release : '-', images, reason);
  if (!resolved.ok) {
    await record({
      kind: resolved.problem.status === 403 ? 'rejected' : 'invalid',
      detail: resolved.problem.detail,
    });
    return problem({ ...resolved.problem });
  }
  const admission = await requestRelease(
    { client, store: s.store, audit: record },
    {
      resolved: resolved.value,
      policies,
      trigger: { kind: 'http', requestedBy: actorOf(request, s.config.approval.trustClientPrincipal) },
      ...(reason !== undefined ? { reason } : {}),
    },
  );
  context.log(`release request for ${release}: ${admission.kind} ${admission.releaseId}`);
  return admissionReply(request, admission);
}

function admissionReply(request: HttpRequest, a: ReleaseAdmission): HttpResponseInit {
  if (a.kind === 'rejected') {
    return problem({
      status: 409,
      type: 'release-in-progress',
      title: 'Another release of this name is running',
      detail: a.detail,
      running: a.running,
      runningStatusUri: statusUrl(request, a.running),
    });
  }
  const greenlightStatusUri = statusUrl(request, a.releaseId);
  return json(
    a.kind === 'duplicate' ? 200 : 202,
    { id: a.releaseId, greenlightStatusUri, admission: a },
    { location: greenlightStatusUri, 'retry-after': '10' },
  );
}

async function loadRelease(client: DurableClient, id: string) {
  const status = await tryGetStatus(client, id, { showInput: true });
  if (!status || status.name !== Orchestrators.release) return undefined;
  return status;
}

/** GET /api/releases/{id}: the release and each member rollout's own status. */
async function getRelease(request: HttpRequest, client: DurableClient) {
  const id = request.params.id ?? '';
  const invalid = badId(id);
  if (invalid) return invalid;
  const status = await loadRelease(client, id);
  if (!status) return problem(unknownRelease(id));
  const input = status.input as ReleaseInput | undefined;
  const rollouts = new Map<string, RolloutView>();
  await Promise.all(
    (input?.members ?? []).map(async (m) => {
      const member = await tryGetStatus(client, m.rolloutId, { showInput: true });
      if (member && member.name === Orchestrators.rollout) rollouts.set(m.rolloutId, toRolloutView(member));
    }),
  );
  return json(200, toReleaseView(status, rollouts));
}

const listQuery = z.object({
  name: z.string().min(1).max(100).optional(),
  code: z.string().optional(),
});

/** GET /api/releases?name=: every release, running ones first, each with its members' phases. */
async function listReleases(request: HttpRequest, client: DurableClient) {
  const q = listQuery.safeParse(Object.fromEntries(request.query.entries()));
  if (!q.success) {
    return problem({
      status: 400,
      type: 'invalid-query',
      title: 'Invalid query',
      detail: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  const all = await client.getStatusAll();
  const views: ReleaseView[] = all
    .filter((s) => s.name === Orchestrators.release)
    .map((s) => toReleaseView(s))
    .filter((v) => !q.data.name || v.name === q.data.name);
  const sorted = sortReleases(views);
  return json(200, { releases: sorted, count: sorted.length });
}

const controlBody = z.object({ reason: z.string().max(500).optional() }).strict();

/** POST /api/releases/{id}/abort|promote|undo: the rollout's actions, raised on the release instance. */
async function controlRelease(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const id = request.params.id ?? '';
  const action = request.params.action;
  if (action !== 'abort' && action !== 'promote' && action !== 'undo') {
    return problem({
      status: 404,
      type: 'unknown-action',
      title: 'Unknown action',
      detail: `'${String(action).slice(0, 100)}' is not an action; use POST /api/releases/{id}/abort, /promote or /undo`,
    });
  }
  const invalid = badId(id);
  if (invalid) return invalid;
  const body = await readJson(request, controlBody, { optional: true });
  if (!body.ok) return body.response;
  const status = await loadRelease(client, id);
  if (!status) return problem(unknownRelease(id));
  const view = toReleaseView(status);
  const undoOpen = view.phase === 'Succeeded' && view.undo?.state === 'open';
  // An undo before the release succeeded is an abort: every member restores its snapshot either way.
  const effective =
    action === 'undo' && !undoOpen && !view.done && view.phase !== 'Succeeded' ? 'abort' : action;
  // Ended (or ending) in all but name: a rolled-back release may still be finishing its bookkeeping.
  const over = view.done || ['RollingBack', 'RolledBack', 'RollbackFailed', 'Undone'].includes(view.phase);
  const refusal = over
    ? `release ${id} is ${view.phase}${view.outcome ? ` (${view.outcome})` : ''}`
    : effective === 'undo' && !undoOpen
      ? `release ${id} is ${view.phase} and its undo window is ${view.undo?.state ?? 'not open'}`
      : effective !== 'undo' && view.phase === 'Succeeded'
        ? `release ${id} already succeeded; use POST /api/releases/${id}/undo while its undo window is open`
        : undefined;
  if (refusal) {
    return problem({
      status: 409,
      type: 'release-not-running',
      title: `Cannot ${action} this release`,
      detail: `${refusal}; only a running release can be aborted or promoted, and only a succeeded one undone within its undo window`,
    });
  }
  const actor = callerActor(request, services().config.approval.trustClientPrincipal);
  const reason = body.value?.reason;
  const fields = { by: actor.name, ...(reason !== undefined ? { reason } : {}) };
  // Built with the schemas the release reads its events with: what is raised is what it accepts.
  const data =
    effective === 'abort'
      ? abortEventSchema.parse(fields)
      : effective === 'promote'
        ? promoteEventSchema.parse(fields)
        : undoEventSchema.parse(fields);
  await client.raiseEvent(id, Events[effective], data);
  await recordAudit(
    context,
    releaseActionEntry(
      {
        id: auditId('release-action', context.invocationId),
        at: new Date().toISOString(),
        release: view.name || (status.input as ReleaseInput | undefined)?.plan.name || id,
        releaseId: id,
        actor,
        ...(reason !== undefined ? { reason } : {}),
      },
      effective,
    ),
  );
  return json(202, { id, action: effective, accepted: true, by: data.by, statusUri: statusUrl(request, id) });
}

df.app.client.http('startRelease', {
  route: 'releases',
  methods: ['POST'],
  authLevel: 'function',
  handler: guarded(startRelease),
});
df.app.client.http('listReleases', {
  route: 'releases',
  methods: ['GET'],
  authLevel: 'function',
  handler: guarded(listReleases),
});
df.app.client.http('getRelease', {
  route: 'releases/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: guarded(getRelease),
});
df.app.client.http('controlRelease', {
  route: 'releases/{id}/{action}',
  methods: ['POST'],
  authLevel: 'function',
  handler: guarded(controlRelease),
});
