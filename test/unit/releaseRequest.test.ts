import { parsePolicySet } from '../../src/domain/policy';
import { resolveRelease, sortReleases } from '../../src/services/releaseRequest';

const { policies, releases } = parsePolicySet(`
name: api
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: api }
trigger: { registry: contoso.azurecr.io, repository: shop/api, tags: ['v*'] }
strategy: { type: traffic, steps: [50, 100], stepPause: PT1M }
---
name: worker
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: worker }
allowedImages: ['contoso.azurecr.io/shop/worker:*']
strategy: { type: traffic, steps: [100] }
---
kind: Release
name: shop
members: [api, worker]
`);

const ok = { api: 'contoso.azurecr.io/shop/api:v2', worker: 'contoso.azurecr.io/shop/worker:v2' };

describe('checking a release request against the policies', () => {
  it('resolves every member image, in member order', () => {
    const r = resolveRelease(releases, policies, { release: 'shop', images: ok }, { checkAllowed: true });
    if (!r.ok) throw new Error(r.problem.detail);
    expect(Object.keys(r.value.images)).toEqual(['api', 'worker']);
    expect(r.value.images.api).toMatchObject({ repository: 'shop/api', tag: 'v2' });
  });

  it('an unknown release is 404 naming the field and the releases there are', () => {
    const r = resolveRelease(releases, policies, { release: 'shoe', images: ok }, { checkAllowed: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem).toMatchObject({
      status: 404,
      type: 'unknown-release',
      problems: [{ field: 'release' }],
    });
    expect(r.problem.detail).toContain('known releases: shop');
  });

  it('lists every shape problem at once: a missing member, a stranger, a bad reference', () => {
    const r = resolveRelease(
      releases,
      policies,
      { release: 'shop', images: { api: 'api:v2', billing: 'contoso.azurecr.io/billing:v1' } },
      { checkAllowed: true },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.status).toBe(400);
    expect(r.problem.problems.map((p) => p.field).sort()).toEqual([
      'images.api',
      'images.billing',
      'images.worker',
    ]);
    expect(r.problem.detail).toMatch(/images\.worker: missing: every member needs an image/);
    expect(r.problem.detail).toMatch(
      /'billing' is not a member of release shop; its members are api, worker/,
    );
  });

  it('an image its member policy does not allow is 403 naming the member; pushes skip that check', () => {
    const images = { ...ok, api: 'contoso.azurecr.io/shop/api:rc1' };
    const r = resolveRelease(releases, policies, { release: 'shop', images }, { checkAllowed: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem).toMatchObject({
      status: 403,
      type: 'image-not-allowed',
      problems: [{ field: 'images.api' }],
    });
    expect(resolveRelease(releases, policies, { release: 'shop', images }, { checkAllowed: false }).ok).toBe(
      true,
    );
  });

  it('takes a gathered image with its digest', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const r = resolveRelease(
      releases,
      policies,
      { release: 'shop', images: { api: { image: ok.api, digest }, worker: { image: ok.worker } } },
      { checkAllowed: false },
    );
    if (!r.ok) throw new Error(r.problem.detail);
    expect(r.value.images.api?.digest).toBe(digest);
  });
});

describe('listing releases', () => {
  it('puts running releases first, then the newest', () => {
    const list = sortReleases([
      { id: 'a', done: true, createdAt: '2026-01-03T00:00:00Z' },
      { id: 'b', done: false, createdAt: '2026-01-01T00:00:00Z' },
      { id: 'c', done: true, createdAt: '2026-01-04T00:00:00Z' },
      { id: 'd', done: false, createdAt: '2026-01-02T00:00:00Z' },
    ]);
    expect(list.map((v) => v.id)).toEqual(['d', 'b', 'c', 'a']);
  });
});
