import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateLoad } from '../../local/containerapps-emulator';
import { makeCertificate } from '../../local/certificate';
import { startMonitorEmulator, type MonitorEmulator } from '../../local/monitor-emulator';
import { EventTimes, RequestLog } from '../../local/monitor-emulator/requestLog';
import { createGateProviders } from '../../src/adapters/gates/factory';
import type { GateProviders } from '../../src/domain/ports/gates';
import { StaticTokenCredential } from '../../src/adapters/credentials';
import { errorCode } from '../../src/domain/errors';
import type { GateQuery, Measurement, MeasureTarget } from '../../src/domain/gates/types';
import type { AppRef } from '../../src/domain/ports/containerApps';
import {
  type EmulatorFixture,
  rejectionOf,
  startEmulatorWithApp,
  testToken,
  waitForRevisionToSettle,
} from '../support/emulator';
import { until } from '../support/until';

// The four gate providers, built by the factory as the Function App builds them, measuring blue and green
// revisions of the emulator through its monitoring emulators: real SDK clients, real HTTPS, real traffic.

const errorShare = 0.3;
const slowLatencyMs = 80;
const windowMs = 10 * 60_000;

interface Revision {
  name: string;
  /** The revision's own endpoint, `http://127.0.0.1:<port>/`. */
  url: string;
}

interface BlueGreen {
  app: AppRef;
  resourceId: string;
  blue: Revision;
  green: Revision;
}

let fx: EmulatorFixture;
let providers: GateProviders;
let web: BlueGreen;
let api: BlueGreen;

/** Seeds `name` (blue `v1`, unless it is the fixture's app) and deploys green from `greenTag`. */
async function blueGreen(name: string, greenTag: string): Promise<BlueGreen> {
  const app: AppRef = { ...fx.app, name };
  if (name !== fx.app.name) await fx.emulator.seedApp({ ...app, image: `greenlight.azurecr.io/${name}:v1` });
  const { revisionName } = await fx.adapter.deployGreen(app, {
    image: `greenlight.azurecr.io/${name}:${greenTag}`,
    revisionSuffix: 'v2',
  });
  await waitForRevisionToSettle({ adapter: fx.adapter, app }, revisionName);
  const view = fx.emulator.appView(app)!;
  const revision = (r: string): Revision => ({
    name: r,
    url: `http://${view.revisions.find((x) => x.name === r)!.fqdn!}/`,
  });
  return { app, resourceId: view.id, blue: revision(`${name}--v1`), green: revision(revisionName) };
}

function target(bg: BlueGreen, which: 'blue' | 'green'): MeasureTarget {
  return { resourceId: bg.resourceId, appName: bg.app.name, revision: bg[which].name, windowMs };
}

/** The gates of one kind of question, one per provider. */
function errorRateGates(revisionUrl: string): GateQuery[] {
  return [
    {
      provider: 'azureMonitorMetrics',
      query: 'Requests',
      filter: "statusCodeCategory eq '5xx'",
      ratioTo: '',
    },
    {
      provider: 'logAnalytics',
      query:
        'AppRequests | where RevisionName == {{revision}} | summarize total = count(), errors = countif(ResultCode >= 500) | extend result = todouble(errors) / total',
      workspaceId: fx.emulator.monitor.workspaceId,
      sampleSize: 'total',
    },
    {
      provider: 'prometheus',
      query:
        '(sum(increase(http_requests_total{revision={{revision}},code=~"5.."}[10m])) or vector(0)) / sum(increase(http_requests_total{revision={{revision}}}[10m]))',
      address: fx.emulator.monitor.prometheusUrl,
      sampleSize: 'sum(increase(http_requests_total{revision={{revision}}}[10m]))',
    },
    // ACA revision URLs are `<revision>.<environment domain>`; the emulator's are ports, so the URL is given.
    {
      provider: 'httpJson',
      query: `${revisionUrl}stats?windowMs=${windowMs}`,
      jsonPath: '$.errorRate',
      sampleSize: '$.requests',
    },
  ];
}

function latencyGates(revisionUrl: string): GateQuery[] {
  return [
    { provider: 'azureMonitorMetrics', query: 'ResponseTime', aggregation: 'Average' },
    {
      provider: 'logAnalytics',
      query:
        'AppRequests | where RevisionName == {{revision}} | summarize result = avg(DurationMs), total = count()',
      workspaceId: fx.emulator.monitor.workspaceId,
      sampleSize: 'total',
    },
    {
      provider: 'prometheus',
      query:
        '1000 * sum(increase(http_request_duration_seconds_sum{revision={{revision}}}[10m])) / sum(increase(http_request_duration_seconds_count{revision={{revision}}}[10m]))',
      address: fx.emulator.monitor.prometheusUrl,
    },
    {
      provider: 'httpJson',
      query: `${revisionUrl}stats?windowMs=${windowMs}`,
      jsonPath: '$.averageLatencyMs',
    },
  ];
}

/** Measures with no window lag: the emulators' data is there at once (unless told to delay it). */
function measure(query: GateQuery, t: MeasureTarget): Promise<Measurement> {
  return providers[query.provider].measure({ lagMs: 0, ...query }, t);
}

/** Measures until the sample covers `requests` (the emulators answer at once; the wait is only a guard). */
function measured(query: GateQuery, t: MeasureTarget, requests: number): Promise<Measurement> {
  return until(`${query.provider} to see ${requests} requests of ${t.revision}`, async () => {
    const m = await measure(query, t);
    return (m.sampleSize === undefined || m.sampleSize >= requests) && m;
  });
}

beforeAll(async () => {
  fx = await startEmulatorWithApp({ emulator: { errorShare, slowLatencyMs } });
  providers = createGateProviders({
    credential: new StaticTokenCredential(testToken),
    metricsEndpoint: fx.emulator.monitor.metricsUrl,
    logsEndpoint: fx.emulator.monitor.logsUrl,
    ca: fx.emulator.monitor.ca,
    maxRetries: 1,
    retryDelayMs: 20,
  });
  web = await blueGreen('web', 'v2-err5');
  api = await blueGreen('api', 'v2-slow');
  await generateLoad({
    urls: [web.blue.url, web.green.url, api.blue.url, api.green.url],
    rps: 200,
    requests: 50,
  });
});
afterAll(async () => {
  await fx?.stop();
});

describe('error rate of green against blue', () => {
  it.each(['azureMonitorMetrics', 'logAnalytics', 'prometheus', 'httpJson'] as const)(
    '%s measures the configured share of 5xx on green and none on blue',
    async (provider) => {
      const gate = (rev: Revision) => errorRateGates(rev.url).find((g) => g.provider === provider)!;
      const green = await measured(gate(web.green), target(web, 'green'), 50);
      const blue = await measured(gate(web.blue), target(web, 'blue'), 50);
      expect(green.value).toBeCloseTo(errorShare, 5);
      expect(green.sampleSize).toBe(50);
      expect(blue.value).toBe(0);
      expect(blue.sampleSize).toBe(50);
    },
  );
});

describe('latency of a slow green', () => {
  it.each(['azureMonitorMetrics', 'logAnalytics', 'prometheus', 'httpJson'] as const)(
    '%s sees green answer at least twice as slowly as blue',
    async (provider) => {
      const gate = (rev: Revision) => latencyGates(rev.url).find((g) => g.provider === provider)!;
      const green = await measured(gate(api.green), target(api, 'green'), 50);
      const blue = await measured(gate(api.blue), target(api, 'blue'), 50);
      expect(green.value).toBeGreaterThanOrEqual(slowLatencyMs * 0.9);
      expect(green.value!).toBeGreaterThanOrEqual(2 * blue.value!);
    },
  );

  it('azureMonitorMetrics gives the request count as the sample size of ResponseTime', async () => {
    const m = await measure(
      { provider: 'azureMonitorMetrics', query: 'ResponseTime', aggregation: 'Average' },
      target(api, 'green'),
    );
    expect(m.sampleSize).toBe(50);
  });
});

describe('sample size', () => {
  it('is small when the revision got few requests, through every provider', async () => {
    const few = await blueGreen('few', 'v2');
    await generateLoad({ urls: [few.green.url], rps: 100, requests: 3 });
    for (const gate of errorRateGates(few.green.url)) {
      const m = await measured(gate, target(few, 'green'), 3);
      expect([gate.provider, m]).toEqual([gate.provider, { value: 0, sampleSize: 3 }]);
    }
  });

  it('is zero and the value absent when a revision got no requests at all', async () => {
    const idle = await blueGreen('idle', 'v2');
    const t = target(idle, 'green');
    const [metrics, logs, prometheus, http] = await Promise.all(
      errorRateGates(idle.green.url).map((g) => measure(g, t)),
    );
    expect(metrics).toEqual({ sampleSize: 0 });
    // KQL's count() of nothing is a row with total 0: 0 / 0 is NaN, no value.
    expect(logs).toEqual({ sampleSize: 0 });
    // In Prometheus a revision without requests has no series at all.
    expect(prometheus).toEqual({});
    expect(http).toEqual({ sampleSize: 0 });
  });
});

describe('provider failures are typed errors', () => {
  const green = () => target(web, 'green');

  it('a wrong Log Analytics workspace is NotFound, with what to check', async () => {
    const e = await rejectionOf(
      measure(
        {
          provider: 'logAnalytics',
          query: 'AppRequests | where RevisionName == {{revision}} | summarize result = count()',
          workspaceId: '00000000-0000-0000-0000-000000000000',
        },
        green(),
      ),
    );
    expect(errorCode(e)).toBe('NotFound');
    expect(e.message).toMatch(
      /Log Analytics found nothing .*workspace '00000000-0000-0000-0000-000000000000'.*WorkspaceNotFoundError/,
    );
    expect(e.message).toMatch(/workspace ID \(a GUID\)/);
  });

  it("a KQL operator the service refuses is InvalidRequest with the service's reason", async () => {
    const e = await rejectionOf(
      measure(
        {
          provider: 'logAnalytics',
          query: 'AppRequests | where RevisionName == {{revision}} | top 1 by DurationMs',
          workspaceId: fx.emulator.monitor.workspaceId,
        },
        green(),
      ),
    );
    expect(errorCode(e)).toBe('InvalidRequest');
    expect(e.message).toMatch(/Log Analytics rejected .*400 BadArgumentError.*operator 'top'/);
  });

  it('a query that answers several rows or series is refused rather than judged by its first', async () => {
    const rows = await rejectionOf(
      measure(
        {
          provider: 'logAnalytics',
          query:
            'AppRequests | where RevisionName == {{revision}} | summarize result = count() by ResultCode',
          workspaceId: fx.emulator.monitor.workspaceId,
        },
        green(),
      ),
    );
    expect(errorCode(rows)).toBe('InvalidRequest');
    expect(rows.message).toMatch(/returns \d+ rows; aggregate to one row/);
    const series = await rejectionOf(
      measure(
        {
          provider: 'prometheus',
          query: 'sum by (code) (increase(http_requests_total{revision={{revision}}}[5m]))',
          address: fx.emulator.monitor.prometheusUrl,
        },
        green(),
      ),
    );
    expect(errorCode(series)).toBe('InvalidRequest');
    expect(series.message).toMatch(/returns \d+ series; aggregate to one/);
  });

  it('bad PromQL is InvalidRequest quoting the parse error', async () => {
    const e = await rejectionOf(
      measure(
        {
          provider: 'prometheus',
          query: 'sum(rate(http_requests_total{revision={{revision}}}[5m])',
          address: fx.emulator.monitor.prometheusUrl,
        },
        green(),
      ),
    );
    expect(errorCode(e)).toBe('InvalidRequest');
    expect(e.message).toMatch(
      /Prometheus at https:\/\/127\.0\.0\.1:\d+ rejected the gate's query \(400 bad_data\): .*parse error/,
    );
  });

  it('an unreachable URL is an unavailable service, worth retrying', async () => {
    const closed = await unusedPort();
    const http = await rejectionOf(
      measure(
        { provider: 'httpJson', query: `http://127.0.0.1:${closed}/stats`, jsonPath: '$.errorRate' },
        green(),
      ),
    );
    expect(errorCode(http)).toBe('ProviderUnavailable');
    expect(http.message).toMatch(
      new RegExp(`GET http://127.0.0.1:${closed}/stats unavailable .*ECONNREFUSED`),
    );
    const prom = await rejectionOf(
      measure({ provider: 'prometheus', query: 'vector(1)', address: `http://127.0.0.1:${closed}` }, green()),
    );
    expect(errorCode(prom)).toBe('ProviderUnavailable');
  });

  it('an unknown container app is NotFound for metrics', async () => {
    const e = await rejectionOf(
      measure(
        { provider: 'azureMonitorMetrics', query: 'Requests' },
        { ...green(), resourceId: web.resourceId.replace(/web$/, 'nope') },
      ),
    );
    expect(errorCode(e)).toBe('NotFound');
    expect(e.message).toMatch(/Azure Monitor metrics found nothing for metric 'Requests'/);
  });

  it('a refused credential is InvalidConfiguration naming the role to grant', async () => {
    const server = await local((req, res) => {
      req.resume();
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'AuthorizationFailed', message: 'the client may not read' } }));
    });
    const refusing = providersOn(server);
    try {
      const roles: [GateQuery, RegExp][] = [
        [{ provider: 'azureMonitorMetrics', query: 'Requests' }, /'Monitoring Reader' role/],
        [
          {
            provider: 'logAnalytics',
            query: 'AppRequests | summarize result = count()',
            workspaceId: fx.emulator.monitor.workspaceId,
          },
          /'Log Analytics Reader' role/,
        ],
        [{ provider: 'prometheus', query: 'vector(1)', address: server.url }, /wants credentials/],
        [{ provider: 'httpJson', query: `${server.url}/x`, jsonPath: '$.a' }, /needs credentials/],
      ];
      for (const [gate, hint] of roles) {
        const e = await rejectionOf(refusing[gate.provider].measure(gate, green()));
        expect([gate.provider, errorCode(e)]).toEqual([gate.provider, 'InvalidConfiguration']);
        expect(e.message).toMatch(/refused .*\(403( AuthorizationFailed)?\)/);
        expect(e.message).toMatch(hint);
      }
    } finally {
      await server.close();
    }
  });

  it('a service that does not answer in time is a Timeout, for the SDK clients too', async () => {
    const server = await local((req) => req.resume());
    const slow = providersOn(server, { timeoutMs: 300 });
    try {
      const gates: GateQuery[] = [
        { provider: 'azureMonitorMetrics', query: 'Requests' },
        {
          provider: 'logAnalytics',
          query: 'AppRequests | summarize result = count()',
          workspaceId: fx.emulator.monitor.workspaceId,
        },
        { provider: 'prometheus', query: 'vector(1)', address: server.url },
        { provider: 'httpJson', query: `${server.url}/stats`, jsonPath: '$.a' },
      ];
      for (const gate of gates) {
        const e = await rejectionOf(slow[gate.provider].measure(gate, green()));
        expect([gate.provider, errorCode(e)]).toEqual([gate.provider, 'Timeout']);
        expect(e.message).toMatch(/did not answer .* within 300 ms/);
      }
    } finally {
      await server.close();
    }
  });

  it('metrics without a configured endpoint is InvalidConfiguration', async () => {
    const unconfigured = createGateProviders({ credential: new StaticTokenCredential(testToken) });
    const e = await rejectionOf(
      unconfigured.azureMonitorMetrics.measure(
        { provider: 'azureMonitorMetrics', query: 'Requests' },
        green(),
      ),
    );
    expect(errorCode(e)).toBe('InvalidConfiguration');
    expect(e.message).toMatch(/metrics\.monitor\.azure\.com/);
  });
});

describe('infinities are measurements, NaN is no data', () => {
  const green = () => target(web, 'green');

  it('reads Prometheus +Inf and -Inf as infinities and NaN as no data', async () => {
    let sample = '+Inf';
    const server = await local((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [1_700_000_000, sample] }] },
        }),
      );
    });
    try {
      const prom = providersOn(server, { prometheusAuth: 'none' }).prometheus;
      const gate: GateQuery = {
        provider: 'prometheus',
        query: 'histogram_quantile(0.99, x)',
        address: server.url,
      };
      expect(await prom.measure(gate, green())).toEqual({ value: Infinity });
      sample = '-Inf';
      expect(await prom.measure(gate, green())).toEqual({ value: -Infinity });
      sample = 'NaN';
      expect(await prom.measure(gate, green())).toEqual({});
    } finally {
      await server.close();
    }
  });

  it('reads Log Analytics "Infinity" as an infinity and "NaN" as no data', async () => {
    let cell: unknown = 'Infinity';
    const server = await local((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          tables: [
            {
              name: 'PrimaryResult',
              columns: [
                { name: 'result', type: 'real' },
                { name: 'total', type: 'long' },
              ],
              rows: [[cell, 12]],
            },
          ],
        }),
      );
    });
    try {
      const logs = providersOn(server).logAnalytics;
      const gate: GateQuery = {
        provider: 'logAnalytics',
        query: 'AppRequests | where RevisionName == {{revision}} | summarize result = max(DurationMs) / 0.0',
        workspaceId: fx.emulator.monitor.workspaceId,
        sampleSize: 'total',
        lagMs: 0,
      };
      expect(await logs.measure(gate, green())).toEqual({ value: Infinity, sampleSize: 12 });
      cell = '-Infinity';
      expect(await logs.measure(gate, green())).toEqual({ value: -Infinity, sampleSize: 12 });
      cell = 'NaN';
      expect(await logs.measure(gate, green())).toEqual({ sampleSize: 12 });
    } finally {
      await server.close();
    }
  });
});

describe('windows end at the gate’s lag, so data still being ingested is never judged', () => {
  const green = () => target(web, 'green');

  it('asks each provider for a window ending the lag before now, with per-provider defaults', async () => {
    const seen: { url: string; body: string }[] = [];
    const server = await local((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', body });
        const answer = req.url?.includes('getBatch')
          ? { values: [] }
          : req.url?.includes('/query') && req.url.includes('workspaces')
            ? { tables: [{ name: 'PrimaryResult', columns: [{ name: 'result', type: 'real' }], rows: [] }] }
            : { status: 'success', data: { resultType: 'vector', result: [] } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    const last = () => seen[seen.length - 1]!;
    const near = (actualMs: number, expectedMs: number) =>
      expect(Math.abs(actualMs - expectedMs)).toBeLessThan(15_000);
    try {
      const p = providersOn(server, { prometheusAuth: 'none' });
      // Log Analytics: by default 3 minutes; the window is an ISO interval start/end.
      const workspaceId = fx.emulator.monitor.workspaceId;
      const kql = 'AppRequests | where RevisionName == {{revision}} | summarize result = count()';
      await p.logAnalytics.measure({ provider: 'logAnalytics', query: kql, workspaceId }, green());
      const [start, end] = (JSON.parse(last().body) as { timespan: string }).timespan.split('/');
      near(Date.now() - Date.parse(end!), 180_000);
      expect(Date.parse(end!) - Date.parse(start!)).toBe(windowMs);
      // No lag: the plain duration, ending at the service's now.
      await p.logAnalytics.measure({ provider: 'logAnalytics', query: kql, workspaceId, lagMs: 0 }, green());
      expect((JSON.parse(last().body) as { timespan: string }).timespan).toBe('PT10M');

      // Azure Monitor metrics: by default 2 minutes.
      await p.azureMonitorMetrics.measure({ provider: 'azureMonitorMetrics', query: 'Requests' }, green());
      const metricsUrl = new URL(last().url, server.url);
      const metricsEnd = Date.parse(metricsUrl.searchParams.get('endtime') ?? '');
      near(Date.now() - metricsEnd, 120_000);
      expect(metricsEnd - Date.parse(metricsUrl.searchParams.get('starttime') ?? '')).toBe(windowMs);
      await p.azureMonitorMetrics.measure(
        { provider: 'azureMonitorMetrics', query: 'Requests', lagMs: 300_000 },
        green(),
      );
      near(
        Date.now() - Date.parse(new URL(last().url, server.url).searchParams.get('endtime') ?? ''),
        300_000,
      );

      // Prometheus: none by default (evaluated at now, as Argo does); a gate may set one.
      const prom: GateQuery = { provider: 'prometheus', query: 'vector(1)', address: server.url };
      await p.prometheus.measure(prom, green());
      near(Date.now() - 1000 * Number(new URLSearchParams(last().body).get('time')), 0);
      await p.prometheus.measure({ ...prom, lagMs: 90_000 }, green());
      near(Date.now() - 1000 * Number(new URLSearchParams(last().body).get('time')), 90_000);
    } finally {
      await server.close();
    }
  });
});

describe('a monitoring emulator that delays its data as Azure Monitor does', () => {
  // One revision's answers: three 5xx 1 minute ago, a 200 4 minutes ago, a 5xx 6 minutes ago and a 200
  // 11.5 minutes ago. One emulator ingests them late (metrics and Prometheus 2 minutes, logs 3), the
  // other at once.
  const delays = { metrics: 120_000, logs: 180_000, prometheus: 120_000 };
  const app = {
    id: '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.App/containerApps/late',
    subscriptionId: '11111111-2222-3333-4444-555555555555',
    resourceGroup: 'rg',
    name: 'late',
    location: 'West Europe',
  };
  const t: MeasureTarget = { resourceId: app.id, appName: app.name, revision: 'late--v2', windowMs };
  let late: MonitorEmulator;
  let prompt: MonitorEmulator;

  beforeAll(async () => {
    const { key, cert } = await makeCertificate();
    const now = Date.now();
    const requests = new RequestLog();
    for (const [agoMs, status] of [
      [690_000, 200],
      [360_000, 500],
      [240_000, 200],
      [60_000, 500],
      [60_000, 500],
      [60_000, 500],
    ] as const) {
      requests.record({ at: now - agoMs, status, latencyMs: 10 });
    }
    const source = {
      apps: () => [{ ...app, revisions: [{ name: t.revision, requests, restarts: new EventTimes() }] }],
    };
    late = await startMonitorEmulator({ key, cert, source }, { ingestionDelayMs: delays });
    prompt = await startMonitorEmulator({ key, cert, source });
  });
  afterAll(async () => {
    await late?.stop();
    await prompt?.stop();
  });

  const providersFor = (m: MonitorEmulator): GateProviders =>
    createGateProviders({
      credential: new StaticTokenCredential(testToken),
      metricsEndpoint: m.metricsUrl,
      logsEndpoint: m.logsUrl,
      ca: m.ca,
      maxRetries: 0,
      prometheusAuth: 'none',
    });

  /** The error-rate gate of each provider on emulator `m`; Prometheus is given the 2-minute lag the others have by default. */
  const gates = (m: MonitorEmulator): GateQuery[] => [
    {
      provider: 'azureMonitorMetrics',
      query: 'Requests',
      filter: "statusCodeCategory eq '5xx'",
      ratioTo: '',
    },
    {
      provider: 'logAnalytics',
      query:
        'AppRequests | where RevisionName == {{revision}} | summarize total = count(), errors = countif(ResultCode >= 500) | extend result = todouble(errors) / total',
      workspaceId: m.workspaceId,
      sampleSize: 'total',
    },
    {
      provider: 'prometheus',
      query:
        '(sum(increase(http_requests_total{revision={{revision}},code=~"5.."}[10m])) or vector(0)) / sum(increase(http_requests_total{revision={{revision}}}[10m]))',
      address: m.prometheusUrl,
      lagMs: 120_000,
    },
  ];

  it('a window ending now under-counts the late data: 1 error in 2 where there were 4 in 5', async () => {
    for (const [lateGate, promptGate] of gates(late).map((g, k) => [g, gates(prompt)[k]!] as const)) {
      const seen = await providersFor(late)[lateGate.provider].measure({ ...lateGate, lagMs: 0 }, t);
      const truth = await providersFor(prompt)[promptGate.provider].measure({ ...promptGate, lagMs: 0 }, t);
      expect([lateGate.provider, seen.value, truth.value]).toEqual([lateGate.provider, 0.5, 0.8]);
    }
  });

  it('a window ending at the lag reads all of its data: the default lags cover the delays', async () => {
    for (const [lateGate, promptGate] of gates(late).map((g, k) => [g, gates(prompt)[k]!] as const)) {
      const seen = await providersFor(late)[lateGate.provider].measure(lateGate, t);
      const truth = await providersFor(prompt)[promptGate.provider].measure(promptGate, t);
      // (now - lag - 10 min, now - lag]: the 5xx at 6 minutes and the two 200s.
      expect([lateGate.provider, seen.value]).toEqual([lateGate.provider, truth.value]);
      expect(seen.value).toBeCloseTo(1 / 3, 10);
    }
  });
});

async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface LocalServer {
  url: string;
  ca: string;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 with its own certificate, answering as `handler` does. */
async function local(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalServer> {
  const { key, cert } = await makeCertificate();
  const server: Server = createHttpsServer({ key, cert }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: cert,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Providers whose every endpoint is `server`. */
function providersOn(
  server: LocalServer,
  extra: { timeoutMs?: number; prometheusAuth?: 'none' } = {},
): GateProviders {
  return createGateProviders({
    credential: new StaticTokenCredential(testToken),
    metricsEndpoint: server.url,
    logsEndpoint: server.url,
    ca: server.ca,
    maxRetries: 0,
    prometheusAuth: 'none',
    ...extra,
  });
}
