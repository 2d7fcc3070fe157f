import type { TokenCredential } from '@azure/identity';
import { GreenlightError } from '../../domain/errors';
import { numberFromText } from '../../domain/gates/query';
import { type GateQuery, type Measurement, type MeasureTarget, windowLagMs } from '../../domain/gates/types';
import { type ProviderCall, providerError, snippet, toProviderError } from './errors';
import { httpCall } from './http';
import type { GateProvider } from '../../domain/ports/gates';
import { type QueryVars, type RenderQuery, renderField } from './render';

/** Scope of Azure Monitor managed Prometheus query endpoints. */
const azurePrometheusScope = 'https://prometheus.monitor.azure.com/.default';

/**
 * `auto`: a bearer token for Azure Monitor workspaces (`*.prometheus.monitor.azure.com`), nothing for other
 * servers; `azure`: a token for any server; `none`: never.
 */
export type PrometheusAuth = 'auto' | 'azure' | 'none';

export interface PrometheusProviderOptions {
  render: RenderQuery;
  timeoutMs: number;
  ca?: string;
  auth: PrometheusAuth;
  credential?: TokenCredential;
}

interface PromEnvelope {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/**
 * A sample's value: `+Inf` / `-Inf` are measurements (histogram_quantile beyond the top bucket: very slow,
 * not missing); `NaN` (0/0, an error rate without requests) is no data.
 */
function sampleValue(text: unknown): number | undefined {
  return typeof text === 'string' ? numberFromText(text) : undefined;
}

/**
 * An instant PromQL query on a Prometheus-compatible server (`/api/v1/query`) at now minus the gate's lag;
 * the value is the first sample's. The range the query aggregates over is in the query itself (`[5m]`).
 */
export class PrometheusProvider implements GateProvider {
  constructor(private readonly opts: PrometheusProviderOptions) {}

  async measure(query: GateQuery, target: MeasureTarget): Promise<Measurement> {
    const address = query.address?.trim();
    if (!address)
      throw new GreenlightError('InvalidRequest', "a prometheus gate needs address (the server's base URL)");
    const vars: QueryVars = { revision: target.revision, app: target.appName };
    // Evaluated at now minus the gate's lag (none by default): data not yet ingested is never judged.
    const at = (Date.now() - windowLagMs(query)) / 1000;
    const [value, sampleSize] = await Promise.all([
      this.instant(address, this.opts.render(query, vars), at, 'query'),
      query.sampleSize
        ? this.instant(
            address,
            renderField(this.opts.render, query, query.sampleSize, vars),
            at,
            'sampleSize query',
          )
        : undefined,
    ]);
    return {
      ...(value !== undefined ? { value } : {}),
      ...(sampleSize !== undefined ? { sampleSize } : {}),
    };
  }

  private useToken(address: string): boolean {
    if (this.opts.auth === 'none') return false;
    if (this.opts.auth === 'azure') return true;
    return /\.prometheus\.monitor\.azure\.(com|us|cn)$/i.test(new URL(address).hostname);
  }

  private async instant(
    address: string,
    promql: string,
    at: number,
    what: string,
  ): Promise<number | undefined> {
    const base = address.replace(/\/+$/, '');
    const call: ProviderCall = {
      provider: 'prometheus',
      service: `Prometheus at ${base}`,
      what: `the gate's ${what}`,
      authHint: this.useToken(base)
        ? "Give Greenlight's identity the 'Monitoring Data Reader' role on the Azure Monitor workspace"
        : 'The server wants credentials; Greenlight sends an Entra ID token only to Azure Monitor workspaces',
      notFoundHint: "Check the gate's address: the base URL that serves /api/v1/query",
    };
    try {
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (this.useToken(base)) {
        const token = await this.opts.credential?.getToken(azurePrometheusScope);
        if (!token) throw providerError(call, 401, 'NoToken', 'no token for the Azure Monitor workspace');
        headers.authorization = `Bearer ${token.token}`;
      }
      const answer = await httpCall(`${base}/api/v1/query`, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ query: promql, time: String(at) }).toString(),
        ca: this.opts.ca,
        timeoutMs: this.opts.timeoutMs,
      });
      let envelope: PromEnvelope | undefined;
      try {
        envelope = JSON.parse(answer.text) as PromEnvelope;
      } catch {
        envelope = undefined;
      }
      if (answer.status < 200 || answer.status > 299 || envelope?.status !== 'success') {
        throw providerError(
          call,
          answer.status,
          envelope?.errorType,
          envelope?.error ?? snippet(answer.text),
        );
      }
      return this.firstValue(envelope, call);
    } catch (e) {
      throw toProviderError(e, call);
    }
  }

  private firstValue(envelope: PromEnvelope, call: ProviderCall): number | undefined {
    const type = envelope.data?.resultType;
    const result = envelope.data?.result;
    if (type === 'scalar' && Array.isArray(result)) return sampleValue(result[1]);
    if (type === 'vector' && Array.isArray(result)) {
      // Several series (per code, per pod) would leave the gate judging whichever came first.
      if (result.length > 1) {
        throw new GreenlightError(
          'InvalidRequest',
          `${call.service}: ${call.what} returns ${result.length} series; aggregate to one, e.g. sum(...)`,
          { provider: call.provider },
        );
      }
      const first = result[0] as { value?: unknown } | undefined;
      return Array.isArray(first?.value) ? sampleValue(first.value[1]) : undefined;
    }
    throw new GreenlightError(
      'InvalidRequest',
      `${call.service}: ${call.what} returns a ${type ?? 'missing'} result; a gate needs one number (an instant vector or scalar, e.g. sum(rate(...[5m])))`,
      { provider: call.provider },
    );
  }
}
