export interface LoadOptions {
  /** Endpoints to load, e.g. `http://127.0.0.1:<port>/` of a revision or of the app's ingress. */
  urls: string[];
  /** Requests per second to each URL. */
  rps: number;
  /** How long to send; default until `requests` have been sent to each URL. */
  durationMs?: number;
  /** Stop after this many requests to each URL. */
  requests?: number;
  /** Abandon requests that take longer; default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LoadReport {
  /** Requests sent to each URL. */
  sent: Record<string, number>;
  /** Answers by HTTP status, all URLs together. */
  byStatus: Record<string, number>;
  /** Requests without an answer (connection refused, timed out). */
  failed: number;
}

/**
 * Sends steady traffic to revision endpoints at a fixed rate, without waiting for answers before sending the
 * next request (a slow revision does not slow the load down), then waits for the answers.
 */
export async function generateLoad(opts: LoadOptions): Promise<LoadReport> {
  if (!(opts.rps > 0)) throw new Error(`rps must be a positive number; got ${opts.rps}`);
  if (opts.durationMs === undefined && opts.requests === undefined) {
    throw new Error('generateLoad needs durationMs or requests, or it would never stop');
  }
  const report: LoadReport = {
    sent: Object.fromEntries(opts.urls.map((u) => [u, 0])),
    byStatus: {},
    failed: 0,
  };
  const pending: Promise<void>[] = [];
  const intervalMs = 1000 / opts.rps;
  const started = performance.now();
  const hit = async (url: string): Promise<void> => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      await res.arrayBuffer();
      report.byStatus[String(res.status)] = (report.byStatus[String(res.status)] ?? 0) + 1;
    } catch {
      report.failed += 1;
    }
  };
  for (let tick = 0; ; tick++) {
    if (opts.signal?.aborted) break;
    if (opts.requests !== undefined && tick >= opts.requests) break;
    const due = started + tick * intervalMs;
    if (opts.durationMs !== undefined && due - started >= opts.durationMs) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const url of opts.urls) {
      report.sent[url] = (report.sent[url] ?? 0) + 1;
      pending.push(hit(url));
    }
  }
  await Promise.all(pending);
  return report;
}
