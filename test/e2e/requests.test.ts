// Rollout requests from both triggers: what counts as the same request, and which images a policy allows.
import { api, imagePushedEvent, listRollouts, pushEvents } from '../../local/client';
import type { TriggerRecord } from '../../src/adapters/redis/rolloutStore';
import {
  digestOf,
  push,
  registry,
  seed,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';
import { newTestRedis } from '../support/redis';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const policies = [
  trafficPolicy('again'),
  trafficPolicy('retry', { approval }),
  trafficPolicy('noid'),
  trafficPolicy('batch'),
  trafficPolicy('lost'),
  trafficPolicy('guarded', { approval }),
  trafficPolicy('listed', {
    trigger: undefined,
    allowedImages: ['tools.azurecr.io/ops/*:v*'],
  }),
  trafficPolicy('closed', { trigger: undefined }),
];

let e: E2E;
beforeAll(async () => {
  e = await startE2E(policies);
  for (const name of ['again', 'retry', 'noid', 'batch', 'lost', 'guarded', 'listed', 'closed'])
    await seed(e, name);
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
// Timers within the hour run at once; the 24-hour approval timeout waits for the test.
beforeEach(() => e.stack.runtime.setTimeSkipping((next, now) => next - now < 3_600_000));

function ledger(): Promise<TriggerRecord[]> {
  const { services } = require('../../src/composition') as typeof import('../../src/composition');
  return services().store.triggers(1000);
}

async function rolloutsOf(app: string): Promise<string[]> {
  return (await listRollouts(e.gl, app)).map((r) => `${r.image.replace(/@.*$/, '').split(':').pop()}`);
}

function idlessPush(name: string, tag: string, at: string): Record<string, unknown> {
  const image = `${registry}/e2e/${name}:${tag}`;
  const event = imagePushedEvent({
    id: 'unused',
    registry,
    repository: `e2e/${name}`,
    tag,
    digest: digestOf(image),
  });
  delete event.id;
  return { ...event, eventTime: at };
}

describe('the same request, not the same image forever', () => {
  it('v2, then v3, then v2 again: three rollouts, and v2 serves at the end', async () => {
    await push(e, 'again', 'v2', 'again-1');
    const [first] = await listRollouts(e.gl, 'again');
    expect((await untilDone(e, first?.id ?? '')).outcome).toBe('Succeeded');
    // A redelivery and a repeat of the image that just succeeded are the same rollout.
    await push(e, 'again', 'v2', 'again-1');
    await push(e, 'again', 'v2', 'again-1b');
    expect(await rolloutsOf('again')).toEqual(['v2']);

    await push(e, 'again', 'v3', 'again-2');
    const v3 = (await listRollouts(e.gl, 'again')).find((r) => r.image.includes(':v3'));
    expect((await untilDone(e, v3?.id ?? '')).outcome).toBe('Succeeded');

    await push(e, 'again', 'v2', 'again-3');
    const all = await listRollouts(e.gl, 'again');
    expect(all).toHaveLength(3);
    const latest = all[0];
    expect(latest?.image).toContain(':v2');
    expect(latest?.id).not.toBe(first?.id);
    const done = await untilDone(e, latest?.id ?? '');
    expect(done.outcome).toBe('Succeeded');
    const served = e.stack.emulator.traffic({
      subscriptionId: done.app.subscriptionId,
      resourceGroup: done.app.resourceGroup,
      name: 'again',
    });
    expect(served.filter((t) => t.weight > 0).map((t) => t.revisionName)).toEqual([done.green]);
  });

  it('a request for a running image joins it; after a failed attempt the same image is a new rollout', async () => {
    const first = await startRollout(e, 'retry', 'v4');
    await untilPhase(e, first, 'WaitingApproval');
    const image = `${registry}/e2e/retry:v4`;
    const again = await api(e.gl, 'POST', '/api/rollouts', { app: 'retry', image, digest: digestOf(image) });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: first, admission: { kind: 'duplicate' } });
    // The push of the same build (tag and digest) while it runs is the same rollout too.
    await push(e, 'retry', 'v4', 'retry-push');
    expect(await listRollouts(e.gl, 'retry')).toHaveLength(1);

    await api(e.gl, 'POST', `/api/rollouts/${first}/abort`, { reason: 'transient fault' });
    const failed = await untilDone(e, first);
    expect(failed.outcome).toBe('RolledBack');
    const retried = await startRollout(e, 'retry', 'v4');
    expect(retried).not.toBe(first);
    const view = await untilPhase(e, retried, 'WaitingApproval');
    expect(view.phase).toBe('WaitingApproval');
    // Its own revision: the first attempt's green was rolled back.
    expect(view.green).toBeDefined();
    expect(view.green).not.toBe(failed.green);
    await api(e.gl, 'POST', `/api/rollouts/${retried}/abort`, {});
    expect((await untilDone(e, retried)).outcome).toBe('RolledBack');
  });

  it('events without an id are deduplicated by content, not forever', async () => {
    const t0 = '2026-12-01T10:00:00Z';
    expect((await pushEvents(e.gl, [idlessPush('noid', 'v2', t0)])).status).toBe(202);
    expect((await pushEvents(e.gl, [idlessPush('noid', 'v2', t0)])).status).toBe(202);
    const [first] = await listRollouts(e.gl, 'noid');
    expect(await rolloutsOf('noid')).toEqual(['v2']);
    await untilDone(e, first?.id ?? '');
    await pushEvents(e.gl, [idlessPush('noid', 'v3', '2026-12-01T11:00:00Z')]);
    const v3 = (await listRollouts(e.gl, 'noid'))[0];
    expect(v3?.image).toContain(':v3');
    await untilDone(e, v3?.id ?? '');
    // A later id-less push of v2 is a new push, not "(no id)" seen a week ago.
    await pushEvents(e.gl, [idlessPush('noid', 'v2', '2026-12-01T12:00:00Z')]);
    expect(await rolloutsOf('noid')).toEqual(['v2', 'v3', 'v2']);
  });

  it('an image rolled out before is rolled out anew even when the record of the latest rollout is lost', async () => {
    const first = await startRollout(e, 'lost', 'v2');
    expect((await untilDone(e, first)).outcome).toBe('Succeeded');
    await startRollout(e, 'lost', 'v3').then((id) => untilDone(e, id));
    const redis = newTestRedis();
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(
          cursor,
          'MATCH',
          `${e.stack.keyPrefix}*lost*:latest`,
          'COUNT',
          1000,
        );
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys).toHaveLength(1);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    const again = await startRollout(e, 'lost', 'v2');
    expect(again).not.toBe(first);
    expect((await untilDone(e, again)).outcome).toBe('Succeeded');
    expect(await rolloutsOf('lost')).toEqual(['v2', 'v3', 'v2']);
  });

  it('a subscription validation event in a batch does not drop the pushes beside it', async () => {
    const image = `${registry}/e2e/batch:v2`;
    const res = await pushEvents(e.gl, [
      {
        id: 'validate-1',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        subject: '',
        eventTime: new Date().toISOString(),
        dataVersion: '1',
        data: { validationCode: 'code-123' },
      },
      imagePushedEvent({
        id: 'batch-1',
        registry,
        repository: 'e2e/batch',
        tag: 'v2',
        digest: digestOf(image),
      }),
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: 'code-123' });
    expect(await rolloutsOf('batch')).toEqual(['v2']);
  });
});

describe('images the policy allows', () => {
  it.each([
    ['evil.example.com/malware:latest'],
    ['docker.io/library/nginx:latest'],
    ['localhost:5000/x:1'],
    [`${registry}/e2e/other-app:v2`],
  ])('refuses %s with 403 naming the rule; nothing started or superseded; recorded', async (image) => {
    const running = await startRollout(e, 'guarded', 'v2');
    await untilPhase(e, running, 'WaitingApproval');
    const res = await api(e.gl, 'POST', '/api/rollouts', { app: 'guarded', image });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const p = (await res.json()) as { type: string; rule: string; detail: string };
    expect(p.type).toMatch(/image-not-allowed$/);
    expect(p.rule).toMatch(/^trigger \(registry e2eacr\.azurecr\.io, repository 'e2e\/guarded'/);
    expect(p.detail).toContain(image.split(':')[0]);
    const all = await listRollouts(e.gl, 'guarded');
    expect(all.map((r) => r.id)).toEqual([running]);
    expect((await untilPhase(e, running, 'WaitingApproval')).phase).toBe('WaitingApproval');
    expect((await ledger()).find((t) => t.app === 'guarded' && t.image === image)).toMatchObject({
      source: 'http',
      decision: 'refused',
      detail: expect.stringContaining('trigger'),
    });
  });

  it('allows an image an allowedImages glob lists, and nothing else', async () => {
    const ok = await api(e.gl, 'POST', '/api/rollouts', {
      app: 'listed',
      image: 'tools.azurecr.io/ops/runner:v7',
    });
    expect(ok.status).toBe(202);
    const refused = await api(e.gl, 'POST', '/api/rollouts', {
      app: 'listed',
      image: 'tools.azurecr.io/ops/runner:latest',
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { rule: string }).rule).toBe(
      "allowedImages ('tools.azurecr.io/ops/*:v*')",
    );
    expect(await listRollouts(e.gl, 'listed')).toHaveLength(1);
  });

  it('a policy with neither trigger nor allowedImages allows no image over HTTP', async () => {
    const res = await api(e.gl, 'POST', '/api/rollouts', {
      app: 'closed',
      image: `${registry}/e2e/closed:v2`,
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { rule: string }).rule).toBe('no trigger and no allowedImages');
    expect(await listRollouts(e.gl, 'closed')).toHaveLength(0);
  });
});
