import { isoDurationMs } from './duration';
import type { MonitoredApp, MonitoredRevision, MonitorSource } from './source';

/**
 * The Azure Monitor metrics batch API (`POST /subscriptions/{s}/metrics:getBatch`, api-version 2024-02-01)
 * for Microsoft.App/containerApps, answered from the emulator's requests and restarts:
 * `Requests` (dimensions revisionName, statusCodeCategory, statusCode), `ResponseTime` (milliseconds, same
 * dimensions) and `RestartCount` (revisionName).
 */

export class MetricsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const namespace = 'microsoft.app/containerapps';
const apiVersions = ['2023-10-01', '2024-02-01'];
const aggregationNames = ['average', 'count', 'maximum', 'minimum', 'total'] as const;
type AggregationName = (typeof aggregationNames)[number];

interface Sample {
  at: number;
  value: number;
  dims: Record<string, string>;
}

interface MetricDefinition {
  name: string;
  unit: string;
  description: string;
  primary: AggregationName;
  dimensions: string[];
  samples(revision: MonitoredRevision, from: number, to: number): Sample[];
}

const requestDimensions = ['revisionName', 'statusCodeCategory', 'statusCode'];

function requestDims(revision: string, status: number): Record<string, string> {
  return {
    revisionName: revision,
    statusCodeCategory: `${Math.floor(status / 100)}xx`,
    statusCode: String(status),
  };
}

const metrics: MetricDefinition[] = [
  {
    name: 'Requests',
    unit: 'Count',
    description: 'Requests processed',
    primary: 'total',
    dimensions: requestDimensions,
    samples: (rev, from, to) =>
      rev.requests
        .between(from, to)
        .map((r) => ({ at: r.at, value: 1, dims: requestDims(rev.name, r.status) })),
  },
  {
    name: 'ResponseTime',
    unit: 'MilliSeconds',
    description: 'Average response time',
    primary: 'average',
    dimensions: requestDimensions,
    samples: (rev, from, to) =>
      rev.requests
        .between(from, to)
        .map((r) => ({ at: r.at, value: r.latencyMs, dims: requestDims(rev.name, r.status) })),
  },
  {
    name: 'RestartCount',
    unit: 'Count',
    description: 'Restart count of container app replicas',
    primary: 'total',
    dimensions: ['revisionName'],
    samples: (rev, from, to) =>
      rev.restarts.between(from, to).map((at) => ({ at, value: 1, dims: { revisionName: rev.name } })),
  },
];

/** One `dimension eq 'a' or dimension eq 'b'` group of a filter; `*` means every value, split. */
interface DimensionCondition {
  dimension: string;
  values: string[];
  negate: boolean;
}

/**
 * The filter grammar metrics accept: conditions joined by `and`, each `name eq 'v'` / `name ne 'v'`, with
 * `or` only between values of the same dimension. Every dimension named splits the answer by its values.
 */
export function parseMetricFilter(filter: string, allowed: string[]): DimensionCondition[] {
  const conditions = new Map<string, DimensionCondition>();
  for (const group of filter.split(/\s+and\s+/i)) {
    for (const clause of group.split(/\s+or\s+/i)) {
      const m = /^\s*\(?\s*([A-Za-z][A-Za-z0-9_]*)\s+(eq|ne)\s+'((?:[^']|'')*)'\s*\)?\s*$/i.exec(clause);
      if (!m) {
        throw new MetricsHttpError(
          400,
          'BadRequest',
          `Invalid $filter '${filter}': expected conditions like revisionName eq 'web--v2' joined by 'and' (or 'or' within one dimension); could not read '${clause.trim()}'`,
        );
      }
      const dimension = allowed.find((d) => d.toLowerCase() === m[1]!.toLowerCase());
      if (!dimension) {
        throw new MetricsHttpError(
          400,
          'BadRequest',
          `Invalid $filter: dimension '${m[1]}' does not exist for this metric; valid dimensions: ${allowed.join(', ')}`,
        );
      }
      const negate = m[2]!.toLowerCase() === 'ne';
      const value = m[3]!.replace(/''/g, "'");
      const existing = conditions.get(dimension);
      if (existing && existing.negate !== negate) {
        throw new MetricsHttpError(400, 'BadRequest', `Invalid $filter: mixes eq and ne for '${dimension}'`);
      }
      if (existing) existing.values.push(value);
      else conditions.set(dimension, { dimension, values: [value], negate });
    }
  }
  return [...conditions.values()];
}

function passes(sample: Sample, conditions: DimensionCondition[]): boolean {
  return conditions.every((c) => {
    if (c.values.includes('*')) return true;
    const v = (sample.dims[c.dimension] ?? '').toLowerCase();
    const hit = c.values.some((x) => x.toLowerCase() === v);
    return c.negate ? !hit : hit;
  });
}

function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const t = Date.parse(text);
  if (!Number.isFinite(t)) {
    throw new MetricsHttpError(400, 'BadRequest', `${name} '${text}' is not an ISO 8601 date-time`);
  }
  return t;
}

function dataPoint(at: number, values: number[], aggregations: AggregationName[]): Record<string, unknown> {
  const point: Record<string, unknown> = { timeStamp: new Date(at).toISOString() };
  const n = values.length;
  const total = values.reduce((s, v) => s + v, 0);
  for (const a of aggregations) {
    if (a === 'total') point.total = total;
    else if (a === 'count') point.count = n;
    else if (n > 0 && a === 'average') point.average = total / n;
    else if (n > 0 && a === 'minimum') point.minimum = Math.min(...values);
    else if (n > 0 && a === 'maximum') point.maximum = Math.max(...values);
  }
  return point;
}

export interface MetricsBatchRequest {
  subscriptionId: string;
  query: Record<string, string | undefined>;
  body: unknown;
  now: number;
}

/** Answers one metrics:getBatch request, or throws MetricsHttpError. */
export function metricsBatch(source: MonitorSource, req: MetricsBatchRequest): Record<string, unknown> {
  const q = req.query;
  const apiVersion = q['api-version'];
  if (!apiVersion) {
    throw new MetricsHttpError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (!apiVersions.includes(apiVersion)) {
    throw new MetricsHttpError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid. The supported versions are '${apiVersions.join("','")}'.`,
    );
  }
  if ((q.metricnamespace ?? '').toLowerCase() !== namespace) {
    throw new MetricsHttpError(
      400,
      'BadRequest',
      `metricnamespace '${q.metricnamespace ?? ''}' is not served here: the emulator has metrics for Microsoft.App/containerApps only`,
    );
  }
  const names = (q.metricnames ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) throw new MetricsHttpError(400, 'BadRequest', 'metricnames is required');
  const definitions = names.map((n) => {
    const d = metrics.find((m) => m.name.toLowerCase() === n.toLowerCase());
    if (!d) {
      throw new MetricsHttpError(
        400,
        'BadRequest',
        `Failed to find metric configuration for provider: Microsoft.App, resource Type: containerApps, metric: ${n}, Valid metrics (emulated): ${metrics.map((m) => m.name).join(', ')}`,
      );
    }
    return d;
  });
  if (q.rollupby) throw new MetricsHttpError(400, 'BadRequest', 'rollupby is not supported by the emulator');
  const aggregations = q.aggregation
    ? q.aggregation.split(',').map((a) => {
        const name = a.trim().toLowerCase() as AggregationName;
        if (!aggregationNames.includes(name)) {
          throw new MetricsHttpError(
            400,
            'BadRequest',
            `Invalid aggregation '${a}'; valid: ${aggregationNames.join(', ')}`,
          );
        }
        return name;
      })
    : undefined;
  const end = parseTime(q.endtime, 'endtime') ?? req.now;
  const start = parseTime(q.starttime, 'starttime') ?? end - 3_600_000;
  if (start >= end) throw new MetricsHttpError(400, 'BadRequest', 'starttime must be before endtime');
  const interval = q.interval ?? 'PT1M';
  const step = interval.toUpperCase() === 'FULL' ? end - start : isoDurationMs(interval);
  if (!step || step <= 0) {
    throw new MetricsHttpError(
      400,
      'BadRequest',
      `interval '${interval}' is not an ISO 8601 duration (e.g. PT1M) or FULL`,
    );
  }
  if ((end - start) / step > 10_000) {
    throw new MetricsHttpError(
      400,
      'BadRequest',
      `interval ${interval} gives too many data points for the time range`,
    );
  }
  const top = q.top !== undefined ? Number(q.top) : 10;

  const body = req.body as { resourceids?: unknown } | undefined;
  const ids = body?.resourceids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((i): i is string => typeof i === 'string')) {
    throw new MetricsHttpError(
      400,
      'BadRequest',
      'The request body must be {"resourceids": ["/subscriptions/..."]}',
    );
  }
  const apps = source.apps();
  const values = ids.map((id) => {
    const app = findApp(apps, id, req.subscriptionId);
    return {
      starttime: new Date(start).toISOString(),
      endtime: new Date(end).toISOString(),
      interval: interval.toUpperCase() === 'FULL' ? 'FULL' : interval,
      namespace,
      resourceregion: app.location.toLowerCase().replace(/\s+/g, ''),
      resourceid: id,
      value: definitions.map((d) =>
        metricJson(d, app, id, { start, end, step, top, filter: q.filter, aggregations }),
      ),
    };
  });
  return { values };
}

function findApp(apps: MonitoredApp[], id: string, subscriptionId: string): MonitoredApp {
  const app = apps.find((a) => a.id.toLowerCase() === id.toLowerCase().replace(/\/+$/, ''));
  if (!app) {
    throw new MetricsHttpError(
      404,
      'ResourceNotFound',
      `The resource '${id}' was not found (the emulator knows: ${apps.map((a) => a.id).join(', ') || 'no apps'})`,
    );
  }
  if (app.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) {
    throw new MetricsHttpError(
      400,
      'BadRequest',
      `resource '${id}' is not in subscription '${subscriptionId}' of the request path`,
    );
  }
  return app;
}

function metricJson(
  d: MetricDefinition,
  app: MonitoredApp,
  resourceId: string,
  opts: {
    start: number;
    end: number;
    step: number;
    top: number;
    filter?: string;
    aggregations?: AggregationName[];
  },
): Record<string, unknown> {
  const conditions = opts.filter ? parseMetricFilter(opts.filter, d.dimensions) : [];
  const split = conditions.map((c) => c.dimension);
  const aggregations = opts.aggregations ?? [d.primary];
  const samples = app.revisions
    .flatMap((r) => d.samples(r, opts.start, opts.end))
    .filter((s) => passes(s, conditions));
  const series = new Map<string, { dims: string[]; samples: Sample[] }>();
  // Without dimensions there is always one series (zeros included); with them, one per value seen.
  if (split.length === 0) series.set('', { dims: [], samples: [] });
  for (const s of samples) {
    const dims = split.map((name) => s.dims[name] ?? '');
    const key = JSON.stringify(dims);
    let entry = series.get(split.length === 0 ? '' : key);
    if (!entry) series.set(key, (entry = { dims, samples: [] }));
    entry.samples.push(s);
  }
  const timeseries = [...series.values()].slice(0, opts.top).map((entry) => {
    const data: Record<string, unknown>[] = [];
    for (let t = opts.start; t < opts.end; t += opts.step) {
      const upTo = Math.min(t + opts.step, opts.end);
      const inBucket = entry.samples.filter((s) => s.at > t && s.at <= upTo).map((s) => s.value);
      data.push(dataPoint(t, inBucket, aggregations));
    }
    return {
      metadatavalues: split.map((name, i) => ({
        name: { value: name, localizedValue: name },
        value: entry.dims[i],
      })),
      data,
    };
  });
  return {
    id: `${resourceId}/providers/Microsoft.Insights/metrics/${d.name}`,
    type: 'Microsoft.Insights/metrics',
    name: { value: d.name, localizedValue: d.name },
    displayDescription: d.description,
    errorCode: 'Success',
    unit: d.unit,
    timeseries,
  };
}
