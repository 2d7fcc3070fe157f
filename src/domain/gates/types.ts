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
}

/** Which revision to measure, over which window ending now. */
export interface MeasureTarget {
  /** ARM id of the container app (`/subscriptions/.../providers/Microsoft.App/containerApps/name`). */
  resourceId: string;
  appName: string;
  revision: string;
  windowMs: number;
}

/** One measurement. `value` undefined with no `error` means there was no data (inconclusive). */
export interface Measurement {
  value?: number;
  sampleSize?: number;
  error?: string;
}
