import { api, decideThroughPage, listRollouts } from '../../local/client';
import {
  assertTrafficInvariant,
  getRollout,
  push,
  refOf,
  seed,
  serving,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';

const policies = [
  trafficPolicy('happy', {
    strategy: { type: 'traffic', steps: [10, 50, 100], stepPause: 'PT5M' },
    approval: { required: true, timeout: 'PT24H', onTimeout: 'rollback' },
  }),
  trafficPolicy('timeout', { approval: { required: true, timeout: 'PT2H', onTimeout: 'rollback' } }),
  trafficPolicy('reject', { approval: { required: true, timeout: 'PT2H', onTimeout: 'rollback' } }),
  trafficPolicy('bake', { bake: 'PT30M' }),
  trafficPolicy('steps', { strategy: { type: 'traffic', steps: [10, 50, 100], stepPause: 'PT2M' } }),
  trafficPolicy('crash'),
  trafficPolicy('smoke'),
  trafficPolicy('watch', { watch: { duration: 'PT30M', interval: 'PT1M' } }),
  trafficPolicy('abort', { bake: 'PT1H' }),
  trafficPolicy('supersede', { approval: { required: true, timeout: 'PT24H', onTimeout: 'rollback' } }),
  trafficPolicy('dedupe'),
  trafficPolicy('faults', { strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1M' } }),
];

let e: E2E;
/** Skips readiness polls and step pauses, but stops at the (longer) approval wait. */
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;

beforeAll(async () => {
  // The approvals here sign in as App Service authentication would (api.test.ts covers it switched off).
  e = await startE2E(policies, { env: { GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' } });
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

beforeEach(() => e.stack.runtime.setTimeSkipping(true));

function greenWeights(name: string, green: string): number[] {
  const weights = e.stack.emulator
    .trafficHistory(refOf(name))
    .map((c) => c.traffic.filter((t) => t.revisionName === green).reduce((n, t) => n + t.weight, 0));
  return weights.filter((w, i) => i === 0 || w !== weights[i - 1]);
}

describe('blue-green by traffic, end to end on the local runtime', () => {
  it('happy path: approval through the page, then 10 → 50 → 100', async () => {
    await seed(e, 'happy');
    e.stack.runtime.setTimeSkipping(withinAnHour);
    const id = await startRollout(e, 'happy', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    expect(waiting.approval.state).toBe('pending');
    expect(waiting.approval.pageUrl).toMatch(/\/api\/approvals\//);
    const { page, result } = await decideThroughPage(
      waiting.approval.pageUrl ?? '',
      'approve',
      'looks good',
      'alice@contoso.com',
    );
    expect(page).toContain('Promote happy?');
    expect(result.status).toBe(200);
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    expect(done.approval).toMatchObject({
      state: 'approved',
      decidedBy: 'alice@contoso.com',
      comment: 'looks good',
    });
    const green = done.green ?? '';
    expect(
      serving(e, 'happy')
        .filter((t) => t.weight > 0)
        .map((t) => [t.revisionName, t.weight]),
    ).toEqual([[green, 100]]);
    expect(greenWeights('happy', green)).toEqual([0, 10, 50, 100]);
    assertTrafficInvariant(e, 'happy');

    // The link is single use: opening it again says it was used, and changes nothing.
    const again = await fetch(waiting.approval.pageUrl ?? '', { headers: { accept: 'application/json' } });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { type: string }).type).toMatch(/approval-already-decided$/);
    await expect(decideThroughPage(waiting.approval.pageUrl ?? '', 'reject', 'again')).rejects.toThrow(
      /approval page answered 409/,
    );
    expect((await getRollout(e.gl, done.id)).approval).toMatchObject({
      state: 'approved',
      decidedBy: 'alice@contoso.com',
    });
  });

  it('approval timeout rolls back to the exact snapshot', async () => {
    await seed(e, 'timeout');
    const before = serving(e, 'timeout');
    const id = await startRollout(e, 'timeout', 'v2');
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect(done.approval.state).toBe('timedOut');
    expect(done.reason).toMatch(/approval/i);
    expect(serving(e, 'timeout')).toEqual(before);
    assertTrafficInvariant(e, 'timeout', { greenNeverServed: done.green });
  });

  it('a rejection rolls back', async () => {
    await seed(e, 'reject');
    const before = serving(e, 'reject');
    e.stack.runtime.setTimeSkipping(withinAnHour);
    const id = await startRollout(e, 'reject', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    const { result } = await decideThroughPage(
      waiting.approval.pageUrl ?? '',
      'reject',
      'not today',
      'bob@contoso.com',
    );
    expect(result.status).toBe(200);
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect(done.approval).toMatchObject({ state: 'rejected', decidedBy: 'bob@contoso.com' });
    expect(serving(e, 'reject')).toEqual(before);
    assertTrafficInvariant(e, 'reject', { greenNeverServed: done.green });
  });

  it('bake-only promotion waits out the bake, then promotes', async () => {
    await seed(e, 'bake');
    const started = e.clock.now();
    const id = await startRollout(e, 'bake', 'v2');
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    expect(done.timeline.map((t) => t.phase)).toContain('Baking');
    expect(e.clock.now() - started).toBeGreaterThanOrEqual(30 * 60_000);
    assertTrafficInvariant(e, 'bake');
  });

  it('stepped promotion shows 10, 50 and 100 in the emulator', async () => {
    await seed(e, 'steps');
    const id = await startRollout(e, 'steps', 'v2');
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    expect(greenWeights('steps', done.green ?? '')).toEqual([0, 10, 50, 100]);
    assertTrafficInvariant(e, 'steps');
  });

  it('a revision that fails to provision is rolled back before any traffic', async () => {
    await seed(e, 'crash');
    const before = serving(e, 'crash');
    const id = await startRollout(e, 'crash', 'v2-crash');
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/provision|failed|crash/i);
    expect(serving(e, 'crash')).toEqual(before);
    assertTrafficInvariant(e, 'crash', { greenNeverServed: done.green });
  });

  it('a smoke failure is rolled back before any traffic', async () => {
    await seed(e, 'smoke');
    const before = serving(e, 'smoke');
    const id = await startRollout(e, 'smoke', 'v2-depfail');
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/smoke checks failed.*dependencies/);
    expect(done.checks.smoke?.passed).toBe(false);
    expect(serving(e, 'smoke')).toEqual(before);
    assertTrafficInvariant(e, 'smoke', { greenNeverServed: done.green });
  });

  it('a failure in the post-promotion watch rolls back to blue', async () => {
    await seed(e, 'watch');
    const before = serving(e, 'watch');
    e.stack.runtime.setTimeSkipping(false);
    const id = await startRollout(e, 'watch', 'v2');
    // Readiness needs the clock to move: let it, until green is promoted and watched.
    e.stack.runtime.setTimeSkipping(true);
    const watching = await untilPhase(e, id, 'Watching');
    e.stack.runtime.setTimeSkipping(false);
    expect(watching.phase).toBe('Watching');
    e.stack.emulator.setRevisionHealth(refOf('watch'), watching.green ?? '', 'Unhealthy');
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/watch|health/i);
    expect(serving(e, 'watch')).toEqual(before);
    assertTrafficInvariant(e, 'watch');
  });

  it('abort mid-bake rolls back', async () => {
    await seed(e, 'abort');
    const before = serving(e, 'abort');
    e.stack.runtime.setTimeSkipping((next, now) => next - now < 30 * 60_000);
    const id = await startRollout(e, 'abort', 'v2');
    await untilPhase(e, id, 'Baking');
    e.stack.runtime.setTimeSkipping(false);
    const res = await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, { reason: 'wrong build' });
    expect(res.status).toBe(202);
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect(done.reason).toMatch(/abort/i);
    expect(serving(e, 'abort')).toEqual(before);
    const again = await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, {});
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
  });

  it('a newer image supersedes the running rollout', async () => {
    await seed(e, 'supersede');
    const before = serving(e, 'supersede');
    e.stack.runtime.setTimeSkipping(withinAnHour);
    const first = await startRollout(e, 'supersede', 'v2');
    await untilPhase(e, first, 'WaitingApproval');
    e.stack.runtime.setTimeSkipping(false);
    const second = await startRollout(e, 'supersede', 'v3');
    expect(second).not.toBe(first);
    e.stack.runtime.setTimeSkipping(withinAnHour);
    const firstDone = await untilDone(e, first);
    expect(firstDone.outcome).toBe('RolledBack');
    expect(firstDone.reason).toMatch(/supersed/i);
    // The newer rollout may already be deploying its own green at 0%: compare what serves.
    const weighted = (t: { revisionName: string; weight: number }[]) =>
      t.filter((x) => x.weight > 0).map((x) => [x.revisionName, x.weight]);
    expect(weighted(serving(e, 'supersede'))).toEqual(weighted(before));
    e.stack.runtime.setTimeSkipping(withinAnHour);
    const secondView = await untilPhase(e, second, 'WaitingApproval');
    expect(secondView.image).toContain(':v3');
  });

  it('a duplicate event for the same digest starts nothing new', async () => {
    await seed(e, 'dedupe');
    await push(e, 'dedupe', 'v2', 'evt-1');
    await push(e, 'dedupe', 'v2', 'evt-1');
    await push(e, 'dedupe', 'v2', 'evt-2');
    const rollouts = await listRollouts(e.gl, 'dedupe');
    expect(rollouts).toHaveLength(1);
    const done = await untilDone(e, rollouts[0]?.id ?? '');
    expect(done.outcome).toBe('Succeeded');
    await push(e, 'dedupe', 'v2', 'evt-3');
    expect(await listRollouts(e.gl, 'dedupe')).toHaveLength(1);
  });

  it('ARM throttling and 5xx during promotion do not break the rollout', async () => {
    await seed(e, 'faults');
    e.stack.runtime.setTimeSkipping(false);
    const id = await startRollout(e, 'faults', 'v2');
    e.stack.runtime.setTimeSkipping(true);
    await untilPhase(e, id, 'Promoting');
    e.stack.emulator.faults.throttle({ count: 2, method: 'PATCH', retryAfterMs: 20 });
    e.stack.emulator.faults.serverError({ count: 2, method: 'PATCH', status: 503 });
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    expect(greenWeights('faults', done.green ?? '')).toEqual([0, 50, 100]);
    assertTrafficInvariant(e, 'faults');
    const view = await getRollout(e.gl, id);
    expect(view.timeline.length).toBeGreaterThan(3);
  });
});
