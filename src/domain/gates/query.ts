import { GreenlightError } from '../errors';
import type { GateProviderKind, GateQuery } from './types';

/**
 * Gate queries: placeholder substitution quoted for each provider's language, load-time validation, and
 * the JSON path reader of the httpJson provider. Names are substituted as quoted literals, never
 * spliced in as text, so a name can only ever be a value in the query.
 */

export interface QueryVars {
  revision: string;
  app: string;
}

/** A problem with one field of a gate's query. */
export interface QueryIssue {
  field: keyof GateQuery;
  message: string;
}

/** Container Apps metrics a gate may read (Microsoft.App/containerApps). */
export const metricNames = [
  'Requests',
  'ResponseTime',
  'RestartCount',
  'Replicas',
  'UsageNanoCores',
  'WorkingSetBytes',
  'CpuPercentage',
  'MemoryPercentage',
] as const;

const providerKinds: Record<GateProviderKind, true> = {
  azureMonitorMetrics: true,
  logAnalytics: true,
  prometheus: true,
  httpJson: true,
};

const placeholders = ['revision', 'app'] as const;
const placeholderPattern = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Container Apps app and revision names are letters, digits and dashes; anything else is not a name. */
const namePattern = /^[A-Za-z0-9-]{1,128}$/;

const guidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const escapeBackslashed = (s: string): string =>
  s.replace(
    /[\\"\n\r\t]/g,
    (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c,
  );

/** A KQL string literal. */
export const kqlString = (s: string): string => `"${escapeBackslashed(s)}"`;

/** A PromQL label value (a Go-style string literal). */
export const promqlString = (s: string): string => `"${escapeBackslashed(s)}"`;

/** An OData string literal, as Azure Monitor metric filters take it. */
export const odataString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const quoteFor: Record<GateProviderKind, (s: string) => string> = {
  logAnalytics: kqlString,
  prometheus: promqlString,
  azureMonitorMetrics: odataString,
  httpJson: encodeURIComponent,
};

/**
 * Substitutes `{{revision}}` and `{{app}}` in a text of the provider's language (a KQL or PromQL query,
 * an OData filter, a URL). Throws on a name that is not a Container Apps name, or an unknown placeholder
 * (both refused when the policy loads, so neither is expected here).
 */
export function renderText(provider: GateProviderKind, text: string, vars: QueryVars): string {
  for (const key of placeholders) {
    if (!namePattern.test(vars[key])) {
      throw new GreenlightError(
        'InvalidRequest',
        `${key} must be a Container Apps name (letters, digits and '-'); got '${vars[key]}'`,
        { [key]: vars[key] },
      );
    }
  }
  const quote = quoteFor[provider];
  return text.replace(placeholderPattern, (whole, name: string) => {
    if (name !== 'revision' && name !== 'app') {
      throw new GreenlightError(
        'InvalidRequest',
        `unknown placeholder ${whole}; use {{revision}} or {{app}}`,
      );
    }
    return quote(vars[name]);
  });
}

/** The gate's query (KQL, PromQL, URL or metric name) with the revision and app substituted. */
export function renderQuery(query: GateQuery, vars: QueryVars): string {
  return renderText(query.provider, query.query, vars);
}

/** The gate's query fields out of a plan's gate, whose provider is carried as a plain string. */
export function gateQueryOf(gate: Omit<GateQuery, 'provider'> & { provider: string }): GateQuery {
  if (!Object.hasOwn(providerKinds, gate.provider)) {
    throw new GreenlightError(
      'InvalidPolicy',
      `gate provider '${gate.provider}' is not one of ${Object.keys(providerKinds).join(', ')}`,
    );
  }
  const pick = <K extends keyof GateQuery>(k: K) => (gate[k] !== undefined ? { [k]: gate[k] } : {});
  return {
    provider: gate.provider as GateProviderKind,
    query: gate.query,
    ...pick('aggregation'),
    ...pick('filter'),
    ...pick('ratioTo'),
    ...pick('workspaceId'),
    ...pick('address'),
    ...pick('jsonPath'),
    ...pick('sampleSize'),
    ...pick('lagMs'),
  };
}

/** Which provider each optional field belongs to: a field the provider ignores is a mistake. */
const fieldProviders: Partial<Record<keyof GateQuery, GateProviderKind[]>> = {
  aggregation: ['azureMonitorMetrics'],
  filter: ['azureMonitorMetrics'],
  ratioTo: ['azureMonitorMetrics'],
  workspaceId: ['logAnalytics'],
  address: ['prometheus'],
  jsonPath: ['httpJson'],
  sampleSize: ['logAnalytics', 'prometheus', 'httpJson'],
};

/** The query's problems, each with the field it is in; empty when the query can run. */
export function queryIssues(query: GateQuery): QueryIssue[] {
  const issues: QueryIssue[] = [];
  const add = (field: keyof GateQuery, message: string) => issues.push({ field, message });
  const p = query.provider;

  for (const [field, providers] of Object.entries(fieldProviders) as [
    keyof GateQuery,
    GateProviderKind[],
  ][]) {
    if (query[field] !== undefined && !providers.includes(p)) {
      add(field, `applies only to provider ${providers.map((x) => `'${x}'`).join(', ')}, not '${p}'`);
    }
  }

  // Texts in which placeholders are substituted, and the language each is quoted for.
  const templated: [keyof GateQuery, string | undefined][] = [['query', query.query]];
  if (p === 'azureMonitorMetrics') templated.push(['filter', query.filter], ['ratioTo', query.ratioTo]);
  if (p === 'prometheus') templated.push(['sampleSize', query.sampleSize]);
  for (const [field, text] of templated) {
    if (text === undefined) continue;
    for (const m of text.matchAll(placeholderPattern)) {
      if (m[1] !== 'revision' && m[1] !== 'app') {
        add(field, `unknown placeholder ${m[0]}; use {{revision}} or {{app}}`);
      }
    }
    const quoted = p === 'httpJson' ? undefined : placeholderInString(text, p);
    if (quoted) {
      add(
        field,
        `write ${quoted} without quotes around it: it is replaced with a string literal, quotes included`,
      );
    }
  }

  const mentionsRevision = (text: string | undefined) =>
    [...(text ?? '').matchAll(placeholderPattern)].some((m) => m[1] === 'revision');

  switch (p) {
    case 'logAnalytics':
      if (query.workspaceId === undefined) {
        add(
          'workspaceId',
          'is required for provider logAnalytics: the Log Analytics workspace (customer) id, a GUID',
        );
      } else if (!guidPattern.test(query.workspaceId)) {
        add('workspaceId', `must be the workspace (customer) id, a GUID; got '${query.workspaceId}'`);
      }
      if (!mentionsRevision(query.query)) {
        add(
          'query',
          'must mention {{revision}}: without it the KQL measures every revision alike and cannot tell green from blue, e.g. `| where RevisionName_s == {{revision}}`',
        );
      }
      if (query.sampleSize !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(query.sampleSize)) {
        add('sampleSize', `must name a column of the query's result, e.g. total; got '${query.sampleSize}'`);
      }
      break;
    case 'prometheus':
      if (query.address === undefined) {
        add('address', 'is required for provider prometheus: the server URL, e.g. http://prometheus:9090');
      } else if (!isHttpUrl(query.address)) {
        add('address', `must be an http(s) URL such as http://prometheus:9090; got '${query.address}'`);
      }
      if (!mentionsRevision(query.query)) {
        add(
          'query',
          'must mention {{revision}}: without it the PromQL measures every revision alike and cannot tell green from blue, e.g. `{revision={{revision}}}`',
        );
      }
      if (query.sampleSize !== undefined && !mentionsRevision(query.sampleSize)) {
        add('sampleSize', 'is a PromQL query and must mention {{revision}}, as the query does');
      }
      break;
    case 'httpJson': {
      const sample = query.query.replace(placeholderPattern, 'x');
      if (!isHttpUrl(sample)) {
        add('query', `must be an http(s) URL for provider httpJson; got '${query.query}'`);
      }
      if (query.jsonPath === undefined) {
        add(
          'jsonPath',
          'is required for provider httpJson: where the number is in the answer, e.g. $.errors.rate',
        );
      } else {
        const problem = jsonPathProblem(query.jsonPath);
        if (problem) add('jsonPath', problem);
      }
      if (query.sampleSize !== undefined) {
        const problem = jsonPathProblem(query.sampleSize);
        if (problem) add('sampleSize', problem);
      }
      break;
    }
    case 'azureMonitorMetrics':
      if (!(metricNames as readonly string[]).includes(query.query)) {
        add(
          'query',
          `must be a Container Apps metric, one of ${metricNames.join(', ')}; got '${query.query}'`,
        );
      }
      if (query.ratioTo !== undefined && query.filter === undefined) {
        add(
          'ratioTo',
          "needs filter: the result is the filtered value divided by the value under ratioTo ('' = all)",
        );
      }
      break;
  }
  return issues;
}

/** The query's problems as `field: message` lines. */
export function queryProblems(query: GateQuery): string[] {
  return queryIssues(query).map((i) => `${i.field}: ${i.message}`);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The first placeholder written inside a string literal of the query's language, if any. Quoting it
 * again would make the substituted literal part of a longer string and match nothing.
 */
function placeholderInString(text: string, provider: GateProviderKind): string | undefined {
  const comment = provider === 'logAnalytics' ? '//' : provider === 'prometheus' ? '#' : undefined;
  const backslashEscapes = provider !== 'azureMonitorMetrics';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === undefined) {
      if (comment && text.startsWith(comment, i)) {
        const end = text.indexOf('\n', i);
        if (end < 0) return undefined;
        i = end;
      } else if (ch === '"' || ch === "'" || (ch === '`' && provider === 'prometheus')) {
        quote = ch;
      }
      continue;
    }
    if (backslashEscapes && ch === '\\' && quote !== '`') {
      i++;
    } else if (ch === quote) {
      if (!backslashEscapes && text[i + 1] === quote) i++;
      else quote = undefined;
    } else if (ch === '{' && text[i + 1] === '{') {
      const m = /^\{\{\s*(revision|app)\s*\}\}/.exec(text.slice(i));
      if (m) return `{{${m[1]}}}`;
    }
  }
  return undefined;
}

type PathSegment = string | number;

const jsonPathPattern = /^\$((?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*)$/;
const segmentPattern = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;

function parseJsonPath(path: string): PathSegment[] | undefined {
  const m = jsonPathPattern.exec(path);
  if (!m) return undefined;
  return [...(m[1] ?? '').matchAll(segmentPattern)].map((s) =>
    s[2] !== undefined ? Number(s[2]) : (s[1] ?? s[3] ?? s[4] ?? ''),
  );
}

function jsonPathProblem(path: string): string | undefined {
  if (!path.startsWith('$')) return `must be a JSON path starting with $, e.g. $.errors.rate; got '${path}'`;
  if (!parseJsonPath(path)) {
    return `is not a JSON path Greenlight reads: use $, .name, [index] and ['key'], e.g. $.data[0].rate; got '${path}'`;
  }
  return undefined;
}

/**
 * The number at `path` (`$.a.b[0]['c-d']`) in a parsed JSON answer, or undefined when the path is
 * absent or does not lead to a number. A numeric string counts, as APIs such as Prometheus's send them,
 * infinities included (see `numberFromText`).
 */
export function readJsonPath(value: unknown, path: string): number | undefined {
  const segments = parseJsonPath(path);
  if (!segments) return undefined;
  let at: unknown = value;
  for (const seg of segments) {
    if (typeof seg === 'number') {
      if (!Array.isArray(at) || seg >= at.length) return undefined;
      at = at[seg] as unknown;
    } else {
      if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, seg))
        return undefined;
      at = (at as Record<string, unknown>)[seg];
    }
  }
  if (typeof at === 'number') return Number.isNaN(at) ? undefined : at;
  return typeof at === 'string' ? numberFromText(at) : undefined;
}

const decimalPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const infinityPattern = /^([+-]?)(?:inf|infinity)$/i;

/**
 * A number written as text, as monitoring APIs send them: decimals, and the infinities Prometheus (`+Inf`,
 * `-Inf`) and Log Analytics (`Infinity`, `-Infinity`) write. An infinity is a measurement (a latency
 * quantile beyond the top bucket); `NaN` (0/0, no requests) and anything else is no data: undefined.
 */
export function numberFromText(text: string): number | undefined {
  const t = text.trim();
  const inf = infinityPattern.exec(t);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (!decimalPattern.test(t)) return undefined;
  // A decimal too large for a double is +-Inf in Go and Prometheus too.
  return Number(t);
}
