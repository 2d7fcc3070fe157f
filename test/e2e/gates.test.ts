// Analysis gates end to end: the real query clients against the emulator's monitoring APIs, answering
// from the requests the revisions really served. Real time (the measurements need real traffic), short timings.
import {
  refOf,
  registry,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';

const errorRate = (workspaceId: string, over: Record<string, unknown> = {}) => ({
  name: 'error-rate',
  provider: 'logAnalytics',
  workspaceId,
  // The per-revision error rate of seed 001, in the emulator's KQL subset.
  query:
    'AppRequests | where RevisionName == {{revision}} | summarize total = count(), errors = countif(ResultCode >= 500) | extend result = todouble(errors) / total',
  sampleSize: 'total',
  minSampleSize: 20,
  // Two-second windows: the load generator shares this process with the whole stack, and on a busy
  // machine a one-second window of one revision held as few as 16 requests.
  interval: 'PT2S',
  // A revision that just became ready has served little yet: let the load reach it before the first look.
  initialDelay: 'PT1S',
  // The emulator's rows are there at once: no ingestion lag to wait out.
  lag: 'PT0S',
  count: 2,
  // A look may still be under-sampled when the machine is busy.
  inconclusiveLimit: 2,
  successCondition: 'result <= baseline + 0.01',
  phases: ['prePromotion'],
  ...over,
});

const latency = {
  name: 'latency',
  provider: 'azureMonitorMetrics',
  query: 'ResponseTime',
  aggregation: 'Average',
  interval: 'PT1S',
  lag: 'PT0S',
  count: 2,
  inconclusiveLimit: 2,
  successCondition: 'result <= baseline * 1.5 + 50',
  phases: ['prePromotion'],
};

const timings = {
  validation: { readiness: { timeout: 'PT30S', pollInterval: 'PT0.2S' } },
  watch: { duration: 'PT0S' },
  cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
};

const names = ['g-errors', 'g-latency', 'g-few', 'g-few-fail', 'g-down', 'g-watch'];
let e: E2E;
let workspaceId: string;
let load: NodeJS.Timeout | undefined;

beforeAll(async () => {
  // The workspace id is the emulator's; the policies need it before the stack starts, so use its default.
  workspaceId = (
    require('../../local/containerapps-emulator') as typeof import('../../local/containerapps-emulator')
  ).defaultWorkspaceId;
  e = await startE2E(
    [
      trafficPolicy('g-errors', { ...timings, gates: [errorRate(workspaceId)] }),
      trafficPolicy('g-latency', { ...timings, gates: [latency] }),
      trafficPolicy('g-few', {
        ...timings,
        gates: [errorRate(workspaceId, { minSampleSize: 1_000_000, onInconclusive: 'pass' })],
      }),
      trafficPolicy('g-few-fail', {
        ...timings,
        gates: [errorRate(workspaceId, { minSampleSize: 1_000_000 })],
      }),
      trafficPolicy('g-down', {
        ...timings,
        gates: [
          {
            name: 'prom',
            provider: 'prometheus',
            address: 'https://127.0.0.1:9/',
            query: 'sum(rate(http_requests_total{revision={{revision}}}[1m]))',
            interval: 'PT0.2S',
            // A dead provider is retried on its own interval (default 10 s): short here.
            errorInterval: 'PT0.2S',
            count: 2,
            consecutiveErrorLimit: 2,
            successCondition: 'result >= 0',
            phases: ['prePromotion'],
          },
        ],
      }),
      trafficPolicy('g-watch', {
        ...timings,
        watch: { duration: 'PT30S', interval: 'PT1S' },
        // Blue serves nothing after promotion: a watch gate judges green on its own.
        gates: [
          errorRate(workspaceId, {
            phases: ['watch'],
            successCondition: 'result <= 0.01',
            inconclusiveLimit: 5,
          }),
        ],
      }),
    ],
    { clock: 'real', emulator: { errorShare: 0.05, slowLatencyMs: 300 } },
  );
  for (const name of names) {
    await e.stack.emulator.seedApp({ ...refOf(name), image: `${registry}/e2e/${name}:v1` });
  }
  // A load generator: every active revision of the app under test gets requests all the time, as users
  // would send, a few at a time per revision so a slow one does not hold back the others. Only that app:
  // the whole stack shares this process, and on a busy machine spreading the load over every app's
  // revisions left each with fewer requests per window than the gates' minSampleSize.
  const inFlight = new Map<string, number>();
  load = setInterval(() => {
    for (const name of loaded) {
      for (const r of e.stack.emulator.appView(refOf(name))?.revisions ?? []) {
        const url = r.active && r.fqdn ? `http://${r.fqdn}/` : undefined;
        if (!url || (inFlight.get(url) ?? 0) >= perRevisionInFlight) continue;
        inFlight.set(url, (inFlight.get(url) ?? 0) + 1);
        void fetch(url)
          .then((res) => res.arrayBuffer())
          .catch(() => undefined)
          .finally(() => inFlight.set(url, (inFlight.get(url) ?? 1) - 1));
      }
    }
  }, 5);
}, 60_000);

/** The apps the load generator sends requests to: the one whose rollout runs. */
const loaded = new Set<string>();
const perRevisionInFlight = 4;

/** Starts a rollout of the app, with the load on it alone. */
function rollout(name: string, tag: string): Promise<string> {
  loaded.clear();
  loaded.add(name);
  return startRollout(e, name, tag);
}

afterAll(async () => {
  if (load) clearInterval(load);
  await e?.stop();
});

describe('analysis gates (real query clients, emulated Azure Monitor)', () => {
  it('rolls back a green whose error rate is above blue’s (Log Analytics)', async () => {
    const done = await untilDone(e, await rollout('g-errors', 'v2-err5'), 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/prePromotion gates failed: error-rate: /);
    const gate = done.gates.find((g) => g.name === 'error-rate');
    expect(gate).toMatchObject({ verdict: 'fail' });
    expect(gate!.value).toBeGreaterThan(0.02);
    expect(gate!.baseline).toBeLessThan(0.01);
  }, 90_000);

  it('promotes a healthy green through the same gate', async () => {
    const done = await untilDone(e, await rollout('g-errors', 'v3'), 60_000);
    expect(done.outcome).toBe('Succeeded');
    expect(done.gates.find((g) => g.name === 'error-rate')).toMatchObject({ verdict: 'pass' });
  }, 90_000);

  it('rolls back a green whose latency is far above blue’s (Azure Monitor metrics)', async () => {
    const done = await untilDone(e, await rollout('g-latency', 'v2-slow'), 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/latency: /);
    const gate = done.gates.find((g) => g.name === 'latency');
    expect(gate!.value).toBeGreaterThan(Number(gate!.baseline) * 1.5 + 50);
  }, 90_000);

  it('treats too few requests as inconclusive, and follows the policy: pass, or fail', async () => {
    const passed = await untilDone(e, await rollout('g-few', 'v2'), 60_000);
    expect(passed.outcome).toBe('Succeeded');
    expect(passed.timeline.map((t) => t.note ?? '').join(' ')).toMatch(
      /gate error-rate inconclusive, passed by policy/,
    );
    const failed = await untilDone(e, await rollout('g-few-fail', 'v2'), 60_000);
    expect(failed.outcome).toBe('RolledBack');
    expect(failed.reason).toMatch(/prePromotion gates inconclusive: error-rate: inconclusive/);
  }, 120_000);

  it('fails a gate whose provider keeps failing beyond consecutiveErrorLimit', async () => {
    const done = await untilDone(e, await rollout('g-down', 'v2'), 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/prom: .*provider kept failing/);
  }, 90_000);

  it('rolls back a promoted revision when a gate fails in the watch', async () => {
    const id = await rollout('g-watch', 'v2-err5');
    await untilPhase(e, id, 'Watching', 60_000);
    const done = await untilDone(e, id, 60_000);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/post-promotion watch failed: watch gate error-rate failed: .*last: /);
    expect(done.timeline.map((t) => t.phase)).toEqual(
      expect.arrayContaining(['Promoting', 'Watching', 'RollingBack']),
    );
  }, 90_000);
});
