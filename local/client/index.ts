import type { RolloutView } from '../../src/services/rolloutView';
import { summarizeRollout } from '../../src/services/rolloutView';

/** What the demo and the end-to-end tests do as a person or a CI system would: plain HTTP. */
export interface GreenlightHttp {
  baseUrl: string;
  functionKey: string;
  systemKey: string;
}

export function imagePushedEvent(args: {
  id: string;
  registry: string;
  repository: string;
  tag: string;
  digest: string;
}): Record<string, unknown> {
  const registryName = args.registry.split('.')[0] ?? 'registry';
  return {
    id: args.id,
    topic: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/${registryName}`,
    subject: `${args.repository}:${args.tag}`,
    eventType: 'Microsoft.ContainerRegistry.ImagePushed',
    eventTime: new Date().toISOString(),
    dataVersion: '1.0',
    metadataVersion: '1',
    data: {
      id: args.id,
      timestamp: new Date().toISOString(),
      action: 'push',
      target: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        size: 1024,
        digest: args.digest,
        length: 1024,
        repository: args.repository,
        tag: args.tag,
      },
      request: { id: args.id, host: args.registry, method: 'PUT', useragent: 'docker/27.0' },
    },
  };
}

/** Delivers events the way Event Grid does: a POST of an array to the Functions Event Grid webhook. */
export async function pushEvents(gl: GreenlightHttp, events: unknown[]): Promise<Response> {
  const res = await fetch(
    `${gl.baseUrl}/runtime/webhooks/eventgrid?functionName=imagePushed&code=${encodeURIComponent(gl.systemKey)}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify(events),
    },
  );
  if (!res.ok) throw new Error(`Event Grid delivery failed: ${res.status} ${await res.text()}`);
  return res;
}

export async function api(
  gl: GreenlightHttp,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${gl.baseUrl}${path}`, {
    method,
    headers: { 'x-functions-key': gl.functionKey, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function getRollout(gl: GreenlightHttp, id: string): Promise<RolloutView> {
  const res = await api(gl, 'GET', `/api/rollouts/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`GET rollout ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as RolloutView;
}

export async function listRollouts(gl: GreenlightHttp, app: string): Promise<RolloutView[]> {
  const res = await api(gl, 'GET', `/api/rollouts?app=${encodeURIComponent(app)}`);
  if (!res.ok) throw new Error(`GET rollouts: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { rollouts: RolloutView[] }).rollouts;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `until` holds, printing one line per change in what the rollout reports. */
export async function follow(
  gl: GreenlightHttp,
  id: string,
  until: (v: RolloutView) => boolean,
  opts: { timeoutMs?: number; print?: (line: string) => void; pollMs?: number } = {},
): Promise<RolloutView> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let last = '';
  for (;;) {
    const v = await getRollout(gl, id);
    const line = summarizeRollout(v);
    if (line !== last) {
      opts.print?.(line);
      last = line;
    }
    if (until(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`rollout ${id} did not reach the expected state in time; last: ${line}`);
    await sleep(opts.pollMs ?? 100);
  }
}

/** Waits for the newest rollout of an app that is not among `known`. */
export async function waitForNewRollout(
  gl: GreenlightHttp,
  app: string,
  known: Set<string>,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = (await listRollouts(gl, app)).find((r) => !known.has(r.id));
    if (fresh) return fresh.id;
    if (Date.now() > deadline) throw new Error(`no new rollout for ${app} appeared within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Approves (or rejects) as a person does: opens the link (a GET that only shows the page), reads the
 * form for the chosen decision, and submits it.
 */
export async function decideThroughPage(
  pageUrl: string,
  decision: 'approve' | 'reject',
  comment: string,
  approver?: string,
): Promise<{ page: string; result: Response }> {
  const pageRes = await fetch(pageUrl, { headers: { accept: 'text/html' } });
  const page = await pageRes.text();
  if (pageRes.status !== 200)
    throw new Error(`approval page answered ${pageRes.status}: ${page.slice(0, 300)}`);
  const forms = [...page.matchAll(/<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]+)"[^>]*>(.*?)<\/form>/gs)];
  const form = forms.find((f) => f[2]?.includes(`name="decision" value="${decision}"`));
  const action = form?.[1];
  const token = form?.[2] ? /name="token" value="([^"]+)"/.exec(form[2])?.[1] : undefined;
  if (!action || !token) throw new Error(`the approval page has no ${decision} form`);
  const target = new URL(action.replace(/&amp;/g, '&'), pageUrl).toString();
  const result = await fetch(target, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html',
      ...(approver ? { 'x-ms-client-principal-name': approver } : {}),
    },
    body: new URLSearchParams({ token, decision, comment }).toString(),
  });
  return { page, result };
}
