import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { LogsHttpError, logsQuery } from './logs';
import { MetricsHttpError, metricsBatch } from './metrics';
import { prometheusQuery } from './prometheus';
import { ingested, type IngestionDelays, type MonitorSource } from './source';

export interface MonitorServerDeps {
  key: string;
  cert: string;
  source: MonitorSource;
  workspaceIds: string[];
  /** Per API, how late a request becomes visible (see `ingested`). */
  ingestionDelayMs?: IngestionDelays;
}

const batchPath = /^\/subscriptions\/([^/]+)\/metrics:getBatch$/i;

function hasBearer(req: FastifyRequest): boolean {
  return /^Bearer\s+\S+/i.test(req.headers.authorization ?? '');
}

function stringParams(source: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (source && typeof source === 'object') {
    for (const [k, v] of Object.entries(source)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** One HTTPS server for the three monitoring APIs: metrics batch, Log Analytics query, Prometheus query. */
export function buildMonitorServer(deps: MonitorServerDeps): FastifyInstance {
  const app = Fastify({
    https: { key: deps.key, cert: deps.cert },
    forceCloseConnections: true,
    logger: false,
  });
  const delays = deps.ingestionDelayMs ?? {};
  const metricsSource = ingested(deps.source, delays.metrics ?? 0);
  const logsSource = ingested(deps.source, delays.logs ?? 0);
  const prometheusSource = ingested(deps.source, delays.prometheus ?? 0);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.post('/subscriptions/*', async (req, reply) => {
    const path = new URL(req.url, 'https://emulator').pathname;
    const m = batchPath.exec(path);
    if (!m) {
      return reply.code(404).send({
        error: {
          code: 'NotFound',
          message: `No metrics API at ${path}; use /subscriptions/{id}/metrics:getBatch`,
        },
      });
    }
    if (!hasBearer(req)) {
      return reply.code(401).send({
        error: {
          code: 'AuthenticationFailed',
          message: "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
        },
      });
    }
    try {
      return metricsBatch(metricsSource, {
        subscriptionId: decodeURIComponent(m[1]!),
        query: stringParams(req.query),
        body: req.body,
        now: Date.now(),
      });
    } catch (e) {
      if (e instanceof MetricsHttpError)
        return reply.code(e.status).send({ error: { code: e.code, message: e.message } });
      throw e;
    }
  });

  const logs = async (
    req: FastifyRequest<{ Params: { workspaceId: string } }>,
    reply: FastifyReply,
  ): Promise<unknown> => {
    if (!hasBearer(req)) {
      return reply.code(401).send({
        error: { code: 'AuthorizationRequiredError', message: 'Valid authentication was not provided' },
      });
    }
    const body = req.method === 'GET' ? stringParams(req.query) : req.body;
    try {
      return logsQuery(logsSource, deps.workspaceIds, {
        workspaceId: req.params.workspaceId,
        body,
        now: Date.now(),
      });
    } catch (e) {
      if (e instanceof LogsHttpError) return reply.code(e.status).send(e.body);
      throw e;
    }
  };
  app.post('/v1/workspaces/:workspaceId/query', logs);
  app.get('/v1/workspaces/:workspaceId/query', logs);

  app.route({
    method: ['GET', 'POST'],
    url: '/api/v1/query',
    handler: async (req, reply) => {
      const params = { ...stringParams(req.query), ...(req.method === 'POST' ? stringParams(req.body) : {}) };
      const answer = prometheusQuery(prometheusSource, params, Date.now());
      return reply.code(answer.status).send(answer.body);
    },
  });

  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send({ error: { code: 'NotFound', message: `No route for ${req.method} ${req.url}` } });
  });
  return app;
}
