import type { DurableOrchestrationStatus } from 'durable-functions';
import { releaseMembersTable, releasesSection } from '../../src/functions/pages/releasePage';
import { summarizeRelease, toReleaseView } from '../../src/services/releaseView';

const input = {
  releaseId: 'shop-1',
  plan: { name: 'shop' },
  members: [
    { app: 'api', rolloutId: 'shop-1:api', input: { image: 'acr.io/shop/api:v2' } },
    { app: 'worker', rolloutId: 'shop-1:worker', input: { image: 'acr.io/shop/worker:v2' } },
  ],
};

function status(over: Partial<DurableOrchestrationStatus>): DurableOrchestrationStatus {
  return {
    name: 'releaseOrchestrator',
    instanceId: 'shop-1',
    runtimeStatus: 'Running',
    createdTime: new Date('2026-03-02T09:00:00Z'),
    lastUpdatedTime: new Date('2026-03-02T09:05:00Z'),
    input,
    customStatus: undefined,
    output: undefined,
    history: [],
    ...over,
  } as unknown as DurableOrchestrationStatus;
}

describe('a release as the API shows it', () => {
  it('before its first step: Queued, members and images from the input', () => {
    const v = toReleaseView(status({}));
    expect(v).toMatchObject({ id: 'shop-1', name: 'shop', phase: 'Queued', done: false });
    expect(v.members).toEqual([
      { app: 'api', rolloutId: 'shop-1:api', promoted: false, image: 'acr.io/shop/api:v2' },
      { app: 'worker', rolloutId: 'shop-1:worker', promoted: false, image: 'acr.io/shop/worker:v2' },
    ]);
    expect(summarizeRelease(v)).toBe('shop-1 [Queued] shop api=pending worker=pending');
  });

  it('a crashed orchestration says so with its error; a decided approval has no link', () => {
    const custom = {
      releaseId: 'shop-1',
      name: 'shop',
      phase: 'Promoting',
      members: [{ app: 'api', rolloutId: 'shop-1:api', promoted: true }],
      approval: { state: 'approved', pageUrl: 'https://x/api/approvals/shop-1?token=t', by: 'alice' },
      timeline: [],
    };
    const v = toReleaseView(
      status({ runtimeStatus: 'Failed' as never, customStatus: custom, output: 'boom' }),
    );
    expect(v).toMatchObject({ phase: 'Crashed', reason: 'boom', done: true });
    expect(v.approval).toEqual({ state: 'approved', by: 'alice' });
  });
});

describe('release pages', () => {
  it('escape what they show and list each member before → after', () => {
    const v = toReleaseView(status({}));
    v.members[0]!.app = '<b>api</b>';
    const html = releaseMembersTable(v, [
      { app: '<b>api</b>', blueImage: 'acr.io/shop/api:v1', conditions: {} },
    ]);
    expect(html).toContain('&lt;b&gt;api&lt;/b&gt;');
    expect(html).not.toContain('<b>api</b>');
    expect(html).toContain('<code>acr.io/shop/api:v1</code> → <code>acr.io/shop/api:v2</code>');
    expect(html).toContain('not started');
  });

  it('the dashboard section is empty without releases and links each member rollout', () => {
    expect(releasesSection([])).toBe('');
    const html = releasesSection([toReleaseView(status({}))]);
    expect(html).toContain('<h2>Releases</h2>');
    expect(html).toContain('href="/api/dashboard/rollouts/shop-1%3Aworker"');
  });
});
