import { errorCode } from '../../src/domain/errors';
import {
  gateQueryOf,
  kqlString,
  numberFromText,
  odataString,
  promqlString,
  queryIssues,
  queryProblems,
  readJsonPath,
  renderQuery,
  renderText,
} from '../../src/domain/gates/query';
import { defaultLagMs, windowLagMs, type GateQuery } from '../../src/domain/gates/types';
import { logsWindow } from '../../src/adapters/gates/logAnalytics';

const vars = { revision: 'web--gl-v2-1a2b3c4d', app: 'web' };
const workspaceId = '11111111-2222-3333-4444-555555555555';

const kql: GateQuery = {
  provider: 'logAnalytics',
  workspaceId,
  query:
    "ContainerAppConsoleLogs_CL | where RevisionName_s == {{revision}} and ContainerAppName_s == {{ app }} | summarize result = countif(Log_s has 'ERROR') * 1.0 / count()",
};
const promql: GateQuery = {
  provider: 'prometheus',
  address: 'http://prometheus:9090',
  query:
    'sum(rate(http_requests_total{revision={{revision}},code=~"5.."}[2m])) / sum(rate(http_requests_total{revision={{revision}}}[2m]))',
};
const http: GateQuery = {
  provider: 'httpJson',
  query: 'https://stats.contoso.com/apps/{{app}}/revisions/{{revision}}?window=5m',
  jsonPath: '$.errors.rate',
};
const metrics: GateQuery = {
  provider: 'azureMonitorMetrics',
  query: 'Requests',
  filter: "statusCodeCategory eq '5xx'",
  ratioTo: '',
};

describe('rendering a gate query for one revision', () => {
  it('quotes names as KQL string literals', () => {
    expect(renderQuery(kql, vars)).toBe(
      'ContainerAppConsoleLogs_CL | where RevisionName_s == "web--gl-v2-1a2b3c4d" and ContainerAppName_s == "web" | summarize result = countif(Log_s has \'ERROR\') * 1.0 / count()',
    );
  });

  it('quotes names as PromQL label values', () => {
    expect(renderQuery(promql, vars)).toBe(
      'sum(rate(http_requests_total{revision="web--gl-v2-1a2b3c4d",code=~"5.."}[2m])) / sum(rate(http_requests_total{revision="web--gl-v2-1a2b3c4d"}[2m]))',
    );
  });

  it('encodes names into a URL', () => {
    expect(renderQuery(http, vars)).toBe(
      'https://stats.contoso.com/apps/web/revisions/web--gl-v2-1a2b3c4d?window=5m',
    );
  });

  it('quotes names as OData literals in a metric filter', () => {
    expect(renderText('azureMonitorMetrics', 'revisionName eq {{revision}}', vars)).toBe(
      "revisionName eq 'web--gl-v2-1a2b3c4d'",
    );
  });

  it.each([
    ['a KQL injection', 'x" or 1 == 1 | project secret //'],
    ['a PromQL injection', 'x"} or up{job="other'],
    ['an OData injection', "x' or RevisionName ne 'y"],
    ['a URL injection', '../../admin?x=1#'],
    ['a new line', 'x\n| take 100'],
    ['an empty name', ''],
  ])('refuses %s in a name before it reaches any query', (_, revision) => {
    let thrown: unknown;
    try {
      renderQuery(kql, { revision, app: 'web' });
    } catch (e) {
      thrown = e;
    }
    expect(errorCode(thrown)).toBe('InvalidRequest');
    expect(String(thrown)).toContain("revision must be a Container Apps name (letters, digits and '-')");
  });

  it('refuses an unknown placeholder, as loading the policy does', () => {
    expect(() => renderText('logAnalytics', 'T | where x == {{args.rev}}', vars)).toThrow(
      'unknown placeholder {{args.rev}}; use {{revision}} or {{app}}',
    );
  });

  // The quoting itself, for any value: what each language reads back is the value, never more syntax.
  it.each([
    ['KQL', kqlString, 'x" or 1 == 1 //', '"x\\" or 1 == 1 //"'],
    ['KQL', kqlString, 'x\\" or true', '"x\\\\\\" or true"'],
    ['KQL', kqlString, 'x\n| take 1', '"x\\n| take 1"'],
    ['PromQL', promqlString, 'x"} or up{job="y', '"x\\"} or up{job=\\"y"'],
    ['PromQL', promqlString, 'x\\', '"x\\\\"'],
    ['OData', odataString, "x' or Name ne 'y", "'x'' or Name ne ''y'"],
    ['URL', encodeURIComponent, '../a?b=c#d&e', '..%2Fa%3Fb%3Dc%23d%26e'],
  ])('%s quoting holds %p as one value', (_, quote, value, quoted) => {
    expect(quote(value)).toBe(quoted);
  });

  it('reads a KQL literal back as the same value', () => {
    const nasty = 'a"b\\c\nd';
    const literal = kqlString(nasty);
    expect(JSON.parse(literal)).toBe(nasty);
  });
});

describe('checking a gate query when the policy loads', () => {
  it('accepts well-formed queries of every provider', () => {
    for (const q of [kql, promql, http, metrics]) expect(queryProblems(q)).toEqual([]);
    expect(
      queryProblems({ provider: 'azureMonitorMetrics', query: 'RestartCount', aggregation: 'Maximum' }),
    ).toEqual([]);
    expect(queryProblems({ ...kql, sampleSize: 'total' })).toEqual([]);
    expect(queryProblems({ ...http, sampleSize: "$.requests['total-count']" })).toEqual([]);
  });

  it('logAnalytics needs a workspace and a per-revision KQL', () => {
    expect(
      queryIssues({ provider: 'logAnalytics', query: 'AppRequests | summarize result = count()' }),
    ).toEqual([
      {
        field: 'workspaceId',
        message: 'is required for provider logAnalytics: the Log Analytics workspace (customer) id, a GUID',
      },
      {
        field: 'query',
        message:
          'must mention {{revision}}: without it the KQL measures every revision alike and cannot tell green from blue, e.g. `| where RevisionName_s == {{revision}}`',
      },
    ]);
    expect(queryProblems({ ...kql, workspaceId: 'my-workspace' })).toEqual([
      "workspaceId: must be the workspace (customer) id, a GUID; got 'my-workspace'",
    ]);
    expect(queryProblems({ ...kql, sampleSize: 'count()' })).toEqual([
      "sampleSize: must name a column of the query's result, e.g. total; got 'count()'",
    ]);
  });

  it.each([
    ['single-quoted', "T | where RevisionName_s == '{{revision}}'"],
    ['double-quoted', 'T | where RevisionName_s == "{{revision}}"'],
    ['inside a longer string', 'T | where RevisionName_s == "web--{{revision}}"'],
  ])('refuses a %s placeholder, which would be quoted twice', (_, query) => {
    expect(queryProblems({ ...kql, query })).toEqual([
      'query: write {{revision}} without quotes around it: it is replaced with a string literal, quotes included',
    ]);
  });

  it('tells quotes in strings and comments from quotes around a placeholder', () => {
    const fine = [
      "T // it's green\n| where RevisionName_s == {{revision}} and Log_s has 'it\\'s'",
      'T | where Log_s has "a \\"quoted\\" word" and RevisionName_s == {{revision}}',
    ];
    for (const query of fine) expect(queryProblems({ ...kql, query })).toEqual([]);
    expect(
      queryProblems({ ...metrics, filter: "statusCodeCategory eq '5''xx' and revisionName eq {{revision}}" }),
    ).toEqual([]);
    expect(queryProblems({ ...metrics, filter: "revisionName eq 'x''{{revision}}'" })).toEqual([
      'filter: write {{revision}} without quotes around it: it is replaced with a string literal, quotes included',
    ]);
  });

  it('refuses unknown placeholders, naming them', () => {
    expect(
      queryProblems({ ...promql, query: 'up{service="{{args.service-name}}", revision={{revision}}}' }),
    ).toEqual(['query: unknown placeholder {{args.service-name}}; use {{revision}} or {{app}}']);
  });

  it('prometheus needs an http(s) address and a per-revision PromQL', () => {
    expect(queryProblems({ provider: 'prometheus', query: 'sum(rate(http_requests_total[2m]))' })).toEqual([
      'address: is required for provider prometheus: the server URL, e.g. http://prometheus:9090',
      'query: must mention {{revision}}: without it the PromQL measures every revision alike and cannot tell green from blue, e.g. `{revision={{revision}}}`',
    ]);
    expect(queryProblems({ ...promql, address: 'prometheus:9090' })).toEqual([
      "address: must be an http(s) URL such as http://prometheus:9090; got 'prometheus:9090'",
    ]);
    expect(queryProblems({ ...promql, sampleSize: 'sum(increase(http_requests_total[5m]))' })).toEqual([
      'sampleSize: is a PromQL query and must mention {{revision}}, as the query does',
    ]);
  });

  it('httpJson needs an http(s) URL and a JSON path', () => {
    expect(queryProblems({ provider: 'httpJson', query: 'file:///etc/passwd' })).toEqual([
      "query: must be an http(s) URL for provider httpJson; got 'file:///etc/passwd'",
      'jsonPath: is required for provider httpJson: where the number is in the answer, e.g. $.errors.rate',
    ]);
    expect(queryProblems({ ...http, jsonPath: 'errors.rate' })).toEqual([
      "jsonPath: must be a JSON path starting with $, e.g. $.errors.rate; got 'errors.rate'",
    ]);
    expect(queryProblems({ ...http, jsonPath: '$..rate' })).toEqual([
      "jsonPath: is not a JSON path Greenlight reads: use $, .name, [index] and ['key'], e.g. $.data[0].rate; got '$..rate'",
    ]);
  });

  it('azureMonitorMetrics needs a known metric, and ratioTo only with a filter', () => {
    expect(queryProblems({ provider: 'azureMonitorMetrics', query: 'ErrorRate' })).toEqual([
      "query: must be a Container Apps metric, one of Requests, ResponseTime, RestartCount, Replicas, UsageNanoCores, WorkingSetBytes, CpuPercentage, MemoryPercentage; got 'ErrorRate'",
    ]);
    expect(queryProblems({ provider: 'azureMonitorMetrics', query: 'Requests', ratioTo: '' })).toEqual([
      "ratioTo: needs filter: the result is the filtered value divided by the value under ratioTo ('' = all)",
    ]);
  });

  it('refuses a field the provider does not read', () => {
    expect(queryProblems({ ...kql, address: 'http://prometheus:9090', jsonPath: '$.x' })).toEqual([
      "address: applies only to provider 'prometheus', not 'logAnalytics'",
      "jsonPath: applies only to provider 'httpJson', not 'logAnalytics'",
    ]);
    expect(queryProblems({ ...metrics, sampleSize: 'total' })).toEqual([
      "sampleSize: applies only to provider 'logAnalytics', 'prometheus', 'httpJson', not 'azureMonitorMetrics'",
    ]);
  });
});

describe('reading a number from a JSON answer', () => {
  const answer = {
    errors: { rate: 0.012, count: '42' },
    data: [{ value: [1700000000, '0.5'] }, { value: [1700000060, 'NaN'] }],
    'odd key': { 'a-b': 3 },
    text: 'high',
    flag: true,
  };

  it.each([
    ['$.errors.rate', 0.012],
    ['$.errors.count', 42],
    ['$.data[0].value[1]', 0.5],
    ["$['odd key']['a-b']", 3],
    ['$["odd key"].a-b', 3],
    ['$.data[1].value[1]', undefined],
    ['$.data[2].value', undefined],
    ['$.errors', undefined],
    ['$.text', undefined],
    ['$.flag', undefined],
    ['$.missing.deeper', undefined],
    ['$.errors[0]', undefined],
    ['$.data.length', undefined],
    ['$.__proto__', undefined],
    ['$.errors.rate.toFixed', undefined],
    ['errors.rate', undefined],
  ])('%s reads %p', (path, value) => expect(readJsonPath(answer, path)).toBe(value));

  it('reads a bare number at the root', () => {
    expect(readJsonPath(7, '$')).toBe(7);
    expect(readJsonPath(null, '$.a')).toBeUndefined();
  });
});

describe('numbers written as text, as monitoring APIs send them', () => {
  it.each<[string, number | undefined]>([
    ['0.5', 0.5],
    [' -1e3 ', -1000],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['Inf', Infinity],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['1e999', Infinity],
    ['NaN', undefined],
    ['', undefined],
    ['0x10', undefined],
    ['12ms', undefined],
  ])('%p is %p', (text, value) => expect(numberFromText(text)).toBe(value));

  it('reads an infinity at a JSON path: a p99 beyond the top bucket is a measurement', () => {
    expect(readJsonPath({ p99: '+Inf' }, '$.p99')).toBe(Infinity);
    expect(readJsonPath({ p99: 'NaN' }, '$.p99')).toBeUndefined();
  });
});

describe("a plan's gate as a query", () => {
  it('picks the query fields and checks the provider', () => {
    expect(
      gateQueryOf({
        provider: 'logAnalytics',
        query: 'q',
        workspaceId,
        filter: undefined,
        jsonPath: undefined,
      }),
    ).toEqual({ provider: 'logAnalytics', query: 'q', workspaceId });
    expect(gateQueryOf({ provider: 'prometheus', query: 'q', lagMs: 0 })).toEqual({
      provider: 'prometheus',
      query: 'q',
      lagMs: 0,
    });
    expect(() => gateQueryOf({ provider: 'datadog', query: 'q' })).toThrow(
      /gate provider 'datadog' is not one of/,
    );
  });
});

describe('where a gate window ends', () => {
  it('ends 2 minutes before now for metrics, 3 for logs, at now for Prometheus and httpJson, unless the gate says', () => {
    expect(defaultLagMs).toEqual({
      azureMonitorMetrics: 120_000,
      logAnalytics: 180_000,
      prometheus: 0,
      httpJson: 0,
    });
    expect(windowLagMs({ provider: 'logAnalytics' })).toBe(180_000);
    expect(windowLagMs({ provider: 'logAnalytics', lagMs: 0 })).toBe(0);
    expect(windowLagMs({ provider: 'prometheus', lagMs: 60_000 })).toBe(60_000);
  });

  it('asks Log Analytics for an interval ending at the lag, or a plain duration without one', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(logsWindow(600_000, 180_000, now)).toEqual({
      startTime: new Date('2026-01-01T11:47:00Z'),
      endTime: new Date('2026-01-01T11:57:00Z'),
    });
    expect(logsWindow(600_000, 0, now)).toEqual({ duration: 'PT10M' });
  });
});
