import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import { services } from '../composition';
import { Orchestrators } from '../names';
import { sortReleases } from '../services/releaseRequest';
import { toReleaseView } from '../services/releaseView';
import { toRolloutView, type RolloutView } from '../services/rolloutView';
import { guarded } from './http/guard';
import { badId } from './http/request';
import type { TrafficSample } from './pages/charts';
import {
  renderDashboardBody,
  renderRolloutBody,
  refreshSeconds,
  type AuditFacts,
} from './pages/dashboardPage';
import { errorPage, esc, htmlPage } from './pages/html';
import { loadRelease, loadRollout } from './http/instances';
import { releasesSection, renderReleaseBody } from './pages/releasePage';
import { signInUrl } from './pages/approvalPage';

/**
 * The dashboard: pages for people, so every answer (errors included) is HTML with the pages' security
 * headers. The routes are anonymous to the Functions host and answer only a signed-in principal: in
 * Azure App Service authentication signs people in (with GREENLIGHT_TRUST_CLIENT_PRINCIPAL=true, which
 * makes the app believe the principal header), locally the runtime plays it. A function key is no way in:
 * a key in a browser's address bar ends up in its history and in screenshots.
 */
function viewer(
  request: HttpRequest,
): { ok: true; name: string } | { ok: false; response: HttpResponseInit } {
  const url = new URL(request.url);
  if (!services().config.approval.trustClientPrincipal) {
    return {
      ok: false,
      response: errorPage(
        403,
        'Dashboard needs sign-in',
        'The dashboard is shown only to people the platform signed in. Turn on App Service authentication for this Function App (infra parameter enableAppServiceAuth) and set GREENLIGHT_TRUST_CLIENT_PRINCIPAL=true; until then use GET /api/rollouts with a function key or the greenlight CLI.',
      ),
    };
  }
  const name = request.headers.get('x-ms-client-principal-name')?.trim().slice(0, 200);
  if (!name) {
    const login = signInUrl(`${url.pathname}${url.search}`);
    return {
      ok: false,
      response: errorPage(
        401,
        'Sign in to see rollouts',
        'You are not signed in; the dashboard shows rollouts to signed-in people only.',
        `<p><a href="${esc(login)}">Sign in</a> and you come back here.</p>`,
      ),
    };
  }
  return { ok: true, name };
}

const appPattern = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;

/** GET /api/dashboard?app=: every rollout, running first. */
async function dashboard(request: HttpRequest, client: DurableClient) {
  const who = viewer(request);
  if (!who.ok) return who.response;
  const unknownParams = [...request.query.keys()].filter((k) => k !== 'app');
  if (unknownParams.length) {
    return errorPage(
      400,
      'Unknown query parameter',
      `the dashboard takes only ?app=<name>; got ${unknownParams.map((k) => JSON.stringify(k.slice(0, 50))).join(', ')}`,
    );
  }
  const app = request.query.get('app')?.trim() || undefined;
  if (app !== undefined && !appPattern.test(app)) {
    return errorPage(
      400,
      'Invalid app name',
      `app must be 1-100 letters, digits, '.', '_', '/' or '-'; got ${JSON.stringify(app.slice(0, 120))}`,
    );
  }
  const all = await client.getStatusAll();
  const views = all
    .filter((s) => s.name === Orchestrators.rollout)
    .map(toRolloutView)
    .filter((v) => !app || v.app.name === app || v.app.resourceGroup + '/' + v.app.name === app)
    .slice(0, 500);
  const page = renderDashboardBody(views, app);
  // Releases with each member's phase; a member's own rollout is in the list above.
  const releases = sortReleases(
    all.filter((s) => s.name === Orchestrators.release).map((s) => toReleaseView(s)),
  )
    .filter((r) => !app || r.members.some((m) => m.app === app))
    .slice(0, 100);
  const running = views.some((v) => !v.done) || releases.some((r) => !r.done);
  return htmlPage(200, page.title, page.body + releasesSection(releases), {
    signedInAs: who.name,
    ...(running ? { refreshSeconds } : {}),
  });
}

interface TrafficLike {
  revisionName: string;
  weight: number;
}

/** Traffic over time from the audit's traffic writes (before and after each), then the status's traffic now. */
export function trafficSamples(view: RolloutView, entries: AuditEntryLike[]): TrafficSample[] {
  const writes = entries
    .filter((e) => e.kind === 'traffic.written' && Array.isArray(e.after?.traffic))
    .sort((a, b) => a.at.localeCompare(b.at));
  const samples: TrafficSample[] = [];
  const first = writes[0];
  if (first && Array.isArray(first.before?.traffic)) {
    samples.push({ at: Date.parse(view.createdAt), traffic: first.before.traffic as TrafficLike[] });
  }
  for (const w of writes) samples.push({ at: Date.parse(w.at), traffic: w.after!.traffic as TrafficLike[] });
  // No write recorded (an audit trimmed or unreadable): blue served everything when the rollout began.
  const blue = view.blue[0];
  if (samples.length === 0 && blue && view.blue.length === 1) {
    samples.push({ at: Date.parse(view.createdAt), traffic: [{ revisionName: blue, weight: 100 }] });
  }
  if (view.traffic?.length) {
    const last = samples[samples.length - 1];
    const same =
      last !== undefined &&
      JSON.stringify(last.traffic.map((t) => [t.revisionName, t.weight])) ===
        JSON.stringify(view.traffic.map((t) => [t.revisionName, t.weight]));
    if (!same) samples.push({ at: Date.parse(view.lastUpdatedAt), traffic: view.traffic });
  }
  return samples.filter((s) => !Number.isNaN(s.at));
}

interface AuditEntryLike {
  at: string;
  kind: string;
  summary: string;
  actor: { name: string };
  before?: { traffic?: unknown };
  after?: { traffic?: unknown };
}

async function auditOf(
  id: string,
  context: InvocationContext,
): Promise<{ facts: AuditFacts; raw: AuditEntryLike[] }> {
  try {
    const page = await services().audit.query({ rolloutId: id, limit: 200 });
    const raw = page.entries as unknown as AuditEntryLike[];
    return { facts: { entries: raw }, raw };
  } catch (e) {
    context.warn(`dashboard: audit of ${id} unreadable: ${e instanceof Error ? e.message : String(e)}`);
    return {
      facts: { entries: [], unavailable: 'the audit store did not answer; reload to retry' },
      raw: [],
    };
  }
}

/** GET /api/dashboard/rollouts/{id}: one rollout, refreshing itself while it runs. */
async function dashboardRollout(request: HttpRequest, client: DurableClient, context: InvocationContext) {
  const who = viewer(request);
  if (!who.ok) return who.response;
  const id = request.params.id ?? '';
  const invalid = badId(id);
  if (invalid) {
    const p = invalid.jsonBody as { status: number; title: string; detail: string };
    return errorPage(p.status, p.title, p.detail);
  }
  const rollout = await loadRollout(client, id);
  if (!rollout) {
    return errorPage(
      404,
      'Rollout not found',
      `no rollout has id '${id}'; see all rollouts at /api/dashboard`,
    );
  }
  const { view, input } = rollout;
  const audit = await auditOf(id, context);
  const page = renderRolloutBody({
    view,
    traffic: trafficSamples(view, audit.raw),
    audit: audit.facts,
    conditions: Object.fromEntries((input?.plan.gates ?? []).map((g) => [g.name, g.successCondition])),
    now: view.done ? Date.parse(view.lastUpdatedAt) : Date.now(),
  });
  return htmlPage(200, page.title, page.body, {
    signedInAs: who.name,
    ...(view.done ? {} : { refreshSeconds }),
  });
}

/** GET /api/dashboard/releases/{id}: one release, refreshing itself while it runs. */
async function dashboardRelease(request: HttpRequest, client: DurableClient) {
  const who = viewer(request);
  if (!who.ok) return who.response;
  const id = request.params.id ?? '';
  const invalid = badId(id);
  if (invalid) {
    const p = invalid.jsonBody as { status: number; title: string; detail: string };
    return errorPage(p.status, p.title, p.detail);
  }
  const release = await loadRelease(client, id);
  if (!release) {
    return errorPage(
      404,
      'Release not found',
      `no release has id '${id}'; see all releases at /api/dashboard`,
    );
  }
  const page = renderReleaseBody(release.view, await release.members());
  return htmlPage(200, page.title, page.body, {
    signedInAs: who.name,
    ...(release.view.done ? {} : { refreshSeconds }),
  });
}

df.app.client.http('dashboard', {
  route: 'dashboard',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: guarded(dashboard),
});
df.app.client.http('dashboardRollout', {
  route: 'dashboard/rollouts/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: guarded(dashboardRollout),
});
df.app.client.http('dashboardRelease', {
  route: 'dashboard/releases/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: guarded(dashboardRelease),
});
