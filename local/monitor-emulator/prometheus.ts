import type { RequestRecord } from './requestLog';
import {
  type CounterReader,
  type CounterSeries,
  evaluatePromql,
  formatSampleValue,
  matches,
  PromqlError,
} from './promql';
import type { MonitorSource } from './source';

/**
 * The Prometheus HTTP API's instant query (`/api/v1/query`) over counters derived from the emulator's
 * requests, labelled `app`, `revision` and `code` (the HTTP status):
 * `http_requests_total`, `http_request_duration_seconds_sum` and `http_request_duration_seconds_count`.
 */
export const counters: Record<string, (r: RequestRecord) => number> = {
  http_requests_total: () => 1,
  http_request_duration_seconds_sum: (r) => r.latencyMs / 1000,
  http_request_duration_seconds_count: () => 1,
};

export function counterReader(source: MonitorSource): CounterReader {
  return (metric, matchers, from, to) => {
    const increment = counters[metric];
    if (!increment) return [];
    const series = new Map<string, CounterSeries>();
    for (const app of source.apps()) {
      for (const rev of app.revisions) {
        for (const r of rev.requests.between(Number.NEGATIVE_INFINITY, to)) {
          const labels = { app: app.name, revision: rev.name, code: String(r.status) };
          if (!matches({ __name__: metric, ...labels }, matchers)) continue;
          const key = `${app.id}|${rev.name}|${r.status}`;
          let entry = series.get(key);
          if (!entry) series.set(key, (entry = { labels, increase: 0 }));
          if (r.at > from) entry.increase += increment(r);
        }
      }
    }
    return [...series.values()];
  };
}

export interface PromResponse {
  status: number;
  body: Record<string, unknown>;
}

function badData(message: string): PromResponse {
  return { status: 400, body: { status: 'error', errorType: 'bad_data', error: message } };
}

/** Answers `/api/v1/query` with Prometheus's JSON envelope, errors included. */
export function prometheusQuery(
  source: MonitorSource,
  params: { query?: string; time?: string },
  now: number,
): PromResponse {
  if (params.query === undefined) return badData('invalid parameter "query": query must not be empty');
  let at = now;
  if (params.time !== undefined && params.time !== '') {
    const seconds = Number(params.time);
    const parsed = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(params.time);
    if (!Number.isFinite(parsed)) {
      return badData(`invalid parameter "time": cannot parse "${params.time}" to a valid timestamp`);
    }
    at = parsed;
  }
  try {
    const value = evaluatePromql(params.query, at, counterReader(source));
    const t = at / 1000;
    const data =
      value.kind === 'scalar'
        ? { resultType: 'scalar', result: [t, formatSampleValue(value.value)] }
        : {
            resultType: 'vector',
            result: value.samples.map((s) => ({ metric: s.labels, value: [t, formatSampleValue(s.value)] })),
          };
    return { status: 200, body: { status: 'success', data } };
  } catch (e) {
    if (e instanceof PromqlError) return badData(`invalid parameter "query": ${e.message}`);
    throw e;
  }
}
