import { randomUUID, timingSafeEqual } from 'node:crypto';
import { HttpRequest, HttpResponse, InvocationContext } from '@azure/functions';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DurableEngine, Outcome } from './engine';
import { type CapturedFunction, invocationContextFor } from './functionsCore';
import { presentHistory } from './history';
import type { HostKeys } from './keys';
import { managementUrls as urlsFor } from './urls';
import { registerEasyAuth } from './easyAuth';
import { compileRoute, type CompiledRoute } from './routes';
import { terminalStatuses, type InstanceState, type InstanceSummary, type RuntimeStatus } from './store';

export interface ServerDeps {
  functions: () => Map<string, CapturedFunction>;
  engine: DurableEngine;
  keys: HostKeys;
  taskHub: string;
  rpcToken: string;
  baseUrl: () => string;
  clientData: () => unknown;
  bodyLimit: number;
  log: (line: string) => void;
}

interface Problem {
  status: number;
  title: string;
  detail: string;
  type?: string;
  [extra: string]: unknown;
}

function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  const { type, ...rest } = p;
  return reply
    .code(p.status)
    .header('content-type', 'application/problem+json')
    .send({ type: `https://greenlight.dev/problems/runtime/${type ?? 'error'}`, ...rest });
}

/** Webhooks and the Durable API take the system key (or the master key), as on the Functions host. */
function hasSystemKey(req: FastifyRequest, keys: HostKeys): boolean {
  const key = keyOf(req) ?? basicPassword(req);
  return key !== undefined && (safeEqual(key, keys.system) || safeEqual(key, keys.master));
}

/**
 * The password of HTTP basic authentication: the app's DurableClient reaches the internal Durable API
 * at a base URL with the system key as its userinfo, and axios sends that as basic authentication.
 */
function basicPassword(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A request URL without its query string (which may carry a key). */
function pathOf(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

function malformedJson(reply: FastifyReply, what: string, message: string): FastifyReply {
  return sendProblem(reply, {
    status: 400,
    type: 'malformed-json',
    title: 'Malformed JSON',
    detail: `${what} is not valid JSON (${message})`,
  });
}

function invalidQuery(reply: FastifyReply, problems: string[]): FastifyReply {
  return sendProblem(reply, {
    status: 400,
    type: 'invalid-query',
    title: 'Invalid query',
    detail: problems.join('; '),
  });
}

function keyOf(req: FastifyRequest): string | undefined {
  const q = req.query as Record<string, string | undefined>;
  const header = req.headers['x-functions-key'];
  return q.code ?? (typeof header === 'string' ? header : undefined);
}

function headerRecord(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function bodyBuffer(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function parseJsonBody(req: FastifyRequest): { ok: true; value: unknown } | { ok: false; message: string } {
  const buf = bodyBuffer(req);
  if (buf.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

interface InvocationResult {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** Turns whatever an HTTP handler returned (HttpResponse or HttpResponseInit) into status, headers, body. */
async function toResult(value: unknown): Promise<InvocationResult> {
  const isResponse =
    typeof value === 'object' &&
    value !== null &&
    'headers' in value &&
    typeof (value as { arrayBuffer?: unknown }).arrayBuffer === 'function';
  const res = isResponse ? (value as InstanceType<typeof HttpResponse>) : new HttpResponse(value ?? {});
  const headers: [string, string][] = [];
  res.headers.forEach((v, k) => headers.push([k, v]));
  return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit,
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true },
    // Fastify's own refusals (a URL it cannot decode, say) answer like every other error here.
    frameworkErrors: (_error, req, reply) =>
      void sendProblem(reply, {
        status: 400,
        type: 'bad-request',
        title: 'Bad request',
        // The path only: the query may carry a key (?code=).
        detail: `the path ${JSON.stringify(pathOf(req.url))} is not a valid URL path; percent-encode reserved characters (a literal '%' is %25)`,
      }),
  });
  // An error reply never repeats a key, whatever message produced it (keys travel in URLs as ?code=).
  const keyValues = [deps.keys.master, deps.keys.function, deps.keys.system].filter((k) => k.length > 0);
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode < 400) return payload;
    const text =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (text === undefined || !keyValues.some((k) => text.includes(k))) return payload;
    return keyValues.reduce((t, k) => t.split(k).join('<key>'), text);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req) => {
    (req as FastifyRequest & { release?: () => void }).release = deps.engine.beginExternal(req.method);
  });
  app.addHook('onResponse', async (req) => {
    (req as FastifyRequest & { release?: () => void }).release?.();
  });
  app.addHook('onError', async (req) => {
    (req as FastifyRequest & { release?: () => void }).release?.();
  });
  // A caller that hangs up gets neither hook above; without this the virtual clock would stop for good.
  app.addHook('onRequestAbort', async (req) => {
    (req as FastifyRequest & { release?: () => void }).release?.();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      return sendProblem(reply, {
        status: 413,
        type: 'body-too-large',
        title: 'Request body too large',
        detail: `the body exceeds ${deps.bodyLimit} bytes; send a smaller payload`,
      });
    }
    deps.log(`runtime error: ${error.stack ?? error.message}`);
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    return sendProblem(reply, {
      status,
      type: status < 500 ? 'bad-request' : 'runtime-error',
      title: status < 500 ? 'Bad request' : 'Runtime error',
      // A 4xx from the framework says what was wrong with the request; a 5xx stays in the log.
      detail: status < 500 ? error.message : 'the runtime failed; the error is in its log',
    });
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, {
      status: 404,
      type: 'not-found',
      title: 'No such endpoint',
      detail: `nothing is served at ${req.method} ${req.url.split('?')[0]}; functions live under /api/, Event Grid under /runtime/webhooks/eventgrid, Durable under /runtime/webhooks/durabletask/`,
    }),
  );

  // App Service authentication, when the app settings turn it on (as WEBSITE_AUTH_ENABLED says in Azure).
  registerEasyAuth(app, { enabled: () => process.env.WEBSITE_AUTH_ENABLED?.toLowerCase() === 'true' });
  registerHttpTriggers(app, deps);
  registerEventGrid(app, deps);
  registerDurableApi(app, deps, '/runtime/webhooks/durabletask');
  registerDurableApi(app, deps, `/_rpc/${deps.rpcToken}/durabletask`);
  return app;
}

// ---- HTTP triggers ------------------------------------------------------------------------------

interface HttpFunction {
  fn: CapturedFunction;
  route: CompiledRoute;
  methods: string[];
  authLevel: string;
}

function httpFunctions(functions: Map<string, CapturedFunction>): HttpFunction[] {
  const out: HttpFunction[] = [];
  for (const fn of functions.values()) {
    if (fn.trigger.type !== 'httpTrigger') continue;
    const t = fn.trigger as { route?: string; methods?: string[]; authLevel?: string };
    out.push({
      fn,
      route: compileRoute(t.route ?? fn.name),
      methods: (t.methods ?? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).map((m) =>
        m.toUpperCase(),
      ),
      authLevel: (t.authLevel ?? 'function').toLowerCase(),
    });
  }
  // More literal segments first, as ASP.NET routing orders templates.
  return out.sort((a, b) => b.route.precedence - a.route.precedence);
}

function registerHttpTriggers(app: FastifyInstance, deps: ServerDeps): void {
  let cache: { size: number; list: HttpFunction[] } | undefined;
  const list = (): HttpFunction[] => {
    const fns = deps.functions();
    if (!cache || cache.size !== fns.size) cache = { size: fns.size, list: httpFunctions(fns) };
    return cache.list;
  };

  app.all('/api/*', async (req, reply) => {
    // Raw path: each route parameter is decoded once, as the Functions host does.
    const path = (req.url.split('?')[0] ?? '').replace(/^\/api\/?/, '');
    let matches: { h: HttpFunction; params: Record<string, string> }[];
    try {
      matches = list()
        .map((h) => ({ h, params: h.route.match(path) }))
        .filter((m): m is { h: HttpFunction; params: Record<string, string> } => m.params !== undefined);
    } catch {
      return sendProblem(reply, {
        status: 400,
        type: 'bad-request',
        title: 'Malformed path',
        detail: `/api/${path} has a '%' that is not a percent-encoding; write a literal '%' as %25`,
      });
    }
    if (matches.length === 0) {
      return sendProblem(reply, {
        status: 404,
        type: 'no-function',
        title: 'No function at this route',
        detail: `no HTTP function serves /api/${path}`,
      });
    }
    const hit = matches.find((m) => m.h.methods.includes(req.method));
    if (!hit) {
      const allowed = [...new Set(matches.flatMap((m) => m.h.methods))];
      return sendProblem(reply.header('allow', allowed.join(', ')), {
        status: 405,
        type: 'method-not-allowed',
        title: 'Method not allowed',
        detail: `/api/${path} accepts ${allowed.join(', ')}, not ${req.method}`,
      });
    }
    const { h, params } = hit;
    if (h.authLevel !== 'anonymous') {
      const key = keyOf(req);
      const ok =
        key !== undefined &&
        (safeEqual(key, deps.keys.master) ||
          (h.authLevel === 'function' && safeEqual(key, deps.keys.function)));
      if (!ok) {
        return sendProblem(reply, {
          status: 401,
          type: 'unauthorized',
          title: 'Function key required',
          detail: `this function has auth level '${h.authLevel}': pass its key as ?code= or the x-functions-key header`,
        });
      }
    }
    const started = Date.now();
    const url = `${deps.baseUrl()}${req.url}`;
    const body = bodyBuffer(req);
    const request = new HttpRequest({
      method: req.method,
      url,
      headers: headerRecord(req),
      params,
      ...(body.length > 0 ? { body: { bytes: new Uint8Array(body) } } : {}),
    });
    const context = invocationContext(h.fn, deps);
    try {
      const result = await toResult(await h.fn.callback(request, context));
      deps.log(
        `http  ${req.method} ${req.url.split('?')[0]} → ${result.status} (${h.fn.name}, ${Date.now() - started} ms)`,
      );
      for (const [k, v] of result.headers) void reply.header(k, v);
      return reply.code(result.status).send(result.body);
    } catch (e) {
      deps.log(`http  ${req.method} ${req.url.split('?')[0]} → 500 (${h.fn.name} threw: ${String(e)})`);
      // As the Functions host: the caller learns that it failed, the log learns why.
      return sendProblem(reply, {
        status: 500,
        type: 'function-failed',
        title: 'Function failed',
        detail: `function '${h.fn.name}' failed; the error is in the runtime log`,
      });
    }
  });
}

function invocationContext(fn: CapturedFunction, deps: ServerDeps): InvocationContext {
  return invocationContextFor(fn, deps.clientData, (level, text) =>
    deps.log(`fn    ${fn.name} [${level}] ${text}`),
  );
}

// ---- Event Grid -----------------------------------------------------------------------------------

function registerEventGrid(app: FastifyInstance, deps: ServerDeps): void {
  // CloudEvents abuse protection: the subscriber confirms it accepts deliveries from this origin.
  app.options('/runtime/webhooks/eventgrid', async (req, reply) => {
    if (!hasSystemKey(req, deps.keys)) return unauthorizedWebhook(reply);
    const origin = req.headers['webhook-request-origin'];
    if (typeof origin !== 'string' || !origin) {
      return sendProblem(reply, {
        status: 400,
        type: 'missing-origin',
        title: 'WebHook-Request-Origin missing',
        detail: 'a CloudEvents validation request must carry the WebHook-Request-Origin header',
      });
    }
    return reply
      .code(200)
      .header('webhook-allowed-origin', origin)
      .header('webhook-allowed-rate', '*')
      .send();
  });

  app.post('/runtime/webhooks/eventgrid', async (req, reply) => {
    if (!hasSystemKey(req, deps.keys)) return unauthorizedWebhook(reply);
    const name = (req.query as Record<string, string | undefined>).functionName;
    const fn = name ? deps.functions().get(name) : undefined;
    if (!fn || fn.trigger.type !== 'eventGridTrigger') {
      return sendProblem(reply, {
        status: 404,
        type: 'no-function',
        title: 'No Event Grid function',
        detail: `functionName '${name ?? ''}' is not an Event Grid triggered function of this app; pass ?functionName=<name>`,
      });
    }
    const parsed = parseJsonBody(req);
    if (!parsed.ok) return malformedJson(reply, 'the body', parsed.message);
    const contentType = String(req.headers['content-type'] ?? '');
    const events: unknown[] = Array.isArray(parsed.value)
      ? parsed.value
      : parsed.value !== undefined && (contentType.includes('cloudevents') || isCloudEvent(parsed.value))
        ? [parsed.value]
        : [];
    if (events.length === 0 || !events.every((e) => typeof e === 'object' && e !== null)) {
      return sendProblem(reply, {
        status: 400,
        type: 'invalid-events',
        title: 'No events',
        detail: 'send an array of Event Grid events, or CloudEvents 1.0 (one event or a batch)',
      });
    }
    // Event Grid schema subscription handshake.
    const validation = events.find(
      (e) => (e as { eventType?: string }).eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent',
    ) as { data?: { validationCode?: string } } | undefined;
    const code = validation?.data?.validationCode;
    if (
      (validation || req.headers['aeg-event-type'] === 'SubscriptionValidation') &&
      typeof code !== 'string'
    ) {
      return sendProblem(reply, {
        status: 400,
        type: 'invalid-validation',
        title: 'Validation code missing',
        detail: 'a SubscriptionValidationEvent must carry data.validationCode (a string)',
      });
    }
    // The handshake answers the validation event; every other event in the batch still runs.
    const others = validation ? events.filter((e) => e !== validation) : events;
    const started = Date.now();
    for (const event of others) {
      try {
        await fn.callback(event, invocationContext(fn, deps));
      } catch (e) {
        deps.log(`eventgrid ${fn.name} failed: ${String(e)} (Event Grid will redeliver)`);
        // 503: Event Grid retries the delivery; the cause stays in the log.
        return sendProblem(reply.header('retry-after', '10'), {
          status: 503,
          type: 'function-failed',
          title: 'Function failed',
          detail: `function '${fn.name}' could not process the batch; Event Grid retries the delivery`,
        });
      }
    }
    if (validation) {
      deps.log(`eventgrid subscription validated for ${fn.name}`);
      return reply.code(200).send({ validationResponse: code });
    }
    deps.log(`eventgrid ${others.length} event(s) → ${fn.name} (${Date.now() - started} ms)`);
    return reply.code(202).send();
  });
}

function isCloudEvent(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'specversion' in v;
}

function unauthorizedWebhook(reply: FastifyReply): FastifyReply {
  return sendProblem(reply, {
    status: 401,
    type: 'unauthorized',
    title: 'System key required',
    detail: 'runtime webhooks need the host system key as ?code= (or the master key)',
  });
}

// ---- Durable Functions HTTP API ---------------------------------------------------------------------

const runtimeStatuses: RuntimeStatus[] = [
  'Pending',
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Terminated',
  'Suspended',
];

export function statusPayload(
  s: InstanceSummary & Partial<Pick<InstanceState, 'history' | 'inbox'>>,
  opts: { showInput?: boolean; showHistory?: boolean; showHistoryOutput?: boolean } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: s.name,
    instanceId: s.instanceId,
    runtimeStatus: s.runtimeStatus,
    input: opts.showInput === false ? null : s.input,
    customStatus: s.customStatus,
    output: s.output,
    createdTime: s.createdTime,
    lastUpdatedTime: s.lastUpdatedTime,
  };
  if (opts.showHistory) {
    const history = presentHistory([...(s.history ?? []), ...(s.inbox ?? [])], !!opts.showHistoryOutput);
    out.historyEvents = history;
    out.history = history;
  }
  return out;
}

/** The documented Durable API, and the same API at the internal base URL the app's client uses: both keyed. */
function registerDurableApi(app: FastifyInstance, deps: ServerDeps, prefix: string): void {
  const { engine } = deps;
  const guard = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (hasSystemKey(req, deps.keys)) return true;
    void unauthorizedWebhook(reply);
    return false;
  };
  const managementUrls = (id: string) =>
    urlsFor({ baseUrl: deps.baseUrl(), taskHub: deps.taskHub, systemKey: deps.keys.system }, id);
  const notFound = (reply: FastifyReply, id: string) =>
    sendProblem(reply, {
      status: 404,
      type: 'unknown-instance',
      title: 'Instance not found',
      detail: `no orchestration instance has id '${id}'`,
    });
  const gone = (reply: FastifyReply, id: string, what: string) =>
    sendProblem(reply, {
      status: 410,
      type: 'instance-completed',
      title: 'Instance already finished',
      detail: `instance '${id}' has finished, so it cannot ${what}`,
    });
  const answer = (reply: FastifyReply, id: string, outcome: Outcome, what: string) => {
    if (outcome === 'notFound') return notFound(reply, id);
    if (outcome === 'gone') return gone(reply, id, what);
    return reply.code(202).send();
  };

  app.post(`${prefix}/orchestrators/:functionName/:instanceId?`, async (req, reply) => {
    if (!guard(req, reply)) return reply;
    const { functionName, instanceId } = req.params as { functionName: string; instanceId?: string };
    if (!engine.hasOrchestrator(functionName)) {
      return sendProblem(reply, {
        status: 400,
        type: 'unknown-orchestrator',
        title: 'Unknown orchestrator',
        detail: `'${functionName}' is not an orchestrator function of this app`,
      });
    }
    const parsed = parseJsonBody(req);
    if (!parsed.ok) return malformedJson(reply, 'the orchestration input', parsed.message);
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    const outcome = await engine.startNew(functionName, id, parsed.value);
    if (outcome === 'conflict') {
      return sendProblem(reply, {
        status: 409,
        type: 'instance-exists',
        title: 'Instance already running',
        detail: `an instance with id '${id}' is already running; pick another id or wait for it to finish`,
      });
    }
    const urls = managementUrls(id);
    return reply.code(202).header('location', urls.statusQueryGetUri).header('retry-after', '1').send(urls);
  });

  app.get(`${prefix}/instances/:instanceId`, async (req, reply) => {
    if (!guard(req, reply)) return reply;
    const { instanceId } = req.params as { instanceId: string };
    const q = req.query as Record<string, string | undefined>;
    const s = await engine.get(instanceId);
    if (!s) return notFound(reply, instanceId);
    const body = statusPayload(s, {
      showInput: q.showInput !== 'false',
      showHistory: q.showHistory === 'true',
      showHistoryOutput: q.showHistoryOutput === 'true',
    });
    if (s.runtimeStatus === 'Completed') return reply.code(200).send(body);
    if (s.runtimeStatus === 'Failed' || s.runtimeStatus === 'Terminated') return reply.code(400).send(body);
    return reply
      .code(202)
      .header('location', managementUrls(instanceId).statusQueryGetUri)
      .header('retry-after', '1')
      .send(body);
  });

  const listQuery = (q: Record<string, string | undefined>) => {
    const problems: string[] = [];
    const date = (name: string): number | undefined => {
      const v = q[name];
      if (v === undefined) return undefined;
      const t = Date.parse(v);
      if (Number.isNaN(t)) problems.push(`${name} must be an ISO 8601 date-time`);
      return t;
    };
    const statuses = q.runtimeStatus?.split(',').filter(Boolean);
    for (const st of statuses ?? []) {
      if (!runtimeStatuses.includes(st as RuntimeStatus))
        problems.push(`runtimeStatus '${st}' is not one of ${runtimeStatuses.join(', ')}`);
    }
    const top = q.top !== undefined ? Number(q.top) : undefined;
    if (top !== undefined && (!Number.isInteger(top) || top < 1))
      problems.push('top must be a positive whole number');
    return {
      problems,
      from: date('createdTimeFrom'),
      to: date('createdTimeTo'),
      statuses,
      top,
      prefix: q.instanceIdPrefix,
    };
  };
  const filtered = async (f: ReturnType<typeof listQuery>) =>
    (await engine.list()).filter((s) => {
      const created = Date.parse(s.createdTime);
      if (f.from !== undefined && created < f.from) return false;
      if (f.to !== undefined && created > f.to) return false;
      if (f.statuses && f.statuses.length > 0 && !f.statuses.includes(s.runtimeStatus)) return false;
      if (f.prefix && !s.instanceId.startsWith(f.prefix)) return false;
      return true;
    });

  app.get(`${prefix}/instances`, async (req, reply) => {
    if (!guard(req, reply)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const f = listQuery(q);
    if (f.problems.length > 0) return invalidQuery(reply, f.problems);
    const all = await filtered(f);
    const tokenHeader = req.headers['x-ms-continuation-token'];
    const offset =
      typeof tokenHeader === 'string' ? Number(Buffer.from(tokenHeader, 'base64url').toString()) || 0 : 0;
    const page = f.top !== undefined ? all.slice(offset, offset + f.top) : all.slice(offset);
    const next = offset + page.length;
    if (f.top !== undefined && next < all.length) {
      void reply.header('x-ms-continuation-token', Buffer.from(String(next)).toString('base64url'));
    }
    return reply.code(200).send(page.map((s) => statusPayload(s, { showInput: q.showInput === 'true' })));
  });

  app.delete(`${prefix}/instances/:instanceId`, async (req, reply) => {
    if (!guard(req, reply)) return reply;
    const { instanceId } = req.params as { instanceId: string };
    const outcome = await engine.purge(instanceId);
    if (outcome === 'notFound') return notFound(reply, instanceId);
    if (outcome === 'conflict') {
      return sendProblem(reply, {
        status: 409,
        type: 'instance-running',
        title: 'Instance still running',
        detail: `instance '${instanceId}' has not finished; terminate it before purging`,
      });
    }
    return reply.code(200).send({ instancesDeleted: 1 });
  });

  app.delete(`${prefix}/instances`, async (req, reply) => {
    if (!guard(req, reply)) return reply;
    const f = listQuery(req.query as Record<string, string | undefined>);
    if (f.problems.length > 0) return invalidQuery(reply, f.problems);
    let deleted = 0;
    for (const s of await filtered(f)) {
      if (terminalStatuses.has(s.runtimeStatus) && (await engine.purge(s.instanceId)) === 'ok') deleted++;
    }
    return deleted === 0 ? notFound(reply, '(filter)') : reply.code(200).send({ instancesDeleted: deleted });
  });

  app.post(`${prefix}/instances/:instanceId/raiseEvent/:eventName`, async (req, reply) => {
    if (!guard(req, reply)) return reply;
    const { instanceId, eventName } = req.params as { instanceId: string; eventName: string };
    const parsed = parseJsonBody(req);
    if (!parsed.ok) return malformedJson(reply, 'the event data', parsed.message);
    return answer(
      reply,
      instanceId,
      await engine.raiseEvent(instanceId, eventName, parsed.value ?? null),
      `receive event '${eventName}'`,
    );
  });

  for (const [action, run] of [
    ['terminate', (id: string, reason: string) => engine.terminate(id, reason)],
    ['suspend', (id: string, reason: string) => engine.suspend(id, reason)],
    ['resume', (id: string, reason: string) => engine.resumeInstance(id, reason)],
  ] as const) {
    app.post(`${prefix}/instances/:instanceId/${action}`, async (req, reply) => {
      if (!guard(req, reply)) return reply;
      const { instanceId } = req.params as { instanceId: string };
      const reason = (req.query as Record<string, string | undefined>).reason ?? '';
      return answer(reply, instanceId, await run(instanceId, reason), `be ${action}d`);
    });
  }
}
