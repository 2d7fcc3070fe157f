/**
 * Analysis gates: a provider measures one number for a revision over a window; conditions over that
 * number (and the same measurement of blue, the baseline) decide pass, fail or inconclusive.
 */
export type GateProviderKind = 'azureMonitorMetrics' | 'logAnalytics' | 'prometheus' | 'httpJson';

/** What to measure: the provider-specific parts of a gate, as the policy gives them (durations in ms). */
export interface GateQuery {
  provider: GateProviderKind;
  /**
   * azureMonitorMetrics: the metric name (e.g. `Requests`, `ResponseTime`, `RestartCount`, `UsageNanoCores`).
   * logAnalytics: KQL. prometheus: PromQL. httpJson: the URL.
   * `{{revision}}` and `{{app}}` are replaced with the revision and app names, quoted for the query's language.
   */
  query: string;
  /** azureMonitorMetrics: Total | Average | Maximum | Minimum | Count (default Total). */
  aggregation?: 'Total' | 'Average' | 'Maximum' | 'Minimum' | 'Count';
  /**
   * azureMonitorMetrics: OData dimension filter, e.g. `statusCodeCategory eq '5xx'` (the revision filter is added).
   * With `ratioTo`, the result is this filtered value divided by the value under `ratioTo` (`''` = unfiltered):
   * an error rate is `Requests` filtered to 5xx, ratio to all.
   */
  filter?: string;
  ratioTo?: string;
  /** logAnalytics: the workspace id. */
  workspaceId?: string;
  /** prometheus: the server's base URL. */
  address?: string;
  /** httpJson: where the number is in the answer, e.g. `$.errors.rate`. */
  jsonPath?: string;
  /**
   * Where the sample size comes from: logAnalytics a column name, httpJson a JSON path, prometheus a second
   * PromQL query; azureMonitorMetrics uses the unfiltered Requests total. Absent: the sample size is unknown.
   */
  sampleSize?: string;
  /**
   * How long before now the measured window ends, so a gate never judges data that has not arrived yet
   * (Azure Monitor metrics land a minute or two late, Log Analytics rows 20 s to 3 min late). Absent:
   * `defaultLagMs` of the provider.
   */
  lagMs?: number;
}

/**
 * Where a window ends when the gate does not say: 2 minutes before now for Azure Monitor metrics (their
 * latest points read 0 until the data arrives), 3 for Log Analytics (ingestion takes up to 3 minutes);
 * none for Prometheus (evaluated at now, as Argo Rollouts does) and httpJson (the service has no window).
 */
export const defaultLagMs: Record<GateProviderKind, number> = {
  azureMonitorMetrics: 120_000,
  logAnalytics: 180_000,
  prometheus: 0,
  httpJson: 0,
};

/** The lag of a gate's window: its own, or its provider's default. */
export function windowLagMs(query: Pick<GateQuery, 'provider' | 'lagMs'>): number {
  return query.lagMs ?? defaultLagMs[query.provider];
}

/** Which revision to measure, over which window ending now. */
export interface MeasureTarget {
  /** ARM id of the container app (`/subscriptions/.../providers/Microsoft.App/containerApps/name`). */
  resourceId: string;
  appName: string;
  revision: string;
  windowMs: number;
}

/**
 * One measurement. `value` undefined (or NaN, as 0/0 gives) with no `error` means there was no data.
 * An infinity is a value: Prometheus's `histogram_quantile` answers +Inf when requests fall beyond the
 * top bucket, which is very slow, not missing.
 */
export interface Measurement {
  value?: number;
  sampleSize?: number;
  error?: string;
}

/**
 * A measured number as it crosses JSON (activity results, orchestration state, status): JSON has no
 * infinities (`JSON.stringify(Infinity)` is `null`), so they travel as the strings Prometheus and Log
 * Analytics use. NaN is no data and travels as an absent value.
 */
export type MeasuredNumber = number | 'Infinity' | '-Infinity';

/** A number for JSON: infinities as strings, NaN (no data) as undefined. */
export function toMeasuredNumber(v: number | undefined): MeasuredNumber | undefined {
  if (v === undefined || Number.isNaN(v)) return undefined;
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

/** The number a `MeasuredNumber` stands for; `null` (a NaN or infinity that went through JSON raw) is no data. */
export function fromMeasuredNumber(v: MeasuredNumber | null | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return typeof v === 'number' && !Number.isNaN(v) ? v : undefined;
}

/** A measurement safe to return from an activity or keep in orchestration state. */
export interface WireMeasurement {
  value?: MeasuredNumber;
  sampleSize?: number;
  error?: string;
}

/** `m` with its infinities as strings and NaN dropped, so it survives JSON unchanged. */
export function toWireMeasurement(m: Measurement): WireMeasurement {
  const value = toMeasuredNumber(m.value);
  const sampleSize = m.sampleSize !== undefined && Number.isFinite(m.sampleSize) ? m.sampleSize : undefined;
  return {
    ...(value !== undefined ? { value } : {}),
    ...(sampleSize !== undefined ? { sampleSize } : {}),
    ...(m.error !== undefined ? { error: m.error } : {}),
  };
}
