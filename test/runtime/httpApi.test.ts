// The local runtime's HTTP surface driven with plain `fetch`, as Event Grid, curl or another language would.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { VirtualClock } from '../../local/clock';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';

let runtime: LocalRuntime;
let app: typeof import('./conformanceApp');
const prefix = uniquePrefix('rt-http');
const clock = new VirtualClock('2026-03-01T00:00:00Z');

const keysFile = join(tmpdir(), `${prefix.replace(/:/g, '-')}keys.json`);

beforeAll(async () => {
  runtime = await startLocalRuntime({
    register: () => {
      app = require('./conformanceApp') as typeof import('./conformanceApp');
    },
    redisUrl: testRedisUrl(),
    keyPrefix: prefix,
    clock,
    bodyLimit: 64 * 1024,
    keysFile,
  });
});

afterAll(async () => {
  await runtime.stop();
  const redis = newTestRedis();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  rmSync(keysFile, { force: true });
});

const durable = () => `${runtime.baseUrl}/runtime/webhooks/durabletask`;
const sys = () => `code=${runtime.keys.system}`;

async function problem(res: Response): Promise<{ status: number; title: string; detail: string }> {
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  return (await res.json()) as { status: number; title: string; detail: string };
}

/** After every bad request the runtime must still do real work. */
async function stillServes(): Promise<void> {
  const res = await fetch(`${runtime.baseUrl}/api/hello/again`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ hello: 'again', method: 'GET' });
}

function start(name: string, input: unknown, id?: string): Promise<Response> {
  return fetch(`${durable()}/orchestrators/${name}${id ? `/${id}` : ''}?${sys()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
}

describe('Durable HTTP API over plain HTTP', () => {
  it('answers 202 + Location while running, 200 when done, 404 for an unknown instance', async () => {
    runtime.setTimeSkipping(false);
    const res = await start('approvalRace', 1, 'http-race-1');
    expect(res.status).toBe(202);
    const urls = (await res.json()) as { id: string; statusQueryGetUri: string; sendEventPostUri: string };
    expect(urls.id).toBe('http-race-1');
    expect(res.headers.get('location')).toBe(urls.statusQueryGetUri);
    await runtime.whenIdle();

    const running = await fetch(urls.statusQueryGetUri);
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toBe(urls.statusQueryGetUri);
    expect(running.headers.get('retry-after')).toBeTruthy();
    expect(await running.json()).toMatchObject({
      runtimeStatus: 'Running',
      customStatus: { waitingFor: 'approval' },
    });

    const raise = await fetch(urls.sendEventPostUri.replace('{eventName}', 'approval'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify('dana'),
    });
    expect(raise.status).toBe(202);
    await runtime.whenIdle();

    const done = await fetch(`${urls.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`);
    expect(done.status).toBe(200);
    const body = (await done.json()) as { output: unknown; historyEvents: { EventType: string }[] };
    expect(body.output).toEqual({ outcome: 'approved', by: 'dana' });
    expect(body.historyEvents.map((e) => e.EventType)).toEqual(
      expect.arrayContaining(['ExecutionStarted', 'TimerCreated', 'EventRaised', 'ExecutionCompleted']),
    );

    const unknown = await fetch(`${durable()}/instances/no-such-instance?${sys()}`);
    expect(unknown.status).toBe(404);
    expect((await problem(unknown)).detail).toContain('no-such-instance');
  });

  it('answers 410 for an event raised on a completed instance, 404 on an unknown one', async () => {
    runtime.setTimeSkipping(true);
    expect((await start('chain', 1, 'http-chain-1')).status).toBe(202);
    await runtime.whenIdle();
    const gone = await fetch(`${durable()}/instances/http-chain-1/raiseEvent/late?${sys()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(gone.status).toBe(410);
    expect((await problem(gone)).detail).toMatch(/has finished/);

    const missing = await fetch(`${durable()}/instances/nobody-home/raiseEvent/approval?${sys()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(404);
    await stillServes();
  });

  it('pages a listing with top and x-ms-continuation-token', async () => {
    runtime.setTimeSkipping(true);
    for (let i = 0; i < 5; i++) expect((await start('chain', i, `http-page-${i}`)).status).toBe(202);
    await runtime.whenIdle();
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res: Response = await fetch(`${durable()}/instances?instanceIdPrefix=http-page-&top=2&${sys()}`, {
        headers: token ? { 'x-ms-continuation-token': token } : {},
      });
      expect(res.status).toBe(200);
      seen.push(...((await res.json()) as { instanceId: string }[]).map((s) => s.instanceId));
      token = res.headers.get('x-ms-continuation-token');
      pages++;
    } while (token && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `http-page-${i}`));

    const bad = await fetch(`${durable()}/instances?top=zero&runtimeStatus=Sleeping&${sys()}`);
    expect(bad.status).toBe(400);
    const detail = (await problem(bad)).detail;
    expect(detail).toMatch(/top must be a positive whole number/);
    expect(detail).toMatch(/runtimeStatus 'Sleeping'/);
  });

  it('refuses a second running instance with the same id (409) and reports a terminated one as 400 with its reason', async () => {
    runtime.setTimeSkipping(false);
    expect((await start('waitForever', null, 'http-dup')).status).toBe(202);
    await runtime.whenIdle();
    const again = await start('waitForever', null, 'http-dup');
    expect(again.status).toBe(409);
    expect((await problem(again)).detail).toMatch(/already running/);
    const term = await fetch(`${durable()}/instances/http-dup/terminate?reason=test&${sys()}`, {
      method: 'POST',
    });
    expect(term.status).toBe(202);
    await runtime.whenIdle();
    const status = await fetch(`${durable()}/instances/http-dup?${sys()}`);
    expect(status.status).toBe(400);
    expect(await status.json()).toMatchObject({ runtimeStatus: 'Terminated', output: 'test' });
  });
});

describe('bad input gets a clear error and the runtime keeps serving', () => {
  it('malformed JSON when starting an orchestration', async () => {
    const res = await fetch(`${durable()}/orchestrators/chain?${sys()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken": ',
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).title).toBe('Malformed JSON');
    await stillServes();
  });

  it('an unknown orchestrator and an unknown HTTP function', async () => {
    const orch = await start('noSuchOrchestrator', 1);
    expect(orch.status).toBe(400);
    expect((await problem(orch)).detail).toMatch(/'noSuchOrchestrator' is not an orchestrator/);
    const fn = await fetch(`${runtime.baseUrl}/api/nothing/here`);
    expect(fn.status).toBe(404);
    expect((await problem(fn)).detail).toMatch(/no HTTP function serves \/api\/nothing\/here/);
    const method = await fetch(`${runtime.baseUrl}/api/hello/x`, { method: 'DELETE' });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toMatch(/GET/);
    await stillServes();
  });

  it('an oversized body', async () => {
    const res = await fetch(`${durable()}/orchestrators/echo?${sys()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ blob: 'x'.repeat(200 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect((await problem(res)).detail).toMatch(/\d+ bytes/);
    await stillServes();
  });

  it('decodes each route parameter once, and refuses a path it cannot decode', async () => {
    const once = await fetch(`${runtime.baseUrl}/api/hello/a%2525b`);
    expect(await once.json()).toMatchObject({ hello: 'a%25b' });
    const percent = await fetch(`${runtime.baseUrl}/api/hello/100%25`);
    expect(await percent.json()).toMatchObject({ hello: '100%' });
    for (const bad of ['/api/hello/%', '/api/hello/%zz']) {
      const res = await fetch(`${runtime.baseUrl}${bad}`);
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toMatch(/percent-encod|%25/);
    }
    await stillServes();
  });

  it('a caller that hangs up mid-request does not keep the runtime busy', async () => {
    const abort = new AbortController();
    const call = fetch(`${runtime.baseUrl}/api/slow`, { signal: abort.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    expect((await call) as { name?: string }).toMatchObject({ name: 'AbortError' });
    // With the request still counted as in flight, the virtual clock would never be idle again.
    await new Promise((r) => setTimeout(r, 400));
    let idle = false;
    await Promise.race([
      runtime.whenIdle().then(() => (idle = true)),
      new Promise((r) => setTimeout(r, 2_000)),
    ]);
    expect(idle).toBe(true);
    await stillServes();
  });

  it('bad queries, bad event data and purging a running instance', async () => {
    const badDate = await fetch(`${durable()}/instances?createdTimeFrom=yesterday&${sys()}`);
    expect(badDate.status).toBe(400);
    expect((await problem(badDate)).detail).toMatch(/createdTimeFrom must be an ISO 8601 date-time/);
    const badPurge = await fetch(`${durable()}/instances?top=-1&${sys()}`, { method: 'DELETE' });
    expect(badPurge.status).toBe(400);

    runtime.setTimeSkipping(false);
    expect((await start('waitForever', null, 'http-running')).status).toBe(202);
    await runtime.whenIdle();
    const badEvent = await fetch(`${durable()}/instances/http-running/raiseEvent/never?${sys()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x": ',
    });
    expect(badEvent.status).toBe(400);
    expect((await problem(badEvent)).title).toBe('Malformed JSON');
    const purgeRunning = await fetch(`${durable()}/instances/http-running?${sys()}`, { method: 'DELETE' });
    expect(purgeRunning.status).toBe(409);
    expect((await problem(purgeRunning)).detail).toMatch(/terminate it before purging/);
    await fetch(`${durable()}/instances/http-running/terminate?reason=done&${sys()}`, { method: 'POST' });
    await runtime.whenIdle();
    await stillServes();
  });

  it('missing or wrong keys', async () => {
    const noKey = await fetch(`${durable()}/instances`);
    expect(noKey.status).toBe(401);
    await problem(noKey);
    const wrong = await fetch(`${runtime.baseUrl}/api/start/chain?code=not-the-key`, { method: 'POST' });
    expect(wrong.status).toBe(401);
    expect((await problem(wrong)).detail).toMatch(/x-functions-key/);
    const right = await fetch(`${runtime.baseUrl}/api/start/chain`, {
      method: 'POST',
      headers: { 'x-functions-key': runtime.keys.function },
      body: '3',
    });
    expect(right.status).toBe(202);
    await stillServes();
  });
});

describe('Event Grid webhook', () => {
  const hook = (fn = 'recordEvent') =>
    `${runtime.baseUrl}/runtime/webhooks/eventgrid?functionName=${fn}&${sys()}`;

  it('completes the subscription validation handshake', async () => {
    const res = await fetch(hook(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'SubscriptionValidation' },
      body: JSON.stringify([
        {
          id: '1',
          eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
          subject: '',
          data: { validationCode: 'abc-123' },
          eventTime: '2026-03-01T00:00:00Z',
          dataVersion: '1',
        },
      ]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: 'abc-123' });
  });

  it('answers the CloudEvents abuse-protection OPTIONS handshake', async () => {
    const res = await fetch(hook(), {
      method: 'OPTIONS',
      headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');
  });

  it('delivers a batch in the Event Grid schema and one CloudEvent', async () => {
    const before = app.deliveredEvents.length;
    const batch = await fetch(hook(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify([
        {
          id: 'e1',
          eventType: 'T',
          subject: 'a',
          data: { n: 1 },
          eventTime: '2026-03-01T00:00:00Z',
          dataVersion: '1',
        },
        {
          id: 'e2',
          eventType: 'T',
          subject: 'b',
          data: { n: 2 },
          eventTime: '2026-03-01T00:00:00Z',
          dataVersion: '1',
        },
      ]),
    });
    expect(batch.status).toBe(202);
    const cloud = await fetch(hook(), {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'c1',
        type: 'T',
        source: '/s',
        subject: 'c',
        data: { n: 3 },
      }),
    });
    expect(cloud.status).toBe(202);
    const got = app.deliveredEvents.slice(before) as { subject: string }[];
    expect(got.map((e) => e.subject)).toEqual(['a', 'b', 'c']);
  });

  it('refuses deliveries that are not events, handshakes without their data, and callers without the system key', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(hook(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    for (const body of ['[]', '[1]', '{"id": "x"}']) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect((await problem(res)).title).toBe('No events');
    }
    const noCode = await post(
      JSON.stringify([{ id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: {} }]),
      { 'aeg-event-type': 'SubscriptionValidation' },
    );
    expect(noCode.status).toBe(400);
    expect((await problem(noCode)).detail).toMatch(/data\.validationCode/);
    const noOrigin = await fetch(hook(), { method: 'OPTIONS' });
    expect(noOrigin.status).toBe(400);
    expect((await problem(noOrigin)).detail).toMatch(/WebHook-Request-Origin/);
    const url = `${runtime.baseUrl}/runtime/webhooks/eventgrid?functionName=recordEvent`;
    expect((await fetch(url, { method: 'POST', body: '[]' })).status).toBe(401);
    expect((await fetch(url, { method: 'OPTIONS', headers: { 'webhook-request-origin': 'x' } })).status).toBe(
      401,
    );
    await stillServes();
  });

  it('rejects malformed deliveries and unknown functions, and reports a failing function as 503 so Event Grid retries', async () => {
    const malformed = await fetch(hook(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[{"id": ',
    });
    expect(malformed.status).toBe(400);
    await problem(malformed);
    const unknown = await fetch(hook('nope'), { method: 'POST', body: '[]' });
    expect(unknown.status).toBe(404);
    expect((await problem(unknown)).detail).toMatch(/functionName 'nope'/);
    const failing = await fetch(hook(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          id: 'x',
          eventType: 'T',
          subject: 'explode',
          data: {},
          eventTime: '2026-03-01T00:00:00Z',
          dataVersion: '1',
        },
      ]),
    });
    expect(failing.status).toBe(503);
    expect(failing.headers.get('retry-after')).toBe('10');
    // The cause stays in the log: an error message may carry internal URLs or keys.
    expect((await problem(failing)).detail).not.toMatch(/Boom/);
    await stillServes();
  });
});
