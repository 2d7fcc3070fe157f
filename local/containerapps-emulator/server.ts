import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { checkApiVersion } from './apiVersion';
import { ArmHttpError } from './armError';
import { type FaultInjector, type FaultSpec, faultSpecProblem } from './faults';
import { parseSeedApps } from './seed';
import type { ContainerAppsStore, EmulatorAppRef } from './store';
import { type ArmThrottle, principalOf, throttlingOptionsProblems } from './throttle';

/** ARM requests kept for inspection (tests and benchmarks count them); older ones are dropped. */
const maxRequestLog = 10_000;
export interface ArmRequestLogEntry {
  seq: number;
  method: string;
  /** URL path without the query. */
  path: string;
  apiVersion?: string;
  /** HTTP status answered; 0 when the connection was dropped on purpose. */
  status: number;
  /** The injected fault that answered, if any. */
  fault?: FaultSpec['kind'];
  at: string;
}

export interface ServerDeps {
  key: string;
  cert: string;
  ca: string;
  store: ContainerAppsStore;
  faults: FaultInjector;
  requestLog: ArmRequestLogEntry[];
  /** Forget logged requests (the admin endpoint calls this). */
  resetRequestLog: () => void;
  /** ARM's subscription token buckets; none: nothing is throttled but injected faults. */
  throttle?: ArmThrottle;
  /** `Retry-After` (seconds) on accepted writes and on InProgress operation polls, as ARM asks pollers to wait. */
  operationRetryAfterSeconds?: number;
}

type ArmHandler = (ctx: ArmContext) => Promise<void>;

interface ArmContext {
  req: FastifyRequest;
  reply: FastifyReply;
  params: string[];
  apiVersion: string;
  body: unknown;
  baseUrl: string;
}

const seg = '([^/]+)';
const appsBase = `^/subscriptions/${seg}/resourceGroups/${seg}/providers/Microsoft\\.App/containerApps`;
const opsBase = `^/subscriptions/${seg}/providers/Microsoft\\.App/locations/${seg}`;

function sendArmError(reply: FastifyReply, e: ArmHttpError): void {
  void reply.code(e.status).headers(e.headers).send(e.body());
}

/** The HTTPS server: the ARM subset under /subscriptions, and the emulator's own admin API under /_emulator. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const { store, faults, requestLog } = deps;
  const app = Fastify({
    https: { key: deps.key, cert: deps.cert },
    forceCloseConnections: true,
    logger: false,
    bodyLimit: 4 * 1024 * 1024,
  });
  const entries = new WeakMap<FastifyRequest, ArmRequestLogEntry>();
  let seq = 0;

  const ref = (p: string[]): EmulatorAppRef => ({
    subscriptionId: p[0] ?? '',
    resourceGroup: p[1] ?? '',
    name: p[2] ?? '',
  });

  const pollAfter = (): Record<string, string> =>
    deps.operationRetryAfterSeconds !== undefined
      ? { 'Retry-After': String(deps.operationRetryAfterSeconds) }
      : {};

  const operationUrl = (ctx: ArmContext, path: string): string =>
    `${ctx.baseUrl}${path}?api-version=${encodeURIComponent(ctx.apiVersion)}`;

  const routes: { pattern: RegExp; methods: Record<string, ArmHandler> }[] = [
    {
      pattern: new RegExp(`${appsBase}/?$`, 'i'),
      methods: {
        GET: async ({ reply, params }) => {
          const apps = store.list(params[0] ?? '', params[1] ?? '');
          void reply.send({ value: apps.map((a) => store.appJson(a)) });
        },
      },
    },
    {
      pattern: new RegExp(`${appsBase}/${seg}$`, 'i'),
      methods: {
        GET: async ({ reply, params }) => void reply.send(store.appJson(store.require(ref(params)))),
        PUT: async (ctx) => {
          const { app: a, created, op } = await store.put(ref(ctx.params), ctx.body);
          void ctx.reply
            .code(created ? 201 : 200)
            .header('Azure-AsyncOperation', operationUrl(ctx, store.operationPaths(op).status))
            .send(store.appJson(a));
        },
        PATCH: async (ctx) => {
          const { op } = await store.patch(ref(ctx.params), ctx.body);
          const paths = store.operationPaths(op);
          void ctx.reply
            .code(202)
            .header('Azure-AsyncOperation', operationUrl(ctx, paths.status))
            .header('Location', operationUrl(ctx, paths.result))
            .headers(pollAfter())
            .send();
        },
        DELETE: async ({ reply, params }) => {
          const deleted = await store.delete(ref(params));
          void reply.code(deleted ? 200 : 204).send();
        },
      },
    },
    {
      pattern: new RegExp(`${appsBase}/${seg}/revisions/?$`, 'i'),
      methods: {
        GET: async ({ reply, params }) => {
          const a = store.require(ref(params));
          void reply.send({ value: a.revisions.map((r) => store.revisionJson(a, r)) });
        },
      },
    },
    {
      pattern: new RegExp(`${appsBase}/${seg}/revisions/${seg}$`, 'i'),
      methods: {
        GET: async ({ reply, params }) => {
          const a = store.require(ref(params));
          void reply.send(store.revisionJson(a, store.requireRevision(a, params[3] ?? '')));
        },
      },
    },
    {
      pattern: new RegExp(`${appsBase}/${seg}/revisions/${seg}/(activate|deactivate|restart)$`, 'i'),
      methods: {
        POST: async ({ reply, params }) => {
          const action = (params[4] ?? '').toLowerCase();
          const revision = params[3] ?? '';
          if (action === 'activate') await store.activate(ref(params), revision);
          else if (action === 'deactivate') await store.deactivate(ref(params), revision);
          else await store.restart(ref(params), revision);
          void reply.code(200).send();
        },
      },
    },
    {
      pattern: new RegExp(`${opsBase}/containerappOperationStatuses/${seg}$`, 'i'),
      methods: {
        GET: async ({ reply, params }) => {
          const op = store.operation(params[2] ?? '');
          if (!op) throw new ArmHttpError(404, 'ResourceNotFound', `Operation '${params[2]}' was not found.`);
          const status = store.pollOperation(op);
          void reply.headers(status.status === 'InProgress' ? pollAfter() : {}).send(status);
        },
      },
    },
    {
      pattern: new RegExp(`${opsBase}/containerappOperationResults/${seg}$`, 'i'),
      methods: {
        GET: async (ctx) => {
          const op = store.operation(ctx.params[2] ?? '');
          if (!op)
            throw new ArmHttpError(404, 'ResourceNotFound', `Operation '${ctx.params[2]}' was not found.`);
          if (!store.operationDone(op)) {
            void ctx.reply
              .code(202)
              .header('Location', operationUrl(ctx, store.operationPaths(op).result))
              .headers(pollAfter())
              .send();
            return;
          }
          if (op.error) throw new ArmHttpError(400, op.error.code, op.error.message);
          const a = store.appOfOperation(op);
          if (!a) return void ctx.reply.code(204).send();
          void ctx.reply.send(store.appJson(a));
        },
      },
    },
  ];

  const armHandler = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const url = new URL(req.url, 'https://emulator');
    const apiVersionParam = url.searchParams.get('api-version') ?? undefined;
    const entry: ArmRequestLogEntry = {
      seq: ++seq,
      method: req.method,
      path: url.pathname,
      ...(apiVersionParam !== undefined ? { apiVersion: apiVersionParam } : {}),
      status: 0,
      at: new Date().toISOString(),
    };
    requestLog.push(entry);
    // Bounded: an `npm start` session left running for days must not grow without end.
    if (requestLog.length > maxRequestLog) requestLog.splice(0, requestLog.length - maxRequestLog);
    entries.set(req, entry);
    try {
      if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '')) {
        throw new ArmHttpError(
          401,
          'AuthenticationFailed',
          "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
        );
      }
      if (deps.throttle) {
        // ARM throttles before the resource provider sees the request: even a bad api-version takes a token.
        const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(url.pathname)?.[1] ?? '';
        const decision = deps.throttle.take(
          subscriptionId,
          principalOf(req.headers.authorization),
          req.method,
        );
        void reply.headers(decision.headers);
        if (decision.refusal)
          throw new ArmHttpError(429, decision.refusal.code, decision.refusal.message, decision.headers);
      }
      checkApiVersion(apiVersionParam);
      const apiVersion = apiVersionParam ?? '';

      const fault = faults.takeRequestFault(req.method, url.pathname);
      if (fault) entry.fault = fault.kind;
      if (fault?.kind === 'dropConnection') {
        reply.hijack();
        req.raw.socket.destroy();
        return;
      }
      if (fault?.kind === 'throttle') {
        const headers: Record<string, string> = { 'Retry-After': String(fault.retryAfterSeconds ?? 1) };
        if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
        throw new ArmHttpError(
          429,
          'TooManyRequests',
          'The request is being throttled as the limit has been reached for operation type - Write_ObservationCount. Retry after the interval in Retry-After.',
          headers,
        );
      }
      if (fault?.kind === 'serverError') {
        throw new ArmHttpError(
          fault.status ?? 500,
          fault.code ?? 'InternalServerError',
          fault.message ?? 'Encountered internal server error. Please try again. (injected fault)',
        );
      }

      const route = routes.find((r) => r.pattern.test(url.pathname));
      const params = route ? (route.pattern.exec(url.pathname)?.slice(1) ?? []).map(decodeURIComponent) : [];
      if (!route) {
        throw new ArmHttpError(
          404,
          'InvalidResourceType',
          `The resource type could not be found for path '${url.pathname}' (the emulator serves Microsoft.App/containerApps and their revisions).`,
        );
      }
      const handler = route.methods[req.method];
      if (!handler) {
        throw new ArmHttpError(
          405,
          'HttpMethodNotAllowed',
          `The HTTP method '${req.method}' is not supported for '${url.pathname}'.`,
        );
      }
      let body: unknown;
      if (typeof req.body === 'string' && req.body.trim() !== '') {
        try {
          body = JSON.parse(req.body);
        } catch (e) {
          throw new ArmHttpError(
            400,
            'InvalidRequestContent',
            `The request content was invalid and could not be deserialized: ${(e as Error).message}`,
          );
        }
      }
      const host = req.headers.host ?? req.hostname;
      await handler({ req, reply, params, apiVersion, body, baseUrl: `https://${host}` });
    } catch (e) {
      if (e instanceof ArmHttpError) return sendArmError(reply, e);
      sendArmError(
        reply,
        new ArmHttpError(500, 'InternalServerError', `Emulator error: ${(e as Error).message}`),
      );
    }
  };

  app.addHook('onResponse', async (req, reply) => {
    const entry = entries.get(req);
    if (entry) entry.status = reply.statusCode;
  });

  // ARM routes read the body raw: auth, api-version and faults are checked before the body, as ARM does.
  void app.register(async (arm) => {
    arm.removeAllContentTypeParsers();
    arm.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    arm.route({
      method: ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'],
      url: '/subscriptions/*',
      handler: armHandler,
    });
  });

  app.get('/_emulator/state', async () => ({
    now: new Date().toISOString(),
    apps: store.all().map((a) => store.view(a)),
  }));
  app.get('/_emulator/requests', async () => ({ requests: requestLog }));
  app.delete('/_emulator/requests', async (_req, reply) => {
    deps.resetRequestLog();
    return reply.code(204).send();
  });
  app.get('/_emulator/throttling', async () =>
    deps.throttle ? { enabled: true, ...deps.throttle.stats() } : { enabled: false },
  );
  app.put('/_emulator/throttling', async (req, reply) => {
    if (!deps.throttle)
      return reply
        .code(409)
        .send({ error: { code: 'ThrottlingOff', message: 'this emulator was started without throttling' } });
    const problems = throttlingOptionsProblems(req.body);
    if (problems.length > 0)
      return reply.code(400).send({ error: { code: 'InvalidThrottling', message: problems.join('; ') } });
    deps.throttle.configure(req.body as Parameters<ArmThrottle['configure']>[0]);
    return reply.send({ enabled: true, ...deps.throttle.stats() });
  });
  app.get('/_emulator/faults', async () => ({ faults: faults.list() }));
  app.post('/_emulator/faults', async (req, reply) => {
    const specs = Array.isArray(req.body) ? (req.body as unknown[]) : [req.body];
    for (const [i, spec] of specs.entries()) {
      const problem = faultSpecProblem(spec);
      if (problem)
        return reply
          .code(400)
          .send({ error: { code: 'InvalidFault', message: `fault #${i + 1}: ${problem}` } });
    }
    return reply.code(201).send({ faults: specs.map((s) => faults.add(s as FaultSpec)) });
  });
  app.delete('/_emulator/faults', async (_req, reply) => {
    faults.clear();
    return reply.code(204).send();
  });
  app.post('/_emulator/apps', async (req, reply) => {
    let seeds;
    try {
      seeds = parseSeedApps(req.body, 'POST /_emulator/apps');
    } catch (e) {
      return reply.code(400).send({ error: { code: 'InvalidSeed', message: (e as Error).message } });
    }
    try {
      const created = [];
      for (const seed of seeds) created.push(store.view(await store.seed(seed)));
      return reply.code(201).send({ apps: created });
    } catch (e) {
      if (e instanceof ArmHttpError) return sendArmError(reply, e);
      throw e;
    }
  });
  app.get('/_emulator/ca', async (_req, reply) => reply.type('application/x-pem-file').send(deps.ca));

  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send({ error: { code: 'NotFound', message: `No route for ${req.method} ${req.url}` } });
  });
  return app;
}
