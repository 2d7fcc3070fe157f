import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import type { DurableClient } from 'durable-functions';
import { services } from '../composition';
import { approvalEntry, auditApp, auditId, unknownApp } from '../domain/audit';
import type { ApprovalDecision } from '../domain/rollout/types';
import { approvalEventSchema } from '../domain/events';
import { Events } from '../names';
import { approvalPath, checkApprovalToken, mintApprovalTokens } from '../services/approvals';
import { recordAudit } from './http/audit';
import { problem, unknownRollout } from './http/problem';
import { renderApprovalBody, renderResultBody, signInUrl, viewerStanding } from './pages/approvalPage';
import { errorPage, htmlPage, wantsHtml } from './pages/html';
import { renderReleaseApprovalBody } from './pages/releasePage';
import { guarded } from './http/guard';
import { blueImageOf, loadInstance } from './http/instances';
import { approverOf, badId, readJson, type Parsed } from './http/request';

/** Replies as a page to a browser and as problem+json to a program. */
function fail(request: HttpRequest, p: { status: number; type: string; title: string; detail: string }) {
  return wantsHtml(request.headers.get('accept')) ? errorPage(p.status, p.title, p.detail) : problem(p);
}

/** A bad id as a page for a browser, as problem+json for a program. */
function invalidId(request: HttpRequest, id: string): HttpResponseInit | undefined {
  const invalid = badId(id);
  if (!invalid || !wantsHtml(request.headers.get('accept'))) return invalid;
  const p = invalid.jsonBody as { status: number; title: string; detail: string };
  return errorPage(p.status, p.title, p.detail);
}

/** GET /api/approvals/{id}?token=: the confirmation page. Never decides: link unfurlers follow GETs. */
async function showApproval(request: HttpRequest, client: DurableClient) {
  const id = request.params.id ?? '';
  const invalid = invalidId(request, id);
  if (invalid) return invalid;
  const { config, store } = services();
  const check = checkApprovalToken(config.approval.signingKey, request.query.get('token'), id, Date.now());
  if (!check.ok) return fail(request, check);
  if (await store.nonceSpent(check.nonce)) {
    return fail(request, {
      status: 409,
      type: 'approval-already-decided',
      title: 'Already decided',
      detail: 'this approval link was already used; see the rollout status for the decision',
    });
  }
  const { rollout, release } = await loadInstance(client, id);
  if (!rollout && !release) {
    return fail(request, unknownRollout(id));
  }
  const tokens = mintApprovalTokens(config.approval.signingKey, id, check.expiresAt, check.nonce);
  const approvers = release?.approvers ?? rollout?.input?.plan.approval.approvers ?? [];
  const trust = config.approval.trustClientPrincipal;
  const principal = trust
    ? request.headers.get('x-ms-client-principal-name')?.trim().slice(0, 200)
    : undefined;
  const url = new URL(request.url);
  const standing = viewerStanding({
    principal: principal || undefined,
    tokenApprover: check.approver,
    approvers,
    trustClientPrincipal: trust,
    signInUrl: signInUrl(`${url.pathname}${url.search}`),
  });
  if (release) {
    const page = renderReleaseApprovalBody({
      release: release.view,
      members: await release.members(),
      tokens,
      expiresAt: check.expiresAt,
      action: approvalPath(id),
      approvers,
      standing,
    });
    return htmlPage(200, page.title, page.body, principal ? { signedInAs: principal } : {});
  }
  if (!rollout) return fail(request, unknownRollout(id));
  const page = renderApprovalBody({
    view: rollout.view,
    tokens,
    expiresAt: check.expiresAt,
    action: approvalPath(id),
    approvers,
    standing,
    blueImage: await blueImageOf(rollout.view),
    conditions: Object.fromEntries(
      (rollout.input?.plan.gates ?? []).map((g) => [g.name, g.successCondition]),
    ),
  });
  return htmlPage(200, page.title, page.body, principal ? { signedInAs: principal } : {});
}

const decisionBody = z.strictObject({
  token: z.string().optional(),
  decision: z.string().optional(),
  comment: z.string().optional(),
});
type DecisionForm = z.infer<typeof decisionBody>;

/** The approval page posts a form; programs may post the same fields as JSON (validated like every body). */
async function readForm(request: HttpRequest): Promise<Parsed<DecisionForm>> {
  if ((request.headers.get('content-type') ?? '').includes('application/json')) {
    const parsed = await readJson(request, decisionBody, { optional: true });
    return parsed.ok ? { ok: true, value: parsed.value ?? {} } : parsed;
  }
  return { ok: true, value: Object.fromEntries(new URLSearchParams(await request.text()).entries()) };
}

/** POST /api/approvals/{id}: records the decision once (the token's nonce is spent) and tells the rollout. */
async function decideApproval(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const id = request.params.id ?? '';
  const invalid = invalidId(request, id);
  if (invalid) return invalid;
  const { config, store } = services();
  const body = await readForm(request);
  if (!body.ok) return body.response;
  const form = body.value;
  const token = form.token ?? request.query.get('token');
  const check = checkApprovalToken(config.approval.signingKey, token, id, Date.now());
  if (!check.ok) return fail(request, check);
  if (form.decision && form.decision !== check.decision) {
    return fail(request, {
      status: 400,
      type: 'approval-decision-mismatch',
      title: 'Decision does not match the token',
      detail: `the form says '${form.decision}' but the token is for '${check.decision}'; use the button for the decision you want`,
    });
  }
  // A release's approval works like a rollout's: the token is bound to the release id.
  const { rollout, release } = await loadInstance(client, id);
  const target = rollout?.view ?? release?.view;
  if (!target) {
    return fail(request, unknownRollout(id));
  }
  if (target.phase !== 'WaitingApproval' || target.done) {
    return fail(request, {
      status: 409,
      type: 'approval-not-pending',
      title: 'Not waiting for approval',
      detail: `${release ? 'release' : 'rollout'} ${id} is ${target.phase}; a decision can only be made while it waits for approval`,
    });
  }
  const approver = approverOf(request, config.approval.trustClientPrincipal, check.approver);
  const allowed = release?.approvers ?? rollout?.input?.plan.approval.approvers ?? [];
  if (allowed.length > 0 && !allowed.includes(approver)) {
    return fail(request, {
      status: 403,
      type: 'approver-not-allowed',
      title: 'Not an approver for this app',
      detail: `'${approver}' is not among this app's approvers (${allowed.join(', ')}); sign in as one of them${
        config.approval.trustClientPrincipal
          ? ''
          : ' (sign-in needs App Service authentication on this app and GREENLIGHT_TRUST_CLIENT_PRINCIPAL=true)'
      }`,
    });
  }
  if (!(await store.spendNonce(check.nonce, check.expiresAt - Date.now()))) {
    return fail(request, {
      status: 409,
      type: 'approval-already-decided',
      title: 'Already decided',
      detail: 'this approval link was already used; a decision is made once',
    });
  }
  const comment = form.comment?.trim().slice(0, 500) || undefined;
  // Built with the schema the rollout reads its events with: what is raised is what it accepts.
  const decision: ApprovalDecision = approvalEventSchema.parse({
    decision: check.decision,
    approver,
    decidedAt: new Date().toISOString(),
    ...(comment ? { comment } : {}),
  });
  try {
    await client.raiseEvent(id, Events.approval, decision);
  } catch (e) {
    // Not delivered (the task hub or its store did not answer): the link must stay usable for the retry
    // the 503 asks for, or the decision would be lost with its spent token.
    await store.unspendNonce(check.nonce).catch(() => undefined);
    throw e;
  }
  // The token's nonce is spent once: one decision, one entry, whatever retries follow.
  const app = rollout?.input?.plan.app ?? (rollout?.view.app.name ? rollout.view.app : undefined);
  await recordAudit(
    context,
    approvalEntry(
      {
        id: auditId('approval', check.nonce),
        at: decision.decidedAt,
        app: release ? release.auditApp : app ? auditApp(app) : unknownApp,
        rolloutId: id,
        actor: { kind: 'principal', name: approver },
        ...(comment ? { reason: comment } : {}),
      },
      check.decision,
    ),
  );
  // A browser's form post gets a page; an API client that asks for JSON gets JSON.
  const accept = request.headers.get('accept') ?? '';
  const wantsJson =
    (accept.includes('application/json') && !accept.includes('text/html')) ||
    (request.headers.get('content-type') ?? '').includes('json');
  if (!wantsJson) {
    const page = renderResultBody({
      rolloutId: id,
      decision: check.decision,
      approver,
      ...(comment ? { comment } : {}),
      ...(release ? { release: true } : {}),
    });
    return htmlPage(200, page.title, page.body);
  }
  return { status: 200, jsonBody: { id, ...decision } };
}

df.app.client.http('showApproval', {
  route: 'approvals/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: guarded(showApproval),
});
df.app.client.http('decideApproval', {
  route: 'approvals/{id}',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: guarded(decideApproval),
});
