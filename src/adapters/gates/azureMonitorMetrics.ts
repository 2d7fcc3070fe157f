import type { TokenCredential } from '@azure/identity';
import { type Metric, MetricsClient } from '@azure/monitor-query-metrics';
import { GreenlightError } from '../../domain/errors';
import { odataString } from '../../domain/gates/query';
import { type GateQuery, type Measurement, type MeasureTarget, windowLagMs } from '../../domain/gates/types';
import { type ProviderCall, toProviderError } from './errors';
import type { GateProvider } from '../../domain/ports/gates';
import { type QueryVars, type RenderQuery, renderField } from './render';
import { sdkClientOptions, type SdkTransportOptions } from './sdk';

const namespace = 'Microsoft.App/containerApps';

type Aggregation = NonNullable<GateQuery['aggregation']>;

/** What to ask for per aggregation: an average over the window is weighted by each point's count. */
const wireAggregation: Record<Aggregation, string> = {
  Total: 'total',
  Average: 'average,count',
  Maximum: 'maximum',
  Minimum: 'minimum',
  Count: 'count',
};

/** Metrics that count requests: their sample size is the revision's request total. */
const requestMetrics = new Set(['requests', 'responsetime']);

export interface MetricsClientSettings extends SdkTransportOptions {
  /** The regional metrics endpoint, `https://<region>.metrics.monitor.azure.com` (the app's region). */
  endpoint: string;
  credential: TokenCredential;
}

/** The real `MetricsClient` (metrics:getBatch), with per-client trust, bounded retries and a deadline. */
export function createMetricsClient(s: MetricsClientSettings): MetricsClient {
  return new MetricsClient(s.endpoint.replace(/\/+$/, ''), s.credential, sdkClientOptions(s));
}

/** ACA samples metrics per minute; per-hour points keep long windows small. */
function grainFor(windowMs: number): string {
  return windowMs > 24 * 3_600_000 ? 'PT1H' : 'PT1M';
}

/** One number over the window from every series and point the service returned. */
export function aggregateMetric(metric: Metric, aggregation: Aggregation): number | undefined {
  const points = metric.timeseries.flatMap((s) => s.data ?? []);
  const present = (pick: (p: (typeof points)[number]) => number | undefined): number[] =>
    points.map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const sum = (xs: number[]): number | undefined =>
    xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0);
  switch (aggregation) {
    case 'Total':
      return sum(present((p) => p.total));
    case 'Count':
      return sum(present((p) => p.count));
    case 'Maximum': {
      const xs = present((p) => p.maximum);
      return xs.length === 0 ? undefined : Math.max(...xs);
    }
    case 'Minimum': {
      const xs = present((p) => p.minimum);
      return xs.length === 0 ? undefined : Math.min(...xs);
    }
    case 'Average': {
      const weighted = points.filter((p) => typeof p.average === 'number' && typeof p.count === 'number');
      const count = weighted.reduce((s, p) => s + p.count!, 0);
      if (count > 0) return weighted.reduce((s, p) => s + p.average! * p.count!, 0) / count;
      const xs = present((p) => p.average);
      return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
    }
  }
}

export interface AzureMonitorMetricsProviderOptions {
  /** The client, built on first use (it throws when no endpoint is configured). */
  client: () => MetricsClient;
  render: RenderQuery;
}

/**
 * A Container Apps platform metric of one revision over the window (ending the gate's lag before now,
 * default 2 minutes): `query` names the metric, the filter
 * `revisionName eq '<revision>'` is always added to the gate's own `filter`, and with `ratioTo` the value is
 * the filtered aggregate divided by the aggregate under `ratioTo` (an error rate: 5xx Requests over all).
 */
export class AzureMonitorMetricsProvider implements GateProvider {
  constructor(private readonly opts: AzureMonitorMetricsProviderOptions) {}

  async measure(query: GateQuery, target: MeasureTarget): Promise<Measurement> {
    const metric = query.query.trim();
    if (metric === '') {
      throw new GreenlightError(
        'InvalidRequest',
        'an azureMonitorMetrics gate needs the metric name as its query',
      );
    }
    const vars: QueryVars = { revision: target.revision, app: target.appName };
    const aggregation = query.aggregation ?? 'Total';
    // The latest points read 0 until their data arrives: the window ends the gate's lag before now.
    const end = new Date(Date.now() - windowLagMs(query));
    const start = new Date(end.getTime() - target.windowMs);
    const revisionFilter = `revisionName eq ${odataString(target.revision)}`;
    const withRevision = (extra: string | undefined): string => {
      const text = extra?.trim() ? renderField(this.opts.render, query, extra, vars).trim() : '';
      return text ? `${revisionFilter} and ${text}` : revisionFilter;
    };
    // The same question asked twice in one measurement (e.g. all Requests as denominator and sample size)
    // goes to the service once.
    const asked = new Map<string, Promise<number | undefined>>();
    const ask = (name: string, filter: string, agg: Aggregation): Promise<number | undefined> => {
      const key = `${name.toLowerCase()}|${filter}|${agg}`;
      let p = asked.get(key);
      if (!p) asked.set(key, (p = this.aggregate(name, filter, agg, { start, end, target })));
      return p;
    };
    const [filtered, denominator, requests] = await Promise.all([
      ask(metric, withRevision(query.filter), aggregation),
      query.ratioTo !== undefined ? ask(metric, withRevision(query.ratioTo), aggregation) : undefined,
      requestMetrics.has(metric.toLowerCase()) ? ask('Requests', revisionFilter, 'Total') : undefined,
    ]);
    let value = filtered;
    if (query.ratioTo !== undefined) {
      // No matching series under the filter means none of them: 0 of a known, non-zero total.
      value = denominator === undefined || denominator === 0 ? undefined : (filtered ?? 0) / denominator;
    }
    const sampleSize = requestMetrics.has(metric.toLowerCase()) ? (requests ?? 0) : undefined;
    return {
      ...(value !== undefined ? { value } : {}),
      ...(sampleSize !== undefined ? { sampleSize } : {}),
    };
  }

  private async aggregate(
    metric: string,
    filter: string,
    aggregation: Aggregation,
    at: { start: Date; end: Date; target: MeasureTarget },
  ): Promise<number | undefined> {
    const call: ProviderCall = {
      provider: 'azureMonitorMetrics',
      service: 'Azure Monitor metrics',
      what: `metric '${metric}' of ${at.target.resourceId} (filter ${filter})`,
      authHint:
        "Give Greenlight's identity the 'Monitoring Reader' role on the container app or its resource group",
      notFoundHint:
        "Check the app's resource id, and that the metrics endpoint is the one of the app's region (https://<region>.metrics.monitor.azure.com)",
    };
    let metrics: Metric[];
    try {
      const results = await this.opts.client().queryResources([at.target.resourceId], [metric], namespace, {
        startTime: at.start,
        endTime: at.end,
        interval: grainFor(at.target.windowMs),
        aggregation: wireAggregation[aggregation],
        filter,
        top: 100,
      });
      metrics = results[0]?.metrics ?? [];
    } catch (e) {
      throw toProviderError(e, call);
    }
    const found = metrics[0];
    if (!found) return undefined;
    if (found.errorCode && found.errorCode !== 'Success') {
      throw new GreenlightError(
        'InvalidRequest',
        `${call.service} could not answer ${call.what} (${found.errorCode}): ${found.errorMessage ?? 'no message'}`,
        { provider: call.provider, serviceCode: found.errorCode, serviceMessage: found.errorMessage },
      );
    }
    return aggregateMetric(found, aggregation);
  }
}
