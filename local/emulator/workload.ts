import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImageBehaviour } from './images';

/**
 * The sample workload each simulated revision runs, served over plain HTTP on 127.0.0.1 (the local runtime
 * uses scheme http for revision URLs): `GET /`, `GET /healthz`, `GET /dependencies`.
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
  const answer = (status: number, body: unknown): void => {
    rev.counters.count += 1;
    rev.counters.byStatus[String(status)] = (rev.counters.byStatus[String(status)] ?? 0) + 1;
    rev.counters.totalLatencyMs += performance.now() - started;
    send(res, status, body);
  };
  const phase = rev.phase();
  if (phase === 'stopped') return answer(503, { error: `revision ${rev.revisionName} is not active` });
  if (phase === 'provisioning') return answer(503, { error: `revision ${rev.revisionName} is starting` });
  if (phase === 'failed') return answer(502, { error: 'container exited with code 1' });

  const respond = (): void => {
    const path = new URL(req.url ?? '/', 'http://revision').pathname;
    const b = rev.behaviour;
    if (path === '/healthz') {
      return b.unhealthy ? answer(503, { status: 'unhealthy' }) : answer(200, { status: 'ok' });
    }
    if (b.errors && errorDue(rev, settings.errorShare)) {
      return answer(500, { error: 'internal error (simulated by the image tag)' });
    }
    if (path === '/') {
      return answer(200, {
        app: rev.appName,
        revision: rev.revisionName,
        image: rev.image,
        version: rev.version,
      });
    }
    if (path === '/dependencies') {
      return b.depfail
        ? answer(503, { redis: 'failed', database: 'ok' })
        : answer(200, { redis: 'ok', database: 'ok' });
    }
    return answer(404, { error: `no route for ${path}` });
  };
  if (rev.behaviour.slow && settings.slowLatencyMs > 0) setTimeout(respond, settings.slowLatencyMs);
  else respond();
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
