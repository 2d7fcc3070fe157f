import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageBehaviour } from '../containerapps-emulator/images';
import type { RequestLog } from '../monitor-emulator/requestLog';

/**
 * The sample workload each simulated revision runs, served over plain HTTP on 127.0.0.1 (the local runtime
 * uses scheme http for revision URLs): `GET /` (a page with a `<title>`, or JSON when asked for it),
 * `GET /healthz`, `GET /healthz/dependencies` (also at `/dependencies`), and `GET /stats` (its own
 * counters, not counted). The shipped example policy's smoke checks probe exactly these.
 */
export interface RequestCounters {
  count: number;
  /** Answers by HTTP status code ("200", "503", ...). */
  byStatus: Record<string, number>;
  totalLatencyMs: number;
}

export function newCounters(): RequestCounters {
  return { count: 0, byStatus: {}, totalLatencyMs: 0 };
}

export type RevisionPhase = 'provisioning' | 'ready' | 'failed' | 'stopped';

export interface WorkloadRevision {
  appName: string;
  revisionName: string;
  image: string;
  version: string;
  behaviour: ImageBehaviour;
  phase(): RevisionPhase;
  counters: RequestCounters;
  /** Recent answers with their times, for the monitoring emulators' windows. */
  requests: RequestLog;
  /** Requests seen by the error-share rule (the `err5` / `errors` tags). */
  errorTicks: number;
}

export interface WorkloadSettings {
  /** Added to every answer of a `slow` image. */
  slowLatencyMs: number;
  /** Share (0..1) of answers that are 500 for an `err5` / `errors` image. */
  errorShare: number;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => htmlEscapes[c] ?? c);

/** The home page a browser (or a smoke check with `bodyContains: '<title>'`) gets. */
function homePage(facts: Record<string, string>): string {
  const rows = Object.entries(facts)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(facts.app ?? 'app')} ${escapeHtml(facts.version ?? '')}</title></head><body><h1>${escapeHtml(facts.app ?? 'app')}</h1><dl>${rows}</dl></body></html>`;
}

/** JSON for a client that asks for it (`Accept: application/json`), a page for everyone else. */
function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json');
}

/** Deterministic share: request n fails when the running count of failures due steps up. */
function errorDue(rev: WorkloadRevision, share: number): boolean {
  const n = rev.errorTicks++;
  return Math.floor((n + 1) * share) > Math.floor(n * share);
}

/** Answers one request as the revision's container would. */
export function serveRevision(
  rev: WorkloadRevision,
  settings: WorkloadSettings,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const started = performance.now();
  req.resume();
  const answer = (
    status: number,
    body: unknown,
    by: 'container' | 'platform' = 'container',
    as: 'json' | 'html' = 'json',
  ): void => {
    const latencyMs = performance.now() - started;
    rev.counters.count += 1;
    rev.counters.byStatus[String(status)] = (rev.counters.byStatus[String(status)] ?? 0) + 1;
    rev.counters.totalLatencyMs += latencyMs;
    // Telemetry (metrics, logs) comes from the container: what the platform answers for a revision that
    // is not running never reaches it, as on Container Apps.
    if (by === 'container') rev.requests.record({ at: Date.now(), status, latencyMs });
    if (as === 'html') {
      const text = String(body);
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      return void res.end(text);
    }
    send(res, status, body);
  };
  const phase = rev.phase();
  const url = new URL(req.url ?? '/', 'http://revision');
  // Reading the counters must not change them, so /stats is answered apart from the measured traffic.
  if (url.pathname === '/stats' && phase === 'ready') return send(res, 200, revisionStats(rev, url));
  if (phase === 'stopped') {
    return answer(503, { error: `revision ${rev.revisionName} is not active` }, 'platform');
  }
  if (phase === 'provisioning') {
    return answer(503, { error: `revision ${rev.revisionName} is starting` }, 'platform');
  }
  if (phase === 'failed') return answer(502, { error: 'container exited with code 1' }, 'platform');

  const respond = (): void => {
    const path = url.pathname;
    const b = rev.behaviour;
    if (path === '/healthz') {
      return b.unhealthy ? answer(503, { status: 'unhealthy' }) : answer(200, { status: 'ok' });
    }
    if (b.errors && errorDue(rev, settings.errorShare)) {
      return answer(500, { error: 'internal error (simulated by the image tag)' });
    }
    if (path === '/') {
      const facts = { app: rev.appName, revision: rev.revisionName, image: rev.image, version: rev.version };
      return wantsJson(req) ? answer(200, facts) : answer(200, homePage(facts), 'container', 'html');
    }
    if (path === '/dependencies' || path === '/healthz/dependencies') {
      return b.depfail
        ? answer(503, { redis: 'failed', database: 'ok' })
        : answer(200, { redis: 'ok', database: 'ok' });
    }
    return answer(404, { error: `no route for ${path}` });
  };
  if (rev.behaviour.slow && settings.slowLatencyMs > 0) setTimeout(respond, settings.slowLatencyMs);
  else respond();
}

/**
 * `GET /stats`: the revision's counters since it started, or over the last `windowMs` milliseconds
 * (`/stats?windowMs=60000`). `errors` counts 5xx answers; rates and averages are null without requests.
 */
function revisionStats(rev: WorkloadRevision, url: URL): Record<string, unknown> {
  const windowParam = url.searchParams.get('windowMs');
  const windowMs = windowParam !== null && /^\d+$/.test(windowParam) ? Number(windowParam) : undefined;
  let requests: number;
  let byStatus: Record<string, number>;
  let totalLatencyMs: number;
  if (windowMs === undefined) {
    ({ count: requests, byStatus, totalLatencyMs } = rev.counters);
  } else {
    const now = Date.now();
    const recent = rev.requests.between(now - windowMs, now);
    requests = recent.length;
    byStatus = {};
    totalLatencyMs = 0;
    for (const r of recent) {
      byStatus[String(r.status)] = (byStatus[String(r.status)] ?? 0) + 1;
      totalLatencyMs += r.latencyMs;
    }
  }
  const errors = Object.entries(byStatus)
    .filter(([status]) => Number(status) >= 500)
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    app: rev.appName,
    revision: rev.revisionName,
    windowMs: windowMs ?? null,
    requests,
    byStatus: { ...byStatus },
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    averageLatencyMs: requests > 0 ? totalLatencyMs / requests : null,
  };
}

/** A plain HTTP server on 127.0.0.1 that can stop and start again (on its old port when free). */
export class LocalHttpServer {
  private server: Server | undefined;
  private lastPort: number | undefined;

  constructor(private readonly handler: (req: IncomingMessage, res: ServerResponse) => void) {}

  get port(): number | undefined {
    return this.lastPort;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<number> {
    if (this.server && this.lastPort !== undefined) return this.lastPort;
    const server = createServer({ keepAliveTimeout: 2000 }, this.handler);
    const listen = (port: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const onError = (e: Error): void => reject(e);
        server.once('error', onError);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', onError);
          resolve();
        });
      });
    try {
      await listen(this.lastPort ?? 0);
    } catch (e) {
      // The old port was taken meanwhile: any port will do, the revision's fqdn follows it.
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      await listen(0);
    }
    this.server = server;
    this.lastPort = (server.address() as AddressInfo).port;
    return this.lastPort;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
