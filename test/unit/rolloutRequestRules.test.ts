import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { HttpRequest } from '@azure/functions';
import { parseEvent } from '../../src/domain/events';
import { parseImage, sameImage, type ImageRef } from '../../src/domain/image';
import { parsePolicies } from '../../src/domain/policy';
import { imageAllowed } from '../../src/domain/request/allowed';
import { duplicateOf, justFinishedMs, type PriorRollout } from '../../src/domain/request/duplicate';
import { buildRolloutInput, rolloutIdFor } from '../../src/domain/request/plan';
import { actorOf, approverOf, badId } from '../../src/functions/http/request';
import { loadSecret } from '../../local/runtime/keys';

function image(text: string, digest?: string): ImageRef {
  const parsed = parseImage(text, digest);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.image;
}

const [policy] = parsePolicies(`
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: shop }
trigger: { registry: contoso.azurecr.io, repository: 'shop/*', tags: ['v*', '!*-rc*'] }
allowedImages: ['contoso.azurecr.io/tools/*:v*']
strategy: { type: traffic, steps: [100] }
`);
const [closed] = parsePolicies(`
app: { subscriptionId: 11111111-2222-3333-4444-555555555555, resourceGroup: rg-a, name: closed }
strategy: { type: traffic, steps: [100] }
`);
const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('the image value', () => {
  it('is parsed once with registry, repository, tag and digest', () => {
    expect(image('Contoso.azurecr.io/shop/web:v2', d('a'))).toEqual({
      registry: 'contoso.azurecr.io',
      repository: 'shop/web',
      tag: 'v2',
      digest: d('a'),
      reference: 'Contoso.azurecr.io/shop/web:v2',
    });
  });

  it.each([
    ['web:v2', undefined, /registry, a repository and a tag/],
    ['contoso.azurecr.io/web', undefined, /registry, a repository and a tag/],
    ['contoso.azurecr.io/web:v2', 'sha256:xyz', /digest must be sha256/],
    [`contoso.azurecr.io/web@${d('a')}`, d('b'), /differs from the digest/],
    [`contoso.azurecr.io/${'a'.repeat(1100)}:v1`, undefined, /at most 1024/],
  ])('refuses %p (digest %p)', (text, digest, message) => {
    const parsed = parseImage(text, digest);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it('is the same image by digest when both know it, else by registry, repository and tag', () => {
    expect(sameImage(image('a.io/web:v2', d('a')), image('a.io/web:v2-again', d('a')))).toBe(true);
    expect(sameImage(image('a.io/web:v2', d('a')), image('a.io/web:v2', d('b')))).toBe(false);
    expect(sameImage(image('a.io/web:v2', d('a')), image('A.IO/web:v2'))).toBe(true);
    expect(sameImage(image('a.io/web:v2'), image('a.io/web:v3'))).toBe(false);
    expect(sameImage(image(`a.io/web@${d('a')}`), image('a.io/web:v2'))).toBe(false);
  });
});

describe('a repeated request', () => {
  const v2 = image('contoso.azurecr.io/shop/web:v2', d('2'));
  const v3 = image('contoso.azurecr.io/shop/web:v3', d('3'));
  const now = 10_000_000;
  const prior = (img: ImageRef, state: PriorRollout['state'], finishedAt?: number): PriorRollout => ({
    rolloutId: `r-${img.tag}-${state}`,
    image: img,
    state,
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  });

  it('joins a running or queued rollout of the same image', () => {
    expect(duplicateOf(v2, { active: [prior(v2, 'running')] }, now)).toBe('r-v2-running');
    expect(duplicateOf(v2, { active: [prior(v3, 'running'), prior(v2, 'queued')] }, now)).toBe('r-v2-queued');
    expect(duplicateOf(v2, { active: [prior(v3, 'running')] }, now)).toBeUndefined();
  });

  it('joins the latest rollout when it succeeded moments ago, not later', () => {
    const latest = prior(v2, 'succeeded', now - 60_000);
    expect(duplicateOf(v2, { active: [], latest }, now)).toBe('r-v2-succeeded');
    const old = prior(v2, 'succeeded', now - justFinishedMs - 1);
    expect(duplicateOf(v2, { active: [], latest: old }, now)).toBeUndefined();
  });

  it('is a new rollout after a failed attempt or after another image', () => {
    expect(duplicateOf(v2, { active: [], latest: prior(v2, 'failed', now - 1000) }, now)).toBeUndefined();
    expect(duplicateOf(v2, { active: [], latest: prior(v3, 'succeeded', now - 1000) }, now)).toBeUndefined();
  });

  it('gets an id and a revision of its own when it follows another rollout', () => {
    const first = buildRolloutInput(policy!, v2, { kind: 'http' });
    const again = buildRolloutInput(policy!, v2, { kind: 'http' }, { after: 'shop-aaaaaaaaaaaa' });
    expect(first.rolloutId).toBe(rolloutIdFor(policy!, v2));
    expect(again.rolloutId).not.toBe(first.rolloutId);
    expect(again.revisionSuffix).not.toBe(first.revisionSuffix);
    expect(again.revisionSuffix).toMatch(/^gl-v2-[0-9a-f]{8}$/);
    // Deterministic: two racing requests after the same rollout name the same instance.
    expect(buildRolloutInput(policy!, v2, { kind: 'http' }, { after: 'shop-aaaaaaaaaaaa' }).rolloutId).toBe(
      again.rolloutId,
    );
  });
});

describe('images a policy allows over HTTP', () => {
  it.each([
    ['contoso.azurecr.io/shop/web:v2', 'trigger'],
    ['contoso.azurecr.io/tools/runner:v1', "allowedImages 'contoso.azurecr.io/tools/*:v*'"],
  ])('allows %s by %s', (text, rule) => {
    expect(imageAllowed(policy!, image(text))).toEqual({ allowed: true, rule });
  });

  it.each([
    'evil.example.com/malware:latest',
    'docker.io/library/nginx:latest',
    'localhost:5000/x:1',
    'contoso.azurecr.io/shop/web:v2-rc1',
    'contoso.azurecr.io/shop/web:latest',
    'contoso.azurecr.io/other/web:v2',
  ])('refuses %s naming the rules', (text) => {
    const verdict = imageAllowed(policy!, image(text));
    expect(verdict).toMatchObject({
      allowed: false,
      rule: "trigger (registry contoso.azurecr.io, repository 'shop/*', tags 'v*', '!*-rc*') or allowedImages ('contoso.azurecr.io/tools/*:v*')",
    });
  });

  it('a policy with neither allows nothing', () => {
    expect(imageAllowed(closed!, image('contoso.azurecr.io/closed:v1'))).toMatchObject({
      allowed: false,
      rule: 'no trigger and no allowedImages',
    });
  });
});

describe('external event payloads', () => {
  it('accepts what the routes raise', () => {
    expect(
      parseEvent('approval', {
        decision: 'approve',
        approver: 'a@b.c',
        decidedAt: '2026-01-01T00:00:00.000Z',
      }),
    ).toMatchObject({ ok: true });
    expect(parseEvent('abort', { by: 'function key #12345678', reason: 'x' })).toMatchObject({ ok: true });
    expect(parseEvent('promote', { by: 'greenlight' })).toMatchObject({ ok: true });
  });

  it.each([['x'], [{}], [null], [{ decision: 'maybe' }], [{ decision: 'approve' }], [42]])(
    'an approval payload %p is a problem, never a decision',
    (payload) => {
      const parsed = parseEvent('approval', payload);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.problem).toMatch(/^malformed 'approval' event ignored: /);
    },
  );

  it('never throws, and accepts only payloads of the schema, for any name and payload', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom('approval', 'abort', 'promote'), fc.string()),
        fc.jsonValue(),
        (name, payload) => {
          const parsed = parseEvent(name, payload);
          if (parsed.ok) {
            expect(['approval', 'abort', 'promote']).toContain(name);
            expect(typeof payload).toBe('object');
          }
        },
      ),
      { seed: 7, numRuns: 1000 },
    );
  });
});

describe('who acted', () => {
  const req = (headers: Record<string, string>, query = '') =>
    new HttpRequest({ method: 'POST', url: `http://h/api/rollouts/x/abort${query}`, headers });

  it('is the platform principal only when the app trusts it', () => {
    const headers = { 'x-ms-client-principal-name': 'carol@contoso.com', 'x-functions-key': 'k1' };
    expect(actorOf(req(headers), true)).toBe('carol@contoso.com');
    expect(actorOf(req(headers), false)).toMatch(/^function key #[0-9a-f]{8}$/);
    expect(approverOf(req(headers), false, undefined)).toBe('approval link holder');
  });

  it('is the calling key by fingerprint, from the header or ?code=, never its value nor a claimed name', () => {
    const byHeader = actorOf(
      req({ 'x-functions-key': 'secret-key', 'x-greenlight-actor': 'mallory' }),
      false,
    );
    expect(byHeader).toBe(actorOf(req({}, '?code=secret-key'), false));
    expect(byHeader).not.toContain('secret-key');
    expect(byHeader).not.toContain('mallory');
    expect(actorOf(req({ 'x-functions-key': 'other-key' }), false)).not.toBe(byHeader);
  });

  it.each(['%', '', 'a/b', 'a'.repeat(101), ' x', 'x\u0000'])('refuses the id %p', (id) => {
    expect(badId(id)?.status).toBe(400);
  });
  it.each(['web-0123456789ab', 'ghost', 'a'.repeat(100), 'web-1:watch'])('accepts the id %p', (id) => {
    expect(badId(id)).toBeUndefined();
  });
});

describe('npm start keeps its approval signing key', () => {
  it('creates it once (mode 0600) and reads the same key after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gl-secret-'));
    try {
      const file = join(dir, 'nested', 'approval-signing-key');
      const first = await loadSecret(file);
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(await loadSecret(file)).toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
