import type { AuditEntry } from '../domain/audit/entry';
import type { RolloutView } from '../services/rolloutView';

/** Where the API is and the function key its routes take. */
export interface Target {
  url: string;
  key?: string;
  /** Where the target came from, for error messages ("--url", "GREENLIGHT_URL", ".greenlight/local.json"). */
  source: string;
}

/** The API answered with an error: its RFC 9457 problem, or what it sent instead. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly type?: string,
  ) {
    super(`${title}: ${detail}`);
  }
}

/** The API could not be reached at all (refused, DNS, TLS, timeout). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof Error && e.name === 'ApiError';
}

export interface RolloutList {
  rollouts: RolloutView[];
  count: number;
}

export interface StartReply {
  id: string;
  greenlightStatusUri?: string;
  admission: { kind: string; rolloutId: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The what-if plan as the API serves it (see WhatIfPlan); the CLI prints parts of it. */
export interface DryRunReply {
  policy: string;
  revisionName: string;
  blue?: string;
  admission: { verdict: string; until?: string; reason: string; rule: string };
  changeControl: {
    windows: { layer: string; text: string }[];
    freezes: { layer: string; name: string; start: string; end: string; reason: string }[];
    stops: { reason: string; by: string }[];
  };
  findings: { kind: string; setting: string; outcome: string; message: string; fix: string }[];
  refused: boolean;
  refusedBecause: string[];
  steps: {
    kind: string;
    phase: string;
    write?: { method: string; path: string; why: string };
    what?: string;
    gates?: string[];
    gate?: { verdict: string; reason: string };
  }[];
  writes: { method: string; path: string; body?: unknown; why: string }[];
}

export interface ControlReply {
  id: string;
  action: string;
  accepted: boolean;
  by?: string;
  statusUri?: string;
}

/** A thin client of Greenlight's HTTP API (`/api/...`): every non-2xx answer becomes an `ApiError`. */
export class GreenlightClient {
  constructor(
    private readonly target: Target,
    private readonly requestTimeoutMs = 30_000,
  ) {}

  listRollouts(q: { app?: string; status?: string }): Promise<RolloutList> {
    return this.request<RolloutList>('GET', '/api/rollouts', { query: q });
  }

  getRollout(id: string): Promise<RolloutView> {
    return this.request<RolloutView>('GET', `/api/rollouts/${encodeURIComponent(id)}`);
  }

  startRollout(body: {
    app: string;
    image: string;
    digest?: string;
    override?: { reason: string };
  }): Promise<StartReply> {
    return this.request<StartReply>('POST', '/api/rollouts', { body });
  }

  /** POST /api/rollouts?dryRun=true: the what-if plan; nothing is written anywhere. */
  dryRun(body: {
    app: string;
    image: string;
    digest?: string;
    override?: { reason: string };
  }): Promise<DryRunReply> {
    return this.request<DryRunReply>('POST', '/api/rollouts', { body, query: { dryRun: 'true' } });
  }

  /** GET /api/audit: one page of the audit trail, newest first, with the cursor of the next. */
  audit(q: {
    app?: string;
    since?: string;
    rollout?: string;
    limit?: string;
    cursor?: string;
  }): Promise<{ entries: AuditEntry[]; count: number; next?: string }> {
    return this.request('GET', '/api/audit', { query: q });
  }

  /** POST /api/rollouts/{id}/{action}: the control actions share one route and body. */
  control(id: string, action: string, reason?: string): Promise<ControlReply> {
    return this.request<ControlReply>(
      'POST',
      `/api/rollouts/${encodeURIComponent(id)}/${encodeURIComponent(action)}`,
      { body: reason ? { reason } : {} },
    );
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    opts: { query?: Record<string, string | undefined>; body?: unknown } = {},
  ): Promise<T> {
    // Relative to the base, so a base URL with a path (behind a gateway) keeps it.
    const url = new URL(path.replace(/^\//, ''), `${this.target.url.replace(/\/+$/, '')}/`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.target.key) headers['x-functions-key'] = this.target.key;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
      throw new UnreachableError(
        `cannot reach Greenlight at ${this.target.url} (${why}); check the URL (from ${this.target.source})${
          this.target.source.includes('local.json') ? ' and that `npm start` is running' : ''
        }`,
      );
    }
    const text = await res.text();
    if (!res.ok) throw errorOf(res, text, this.target);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(
        res.status,
        'Unexpected answer',
        `${method} ${url.pathname} answered non-JSON: ${snippet(text)}`,
      );
    }
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
}

/** The problem+json `title` and `detail` when the API sent them; otherwise the status and what came back. */
function errorOf(res: Response, text: string, target: Target): ApiError {
  let body: { title?: unknown; detail?: unknown; type?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const title = typeof body?.title === 'string' ? body.title : `HTTP ${res.status} ${res.statusText}`.trim();
  let detail = typeof body?.detail === 'string' ? body.detail : snippet(text);
  if (res.status === 401 && !target.key) {
    detail += '; no function key was given: pass --key, set GREENLIGHT_KEY, or use --local';
  }
  return new ApiError(res.status, title, detail, typeof body?.type === 'string' ? body.type : undefined);
}
