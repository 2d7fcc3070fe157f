import { type RestError, isRestError } from '@azure/core-rest-pipeline';
import {
  LogsQueryClient,
  LogsQueryResultStatus,
  type LogsQuerySuccessfulResult,
} from '@azure/monitor-query-logs';
import { MetricsClient } from '@azure/monitor-query-metrics';
import { generateLoad } from '../../local/containerapps-emulator';
import { makeCertificate } from '../../local/certificate';
import { startMonitorEmulator } from '../../local/monitor-emulator';
import { EventTimes, RequestLog } from '../../local/monitor-emulator/requestLog';
import { StaticTokenCredential } from '../../src/adapters/credentials';
import {
  emulatorRequest,
  type EmulatorFixture,
  startEmulatorWithApp,
  testToken,
  waitForRevisionToSettle,
} from '../support/emulator';

// The monitoring emulators against the real Azure Monitor clients, over HTTPS with the emulator's CA.

const credential = new StaticTokenCredential(testToken);
const namespace = 'Microsoft.App/containerApps';

let fx: EmulatorFixture;
let blue: { name: string; url: string };
let green: { name: string; url: string };
let resourceId: string;

/** An app whose blue revision (v1) is healthy and whose green one (v2-err5) answers 500 to a quarter. */
async function startBlueGreen(): Promise<void> {
  fx = await startEmulatorWithApp({ emulator: { errorShare: 0.25 } });
  const { revisionName } = await fx.adapter.deployGreen(fx.app, {
    image: 'greenlight.azurecr.io/web:v2-err5',
    revisionSuffix: 'v2',
  });
  await waitForRevisionToSettle(fx, revisionName);
  const view = fx.emulator.appView(fx.app)!;
  const url = (name: string) => `http://${view.revisions.find((r) => r.name === name)!.fqdn!}/`;
  blue = { name: 'web--v1', url: url('web--v1') };
  green = { name: revisionName, url: url(revisionName) };
  resourceId = view.id;
}

function metricsClient(): MetricsClient {
  return new MetricsClient(fx.emulator.monitor.metricsUrl, credential, {
    tlsOptions: { ca: fx.emulator.monitor.ca },
    retryOptions: { maxRetries: 0 },
  });
}

function logsClient(): LogsQueryClient {
  return new LogsQueryClient(credential, {
    endpoint: fx.emulator.monitor.logsUrl,
    tlsOptions: { ca: fx.emulator.monitor.ca },
    retryOptions: { maxRetries: 0 },
  });
}

async function restError(p: Promise<unknown>): Promise<RestError> {
  try {
    await p;
  } catch (e) {
    if (isRestError(e)) return e;
    throw e;
  }
  throw new Error('expected the service to refuse the request');
}

function lastMinutes(minutes: number): { startTime: Date; endTime: Date } {
  const endTime = new Date(Date.now() + 1000);
  return { startTime: new Date(endTime.getTime() - minutes * 60_000), endTime };
}

function total(points: { total?: number }[] | undefined): number {
  return (points ?? []).reduce((s, p) => s + (p.total ?? 0), 0);
}

beforeAll(async () => {
  await startBlueGreen();
  await generateLoad({ urls: [blue.url, green.url], rps: 400, requests: 40 });
});
afterAll(async () => {
  await fx?.stop();
});

describe('metrics batch API with the real MetricsClient', () => {
  it("counts each revision's requests, split by status category, from the revisions' real answers", async () => {
    const [result] = await metricsClient().queryResources([resourceId], ['Requests'], namespace, {
      ...lastMinutes(5),
      interval: 'PT1M',
      aggregation: 'total',
      filter: `revisionName eq '${green.name}' and statusCodeCategory eq '*'`,
    });
    const requests = result!.getMetricByName('Requests')!;
    expect(requests.unit).toBe('Count');
    const byCategory = Object.fromEntries(
      requests.timeseries.map((s) => [
        s.metadatavalues!.find((m) => m.name === 'statusCodeCategory')!.value,
        total(s.data),
      ]),
    );
    expect(byCategory).toEqual({ '2xx': 30, '5xx': 10 });
    const counters = fx.emulator.revisionCounters(fx.app, green.name)!;
    expect(counters.byStatus).toEqual({ '200': 30, '500': 10 });
    expect(result!.resourceRegion).toBe('westeurope');
  });

  it('answers ResponseTime as average milliseconds, and each aggregation asked for', async () => {
    const [result] = await metricsClient().queryResources(
      [resourceId],
      ['ResponseTime', 'Requests'],
      namespace,
      {
        ...lastMinutes(5),
        interval: 'FULL',
        aggregation: 'average,count,maximum,minimum,total',
        filter: `revisionName eq '${blue.name}'`,
      },
    );
    const point = result!.getMetricByName('ResponseTime')!.timeseries[0]!.data![0]!;
    expect(point.count).toBe(40);
    // The same 40 answers, timed where the revision answered them: the metric is their mean, not any number.
    const counters = fx.emulator.revisionCounters(fx.app, blue.name)!;
    expect(counters.count).toBe(40);
    expect(point.total).toBeCloseTo(counters.totalLatencyMs, 1);
    expect(point.average).toBeCloseTo(counters.totalLatencyMs / 40, 3);
    expect(point.minimum).toBeGreaterThan(0);
    expect(point.minimum).toBeLessThanOrEqual(point.average!);
    expect(point.maximum).toBeGreaterThanOrEqual(point.average!);
    expect(result!.getMetricByName('Requests')!.timeseries[0]!.data![0]!.total).toBe(40);
  });

  it('counts restarts of a revision (RestartCount)', async () => {
    await fx.client.containerAppsRevisions.restartRevision('rg-greenlight-test', 'web', blue.name);
    const [result] = await metricsClient().queryResources([resourceId], ['RestartCount'], namespace, {
      ...lastMinutes(5),
      aggregation: 'total',
      filter: `revisionName eq '*'`,
    });
    const series = result!.getMetricByName('RestartCount')!.timeseries;
    expect(series.map((s) => [s.metadatavalues![0]!.value, total(s.data)])).toEqual([[blue.name, 1]]);
  });

  it('refuses an unknown metric, dimension or namespace with the reason', async () => {
    const client = metricsClient();
    const unknownMetric = await restError(client.queryResources([resourceId], ['Latency'], namespace));
    expect(unknownMetric.statusCode).toBe(400);
    expect(unknownMetric.message).toMatch(/metric: Latency.*Requests, ResponseTime, RestartCount/);
    const badDimension = await restError(
      client.queryResources([resourceId], ['Requests'], namespace, { filter: "region eq 'x'" }),
    );
    expect(badDimension.message).toMatch(
      /dimension 'region' does not exist.*revisionName, statusCodeCategory/,
    );
    const otherNamespace = await restError(
      client.queryResources([resourceId], ['Requests'], 'Microsoft.Web/sites'),
    );
    expect(otherNamespace.message).toMatch(/Microsoft.App\/containerApps only/);
  });

  it('wants a bearer token, as Azure Monitor does', async () => {
    const res = await emulatorRequest(
      { port: fx.emulator.monitor.port, ca: fx.emulator.monitor.ca },
      'POST',
      `/subscriptions/${fx.app.subscriptionId}/metrics:getBatch?api-version=2024-02-01&metricnamespace=${namespace}&metricnames=Requests`,
      { token: null, body: { resourceids: [resourceId] } },
    );
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AuthenticationFailed');
  });
});

describe('Log Analytics query API with the real LogsQueryClient', () => {
  const workspace = () => fx.emulator.monitor.workspaceId;

  it("runs a per-revision error-rate query written in the emulator's KQL subset", async () => {
    const kql = `AppRequests
      | where TimeGenerated > ago(30m) and RevisionName == "${green.name}"
      | summarize total = count(), errors = countif(toint(ResultCode) >= 500) by RevisionName
      | extend result = round(100.0 * errors / total, 2)`;
    const result = await logsClient().queryWorkspace(workspace(), kql, { duration: 'PT15M' });
    expect(result.status).toBe(LogsQueryResultStatus.Success);
    const table = (result as LogsQuerySuccessfulResult).tables[0]!;
    expect(table.columnDescriptors).toEqual([
      { name: 'RevisionName', type: 'string' },
      { name: 'total', type: 'long' },
      { name: 'errors', type: 'long' },
      { name: 'result', type: 'real' },
    ]);
    expect(table.rows).toEqual([[green.name, 40, 10, 25]]);
  });

  it('divides longs as KQL does: errors / total is 0 until made a double', async () => {
    const kql = `AppRequests | where RevisionName == '${green.name}'
      | summarize total = count(), errors = countif(ResultCode >= 500)
      | extend truncated = errors / total, result = todouble(errors) / total
      | project truncated, result, total`;
    const result = (await logsClient().queryWorkspace(workspace(), kql, {
      duration: 'PT15M',
    })) as LogsQuerySuccessfulResult;
    expect(result.tables[0]!.rows).toEqual([[0, 0.25, 40]]);
  });

  it("answers the example policy's console-log query, aggregations combined in summarize", async () => {
    // examples/policies/http-web.yaml, with {{revision}} rendered as Greenlight renders it.
    const kql = `ContainerAppConsoleLogs_CL | where RevisionName_s == "${green.name}" | summarize result = countif(Log_s has 'ERROR') * 1.0 / count()`;
    const result = (await logsClient().queryWorkspace(workspace(), kql, {
      duration: 'PT15M',
    })) as LogsQuerySuccessfulResult;
    expect(result.tables[0]!.columnDescriptors).toEqual([{ name: 'result', type: 'real' }]);
    expect(result.tables[0]!.rows).toEqual([[0.25]]);
    const e = await restError(
      logsClient().queryWorkspace(workspace(), 'AppRequests | summarize n = RevisionName', {
        duration: 'PT5M',
      }),
    );
    expect(e.message).toMatch(/'RevisionName' in summarize must be inside an aggregation/);
  });

  it('keeps to the timespan the client sends', async () => {
    const kql = 'AppRequests | summarize n = count()';
    const future = { startTime: new Date(Date.now() + 3_600_000), duration: 'PT1H' };
    const result = (await logsClient().queryWorkspace(workspace(), kql, future)) as LogsQuerySuccessfulResult;
    expect(result.tables[0]!.rows).toEqual([[0]]);
  });

  it('refuses an operator outside its subset with a 400 that names it', async () => {
    const e = await restError(
      logsClient().queryWorkspace(
        workspace(),
        'AppRequests | join kind=inner (AppRequests) on RevisionName',
        {
          duration: 'PT5M',
        },
      ),
    );
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe('BadArgumentError');
    expect(e.message).toMatch(
      /operator 'join' is not in the emulator's KQL subset \(supported: where, summarize/,
    );
  });

  it('reports unknown tables, columns and functions as Log Analytics does', async () => {
    const ask = (kql: string) =>
      restError(logsClient().queryWorkspace(workspace(), kql, { duration: 'PT5M' }));
    expect((await ask('requests | take 1')).message).toMatch(
      /Failed to resolve table or column expression named 'requests'.*AppRequests/,
    );
    expect((await ask('AppRequests | where revision == "x"')).message).toMatch(
      /Failed to resolve scalar expression named 'revision'/,
    );
    expect((await ask('AppRequests | extend x = strcat("a", "b")')).message).toMatch(
      /function 'strcat' is not in the emulator's KQL subset/,
    );
    expect((await ask('AppRequests | where ResultCode == "500"')).message).toMatch(
      /Cannot compare values of types long and string/,
    );
  });

  it('answers 404 for another workspace', async () => {
    const client = logsClient();
    const e = await restError(
      client.queryWorkspace('00000000-0000-0000-0000-000000000000', 'AppRequests | take 1', {
        duration: 'PT5M',
      }),
    );
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('WorkspaceNotFoundError');
  });
});

describe('Prometheus instant query API', () => {
  const query = async (promql: string) => {
    const res = await emulatorRequest(
      { port: fx.emulator.monitor.port, ca: fx.emulator.monitor.ca },
      'GET',
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
      { token: null },
    );
    return { status: res.status, body: res.body };
  };

  it('answers increase() and rate() of http_requests_total by revision and code', async () => {
    const errors = await query(
      `sum(increase(http_requests_total{revision="${green.name}",code=~"5.."}[5m]))`,
    );
    expect(errors.status).toBe(200);
    expect(errors.body.data.resultType).toBe('vector');
    expect(errors.body.data.result).toEqual([{ metric: {}, value: [expect.any(Number), '10'] }]);

    const rate = await query(
      `sum(rate(http_requests_total{revision="${green.name}",code=~"5.."}[5m])) / sum(rate(http_requests_total{revision="${green.name}"}[5m]))`,
    );
    expect(rate.body.data.result[0].value[1]).toBe('0.25');

    const byCode = await query(`sum by (code) (increase(http_requests_total{app="web"}[5m]))`);
    const codes = Object.fromEntries(
      byCode.body.data.result.map((r: { metric: { code: string }; value: [number, string] }) => [
        r.metric.code,
        r.value[1],
      ]),
    );
    expect(codes).toEqual({ '200': '70', '500': '10' });
  });

  it('gives an empty vector for a revision without requests, and vector(0) through or', async () => {
    const none = await query('sum(increase(http_requests_total{revision="web--nope"}[5m]))');
    expect(none.body.data.result).toEqual([]);
    const zero = await query('sum(increase(http_requests_total{revision="web--nope"}[5m])) or vector(0)');
    expect(zero.body.data.result).toEqual([{ metric: {}, value: [expect.any(Number), '0'] }]);
  });

  it('refuses what it does not implement with a Prometheus error', async () => {
    const res = await query(
      'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))',
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      errorType: 'bad_data',
      error: expect.stringMatching(/function "histogram_quantile" is not in the emulator's PromQL subset/),
    });
    const syntax = await query('sum(rate(http_requests_total[5m])');
    expect(syntax.body.error).toMatch(/parse error/);
  });
});

describe('revision /stats and the load generator', () => {
  it("reports a revision's counters without counting the read", async () => {
    const stats = async () => (await fetch(`${green.url}stats`)).json() as Promise<Record<string, unknown>>;
    const first = await stats();
    expect(first).toMatchObject({ revision: green.name, requests: 40, errors: 10, errorRate: 0.25 });
    expect(await stats()).toMatchObject({ requests: 40 });
    const windowed = (await (await fetch(`${green.url}stats?windowMs=600000`)).json()) as Record<
      string,
      unknown
    >;
    expect(windowed).toMatchObject({ windowMs: 600000, requests: 40, byStatus: { '200': 30, '500': 10 } });
  });

  it('sends the requested number of requests to each URL and tallies the answers', async () => {
    const report = await generateLoad({ urls: [blue.url], rps: 200, requests: 10 });
    expect(report).toEqual({ sent: { [blue.url]: 10 }, byStatus: { '200': 10 }, failed: 0 });
  });
});

describe('ingestion delay, as Azure Monitor has it', () => {
  it('answers a request only once its API has ingested it: metrics after their delay, logs after theirs', async () => {
    const { key, cert } = await makeCertificate();
    const app = {
      id: '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.App/containerApps/late',
      subscriptionId: '11111111-2222-3333-4444-555555555555',
      resourceGroup: 'rg',
      name: 'late',
      location: 'West Europe',
    };
    const requests = new RequestLog();
    const now = Date.now();
    // 30 s, 150 s and 300 s ago.
    for (const agoMs of [30_000, 150_000, 300_000])
      requests.record({ at: now - agoMs, status: 200, latencyMs: 5 });
    const source = {
      apps: () => [{ ...app, revisions: [{ name: 'late--v1', requests, restarts: new EventTimes() }] }],
    };
    const monitor = await startMonitorEmulator(
      { key, cert, source },
      { ingestionDelayMs: { metrics: 60_000, logs: 180_000 } },
    );
    try {
      const metrics = new MetricsClient(monitor.metricsUrl, credential, { tlsOptions: { ca: monitor.ca } });
      const [batch] = await metrics.queryResources([app.id], ['Requests'], namespace, {
        ...lastMinutes(10),
        aggregation: 'total',
      });
      expect(total(batch!.metrics[0]!.timeseries[0]?.data)).toBe(2);
      const logs = new LogsQueryClient(credential, {
        endpoint: monitor.logsUrl,
        tlsOptions: { ca: monitor.ca },
      });
      const result = (await logs.queryWorkspace(monitor.workspaceId, 'AppRequests | summarize n = count()', {
        duration: 'PT10M',
      })) as LogsQuerySuccessfulResult;
      expect(result.tables[0]!.rows).toEqual([[1]]);
    } finally {
      await monitor.stop();
    }
  });
});
