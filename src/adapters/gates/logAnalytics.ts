import type { TokenCredential } from '@azure/identity';
import {
  LogsQueryClient,
  type LogsQueryResult,
  LogsQueryResultStatus,
  type LogsTable,
} from '@azure/monitor-query-logs';
import { formatDuration } from '../../domain/duration';
import { GreenlightError } from '../../domain/errors';
import { numberFromText } from '../../domain/gates/query';
import { type GateQuery, type Measurement, type MeasureTarget, windowLagMs } from '../../domain/gates/types';
import { type ProviderCall, toProviderError } from './errors';
import type { GateProvider } from '../../domain/ports/gates';
import type { RenderQuery } from './render';
import { sdkClientOptions, type SdkTransportOptions } from './sdk';

export const defaultLogsEndpoint = 'https://api.loganalytics.io/v1';

export interface LogsClientSettings extends SdkTransportOptions {
  /** Default `https://api.loganalytics.io/v1`; an endpoint given without a path gets `/v1`. */
  endpoint?: string;
  credential: TokenCredential;
}

/** The SDK uses a custom endpoint verbatim, API version path included. */
export function logsEndpoint(endpoint: string | undefined): string {
  if (!endpoint) return defaultLogsEndpoint;
  const url = new URL(endpoint);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/v1';
  return url.toString().replace(/\/+$/, '');
}

/** The real `LogsQueryClient`, with per-client trust, bounded retries and a deadline. */
export function createLogsClient(s: LogsClientSettings): LogsQueryClient {
  return new LogsQueryClient(s.credential, { endpoint: logsEndpoint(s.endpoint), ...sdkClientOptions(s) });
}

const numericTypes = new Set(['int', 'long', 'real', 'decimal']);

/**
 * A cell as a number: decimals arrive as strings, NaN and infinities as the strings "NaN", "Infinity",
 * "-Infinity". An infinity is a measurement; NaN (0/0) is no data.
 */
function numberOf(cell: unknown): number | undefined {
  if (typeof cell === 'number') return Number.isNaN(cell) ? undefined : cell;
  return typeof cell === 'string' ? numberFromText(cell) : undefined;
}

function columnIndex(table: LogsTable, name: string): number {
  return table.columnDescriptors.findIndex((c) => c.name?.toLowerCase() === name.toLowerCase());
}

export interface LogAnalyticsProviderOptions {
  /** The client, built on first use. */
  client: () => LogsQueryClient;
  render: RenderQuery;
  /** Bounds the query on the service too (`Prefer: wait=`). */
  timeoutMs: number;
}

/**
 * A KQL query on a Log Analytics workspace over the window (ending the gate's lag before now, default
 * 3 minutes). The value is the first row's `result` column
 * if there is one, else its first numeric column; the sample size is the column `query.sampleSize` names.
 */
export class LogAnalyticsProvider implements GateProvider {
  constructor(private readonly opts: LogAnalyticsProviderOptions) {}

  async measure(query: GateQuery, target: MeasureTarget): Promise<Measurement> {
    const workspaceId = query.workspaceId?.trim();
    if (!workspaceId) {
      throw new GreenlightError(
        'InvalidRequest',
        'a logAnalytics gate needs workspaceId (the workspace ID, a GUID)',
      );
    }
    const kql = this.opts.render(query, { revision: target.revision, app: target.appName });
    const call: ProviderCall = {
      provider: 'logAnalytics',
      service: 'Log Analytics',
      what: `the gate's query on workspace '${workspaceId}'`,
      authHint: "Give Greenlight's identity the 'Log Analytics Reader' role on the workspace",
      notFoundHint: "Check the gate's workspaceId: the workspace ID (a GUID), not its name or resource id",
    };
    let result: LogsQueryResult;
    try {
      result = await this.opts
        .client()
        .queryWorkspace(workspaceId, kql, logsWindow(target.windowMs, windowLagMs(query), new Date()), {
          serverTimeoutInSeconds: Math.max(1, Math.ceil(this.opts.timeoutMs / 1000)),
        });
    } catch (e) {
      throw toProviderError(e, call);
    }
    if (result.status !== LogsQueryResultStatus.Success) {
      // Partial data could hide the errors a gate is looking for: no value rather than a wrong one.
      const partial = result.partialError;
      return { error: `Log Analytics returned a partial result (${partial.code}): ${partial.message}` };
    }
    return readResult(result.tables[0], query);
  }
}

/**
 * The query's time range: the window, ending `lagMs` before now so rows still being ingested are not
 * judged missing. With no lag, the plain duration (ending at the service's now).
 */
export function logsWindow(
  windowMs: number,
  lagMs: number,
  now: Date,
): { duration: string } | { startTime: Date; endTime: Date } {
  if (lagMs <= 0) return { duration: formatDuration(windowMs) };
  const endTime = new Date(now.getTime() - lagMs);
  return { startTime: new Date(endTime.getTime() - windowMs), endTime };
}

/** The gate's number and sample size from the primary table. */
export function readResult(table: LogsTable | undefined, query: GateQuery): Measurement {
  if (!table) return {};
  const columns = table.columnDescriptors.map((c) => `${c.name ?? '?'}:${c.type ?? '?'}`).join(', ');
  let valueAt = columnIndex(table, 'result');
  if (valueAt < 0) valueAt = table.columnDescriptors.findIndex((c) => numericTypes.has(c.type ?? ''));
  if (valueAt < 0) {
    throw new GreenlightError(
      'InvalidRequest',
      `the logAnalytics gate's query returns no numeric column (columns: ${columns}); end it with e.g. | project result = todouble(errors) / total`,
    );
  }
  let sizeAt: number | undefined;
  if (query.sampleSize) {
    sizeAt = columnIndex(table, query.sampleSize);
    if (sizeAt < 0) {
      throw new GreenlightError(
        'InvalidRequest',
        `the logAnalytics gate's sampleSize names column '${query.sampleSize}', which its query does not return (columns: ${columns})`,
      );
    }
  }
  // Several rows (a `by` clause) would leave the gate judging whichever came first.
  if (table.rows.length > 1) {
    throw new GreenlightError(
      'InvalidRequest',
      `the logAnalytics gate's query returns ${table.rows.length} rows; aggregate to one row (summarize without by)`,
    );
  }
  const row = table.rows[0];
  if (!row) return {};
  const value = numberOf(row[valueAt]);
  const sampleSize = sizeAt === undefined ? undefined : numberOf(row[sizeAt]);
  return {
    ...(value !== undefined ? { value } : {}),
    ...(sampleSize !== undefined ? { sampleSize } : {}),
  };
}
