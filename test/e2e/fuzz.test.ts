// Fuzz: generated bad input on every surface of the running app (seeded, bounded). For each surface:
// no 5xx (the one documented 503 — a dependency down — never happens here), no crash, no state change
// (instances, app locks, queues, spent nonces, remembered events; the trigger ledger gains refusals only),
// and no stack trace or secret (system key, master key, signing key) in any response.
import fc from 'fast-check';
import { signApprovalToken } from '../../src/domain/approvalToken';
import type { TriggerRecord } from '../../src/adapters/redis/rolloutStore';
import {
  anyBody,
  anyJson,
  badDigest,
  foreignImage,
  fuzzParams,
  fuzzRuns,
  malformedImage,
  nastyString,
  segment,
  unknownId,
} from '../fuzz/arbitraries';
import { newTestRedis } from '../support/redis';
import { registry, seed, startE2E, startRollout, trafficPolicy, untilPhase, type E2E } from './support';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
let e: E2E;
let waiting: string;
let approvePage: string;
const redis = newTestRedis();

beforeAll(async () => {
  e = await startE2E([trafficPolicy('fz', { approval })]);
  await seed(e, 'fz');
  e.stack.runtime.setTimeSkipping((next, now) => next - now < 3_600_000);
  waiting = await startRollout(e, 'fz', 'v2');
  approvePage = (await untilPhase(e, waiting, 'WaitingApproval')).approval.pageUrl ?? '';
  // Nothing moves on its own while the fuzz runs: any change is the fuzz's doing.
  e.stack.runtime.setTimeSkipping(false);
  await e.stack.runtime.whenIdle();
}, 60_000);
afterAll(async () => {
  redis.disconnect();
  await e?.stop();
});

const refusals = new Set(['refused', 'unmatched', 'invalid']);
const auditedRefusals = new Set(['admission.rejected', 'admission.invalid']);
// About 5 s per surface on an idle machine; the bound leaves room for a loaded shared one.
const surfaceTimeout = 240_000;

/**
 * Everything under the stack's prefix except the ledger and the audit trail, and the ledger's decisions
 * and the audit entries' kinds separately (both may gain refusals, nothing else).
 */
async function state(): Promise<{ keys: Record<string, string>; ledger: TriggerRecord[]; audit: string[] }> {
  const keys: Record<string, string> = {};
  const audit: string[] = [];
  let ledgerKey = '';
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${e.stack.keyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of batch) {
      if (k.includes(':audit:')) {
        if (k.includes(':audit:app:')) {
          for (const [, f] of await redis.xrange(k, '-', '+')) {
            audit.push((JSON.parse(f[f.indexOf('e') + 1] ?? '{}') as { kind?: string }).kind ?? '?');
          }
        }
        continue;
      }
      const type = await redis.type(k);
      if (type === 'stream') {
        if (k.endsWith(':ledger')) ledgerKey = k;
        keys[k] = `stream:${await redis.xlen(k)}`;
      } else if (type === 'string') keys[k] = (await redis.get(k)) ?? '';
      else if (type === 'hash') keys[k] = JSON.stringify(await redis.hgetall(k));
      else if (type === 'list') keys[k] = JSON.stringify(await redis.lrange(k, 0, -1));
      else if (type === 'set') keys[k] = JSON.stringify((await redis.smembers(k)).sort());
      else if (type === 'zset') keys[k] = JSON.stringify(await redis.zrange(k, 0, -1, 'WITHSCORES'));
      else keys[k] = type;
    }
  } while (cursor !== '0');
  const ledger = ledgerKey
    ? (await redis.xrange(ledgerKey, '-', '+')).map(([, f]) => JSON.parse(f[1] ?? '{}') as TriggerRecord)
    : [];
  if (ledgerKey) delete keys[ledgerKey];
  return { keys, ledger, audit: audit.sort() };
}

interface Tally {
  sent: number;
  statuses: Record<number, number>;
}

function secrets(): string[] {
  return [
    e.stack.runtime.keys.system,
    e.stack.runtime.keys.master,
    process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? 'unset',
  ];
}

/** Sends one request and checks the reply; returns a reason when the reply breaks a rule. */
async function check(tally: Tally, url: string, init: RequestInit): Promise<void> {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  const text = await res.text();
  tally.sent++;
  tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
  const where = `${init.method ?? 'GET'} ${url.slice(0, 200)} → ${res.status}: ${text.slice(0, 300)}`;
  if (res.status >= 500) throw new Error(`5xx: ${where}`);
  for (const s of secrets()) if (text.includes(s)) throw new Error(`secret in response: ${where}`);
  if (/\n\s+at .+:\d+:\d+/.test(text) || /node_modules|\/work\//.test(text))
    throw new Error(`stack trace or path in response: ${where}`);
  if (res.status >= 400 && res.status !== 405 && text.length > 0) {
    if (!(res.headers.get('content-type') ?? '').includes('problem+json') && !text.startsWith('<!doctype')) {
      throw new Error(`error without problem+json: ${where}`);
    }
  }
}

async function fuzz(
  surface: string,
  arbitrary: fc.Arbitrary<{ url: string; init: RequestInit }>,
): Promise<Tally> {
  const before = await state();
  const tally: Tally = { sent: 0, statuses: {} };
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(arbitrary, async ({ url, init }) => {
      await check(tally, url, init);
    }),
    fuzzParams,
  );
  await e.stack.runtime.whenIdle();
  const after = await state();
  expect(after.keys).toEqual(before.keys);
  const added = after.ledger.slice(before.ledger.length);
  expect(added.filter((r) => !refusals.has(r.decision))).toEqual([]);
  // The audit trail records each refusal too, and nothing else.
  const audited = [...after.audit];
  for (const kind of before.audit) audited.splice(audited.indexOf(kind), 1);
  expect(audited.filter((k) => !auditedRefusals.has(k))).toEqual([]);
  // The rollout the fuzz aimed at still waits for its approval, untouched.
  const view = (await (
    await fetch(`${e.gl.baseUrl}/api/rollouts/${waiting}`, {
      headers: { 'x-functions-key': e.gl.functionKey },
    })
  ).json()) as { phase: string; approval: { state: string } };
  expect(view).toMatchObject({ phase: 'WaitingApproval', approval: { state: 'pending' } });
  process.stdout.write(
    `fuzz ${surface}: ${tally.sent} inputs in ${Date.now() - started} ms, statuses ${JSON.stringify(tally.statuses)}, ledger +${added.length} refusals\n`,
  );
  return tally;
}

const key = () => ({ 'x-functions-key': e.gl.functionKey });

describe('fuzz: every surface refuses bad input without a 5xx, a leak or a change', () => {
  it(
    'rollout bodies (POST /api/rollouts)',
    async () => {
      // Names that could select the policy ('FZ', ' fz ', its resource path) are the policy's own.
      const notTheApp = nastyString.filter((a) => a.trim().toLowerCase() !== 'fz' && !a.includes('/'));
      const body = fc.oneof(
        anyBody,
        // Well-formed requests for images the policy does not allow: 403, recorded as refused.
        foreignImage.map((image) => JSON.stringify({ app: 'fz', image })),
        // An allowed image for an app no policy names: 404.
        notTheApp.map((app) => JSON.stringify({ app, image: `${registry}/e2e/fz:v9` })),
        fc
          .record(
            {
              app: fc.oneof(fc.constant('fz'), nastyString, anyJson),
              image: fc.oneof(foreignImage, malformedImage, anyJson),
              digest: fc.oneof(badDigest, anyJson),
              extra: anyJson,
            },
            { requiredKeys: [] },
          )
          .map((o) => JSON.stringify(o)),
      );
      const headers = fc.oneof(
        fc.constant({ ...key(), 'content-type': 'application/json' }),
        fc.constant({ ...key() }),
        fc.constant({ 'content-type': 'application/json' }),
        fc.record({ 'x-functions-key': nastyString.map((s) => s.replace(/[^\x20-\x7e]/g, '')) }),
        fc.constant({ ...key(), 'content-type': 'text/plain', 'x-ms-client-principal-name': 'root' }),
      );
      const tally = await fuzz(
        'rollout bodies',
        fc.tuple(body, headers).map(([b, h]) => ({
          url: `${e.gl.baseUrl}/api/rollouts`,
          init: { method: 'POST', headers: h, body: b },
        })),
      );
      expect(tally.sent).toBeGreaterThanOrEqual(fuzzRuns);
    },
    surfaceTimeout,
  );

  it(
    'rollout ids and control requests (GET /api/rollouts/{id}, abort, promote)',
    async () => {
      const ids = unknownId([waiting]);
      const request = fc.oneof(
        // The waiting rollout is only read; unknown and malformed ids get every method and body.
        fc.tuple(fc.constantFrom(waiting), nastyString).map(([i, q]) => ({
          url: `${e.gl.baseUrl}/api/rollouts/${i}?${new URLSearchParams({ q }).toString()}`,
          init: { method: 'GET', headers: key() } as RequestInit,
        })),
        fc.tuple(ids, fc.boolean()).map(([i, raw]) => ({
          url: `${e.gl.baseUrl}/api/rollouts/${segment(i, raw)}`,
          init: { method: 'GET', headers: key() } as RequestInit,
        })),
        fc
          .tuple(ids, fc.oneof(fc.constantFrom('abort', 'promote'), nastyString), anyBody, fc.boolean())
          .map(([i, action, body, raw]) => ({
            url: `${e.gl.baseUrl}/api/rollouts/${segment(i, raw)}/${segment(action, raw)}`,
            init: {
              method: 'POST',
              headers: { ...key(), 'content-type': 'application/json' },
              body,
            } as RequestInit,
          })),
        fc.record({ app: nastyString, status: nastyString }, { requiredKeys: [] }).map((q) => ({
          url: `${e.gl.baseUrl}/api/rollouts?${new URLSearchParams(q).toString()}`,
          init: { method: 'GET', headers: key() } as RequestInit,
        })),
      );
      const tally = await fuzz('rollout ids and control requests', request);
      expect(tally.sent).toBeGreaterThanOrEqual(fuzzRuns);
    },
    surfaceTimeout,
  );

  it(
    'Event Grid deliveries (POST /runtime/webhooks/eventgrid)',
    async () => {
      const pushLike = fc.record(
        {
          id: fc.oneof(nastyString, anyJson),
          eventType: fc.oneof(
            fc.constant('Microsoft.ContainerRegistry.ImagePushed'),
            fc.constant('Microsoft.EventGrid.SubscriptionValidationEvent'),
            nastyString,
          ),
          type: fc.oneof(fc.constant('Microsoft.ContainerRegistry.ImagePushed'), nastyString),
          specversion: fc.constantFrom('1.0', 1, null),
          topic: fc.oneof(nastyString, fc.constant('/subscriptions/s/providers/x/registries/e2eacr')),
          eventTime: fc.oneof(nastyString, anyJson),
          data: fc.oneof(
            anyJson,
            fc.record(
              {
                validationCode: fc.oneof(nastyString, anyJson),
                target: fc.oneof(
                  anyJson,
                  fc.record(
                    {
                      // The policy's own repository only ever with a digest it cannot deploy.
                      repository: fc.oneof(
                        nastyString.filter((r) => r !== 'e2e/fz'),
                        fc.constantFrom('e2e/other', 'e2e/fz/sub', 'E2E/FZ'),
                      ),
                      tag: fc.oneof(nastyString, anyJson),
                      digest: fc.oneof(badDigest, anyJson),
                    },
                    { requiredKeys: [] },
                  ),
                  fc.record({ repository: fc.constant('e2e/fz'), tag: nastyString, digest: badDigest }),
                ),
                request: fc.oneof(
                  anyJson,
                  fc.record({ host: fc.oneof(nastyString, fc.constant(registry), anyJson) }),
                ),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      );
      const delivery = fc.oneof(
        anyBody,
        fc.array(pushLike, { maxLength: 4 }).map((a) => JSON.stringify(a)),
        pushLike.map((p) => JSON.stringify(p)),
      );
      const auth = fc.oneof(
        { arbitrary: fc.constant(`code=${encodeURIComponent(e.stack.runtime.keys.system)}`), weight: 4 },
        fc.constant(`code=${encodeURIComponent(e.gl.functionKey)}`),
        nastyString.map((s) => `code=${encodeURIComponent(s)}`),
      );
      const fn = fc.oneof({ arbitrary: fc.constant('imagePushed'), weight: 4 }, nastyString);
      const contentType = fc.constantFrom(
        'application/json',
        'application/cloudevents+json',
        'application/cloudevents-batch+json',
        'text/plain',
      );
      const tally = await fuzz(
        'Event Grid deliveries',
        fc.tuple(delivery, auth, fn, contentType, fc.boolean()).map(([body, a, f, ct, handshake]) => ({
          url: `${e.gl.baseUrl}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(f)}&${a}`,
          init: {
            method: 'POST',
            headers: {
              'content-type': ct,
              ...(handshake ? { 'aeg-event-type': 'SubscriptionValidation' } : {}),
            },
            body,
          },
        })),
      );
      expect(tally.sent).toBeGreaterThanOrEqual(fuzzRuns);
    },
    surfaceTimeout,
  );

  it(
    'approval decisions and tokens (GET and POST /api/approvals/{id})',
    async () => {
      const realKey = process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? '';
      const claims = fc.record({
        rolloutId: fc.oneof(fc.constant(waiting), nastyString),
        decision: fc.constantFrom('approve' as const, 'reject' as const),
        expiresAt: fc.oneof(fc.integer(), fc.constant(Date.now() + 3_600_000)),
        nonce: nastyString,
      });
      const token = fc.oneof(
        nastyString,
        fc.tuple(nastyString, nastyString).map(([a, b]) => `${a}.${b}`),
        // Well-formed, signed with a key that is not the app's.
        fc
          .tuple(claims, fc.string({ minLength: 1 }))
          .map(([c, k]) => signApprovalToken(c, `${k}${realKey}x`)),
        // The app's key, but for another rollout or long expired: refused for what it says.
        claims.map((c) =>
          signApprovalToken(
            c.rolloutId === waiting ? { ...c, expiresAt: Math.min(c.expiresAt, 0) } : c,
            realKey,
          ),
        ),
      );
      const id = fc.oneof(fc.constant(waiting), unknownId([waiting]));
      const form = fc.record(
        {
          token,
          decision: fc.oneof(fc.constantFrom('approve', 'reject'), nastyString),
          comment: nastyString,
        },
        { requiredKeys: [] },
      );
      const request = fc.oneof(
        fc.tuple(id, token, fc.boolean()).map(([i, t, html]) => ({
          url: `${e.gl.baseUrl}/api/approvals/${segment(i, false)}?token=${encodeURIComponent(t)}`,
          init: { method: 'GET', headers: html ? { accept: 'text/html' } : {} },
        })),
        fc.tuple(id, form).map(([i, f]) => ({
          url: `${e.gl.baseUrl}/api/approvals/${segment(i, false)}`,
          init: {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body: new URLSearchParams(f as Record<string, string>).toString(),
          },
        })),
        fc
          .tuple(
            id,
            fc.oneof(
              anyBody,
              form.map((f) => JSON.stringify(f)),
            ),
          )
          .map(([i, b]) => ({
            url: `${e.gl.baseUrl}/api/approvals/${segment(i, false)}`,
            init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: b },
          })),
      );
      const tally = await fuzz(
        'approval decisions and tokens',
        request.map((r) => r as { url: string; init: RequestInit }),
      );
      expect(tally.sent).toBeGreaterThanOrEqual(fuzzRuns);
      // A real page still works after all that: the approval is there to be made.
      expect((await fetch(approvePage)).status).toBe(200);
    },
    surfaceTimeout,
  );

  it(
    'Durable API requests (documented and internal endpoints)',
    async () => {
      const client = e.stack.runtime.durableClient() as unknown as { clientData: { rpcBaseUrl: string } };
      const internal = new URL(client.clientData.rpcBaseUrl);
      const bases = [
        `${e.gl.baseUrl}/runtime/webhooks/durabletask`,
        `${internal.origin}${internal.pathname.replace(/\/$/, '')}`,
      ];
      const existing = [waiting, `${waiting}:watch`];
      const names = ['rolloutOrchestrator', 'rolloutWatchOrchestrator', 'gateRunOrchestrator'];
      const sys = e.stack.runtime.keys.system;
      const idArb = unknownId(existing).filter((i) => !existing.some((x) => i === x));
      const path = fc.oneof(
        fc
          .tuple(idArb, fc.boolean())
          .map(([i, raw]) => ({ method: 'GET', p: `/instances/${segment(i, raw)}` })),
        fc.tuple(idArb, nastyString, fc.boolean()).map(([i, ev, raw]) => ({
          method: 'POST',
          p: `/instances/${segment(i, raw)}/raiseEvent/${segment(ev, raw)}`,
        })),
        fc
          .tuple(idArb, fc.constantFrom('terminate', 'suspend', 'resume', 'rewind'), nastyString)
          .map(([i, a, r]) => ({
            method: 'POST',
            p: `/instances/${segment(i, false)}/${a}?reason=${encodeURIComponent(r)}`,
          })),
        fc.tuple(idArb).map(([i]) => ({ method: 'DELETE', p: `/instances/${segment(i, false)}` })),
        fc
          .tuple(
            nastyString.filter((n) => !names.includes(n)),
            fc.option(idArb),
          )
          .map(([n, i]) => ({
            method: 'POST',
            p: `/orchestrators/${segment(n, false)}${i ? `/${segment(i, false)}` : ''}`,
          })),
        fc
          .record(
            {
              runtimeStatus: nastyString,
              top: fc.oneof(nastyString, fc.integer().map(String)),
              createdTimeFrom: nastyString,
              instanceIdPrefix: nastyString,
            },
            { requiredKeys: [] },
          )
          .map((q) => ({ method: 'GET', p: `/instances?${new URLSearchParams(q).toString()}` })),
      );
      // With the system key only requests that can change nothing (unknown ids and names, bad queries);
      // without it, anything at all, including what would change state with a key.
      const unkeyed = fc.oneof(
        path,
        fc.constantFrom(
          { method: 'DELETE', p: '/instances' },
          { method: 'POST', p: `/instances/${waiting}/raiseEvent/approval` },
          { method: 'POST', p: `/instances/${waiting}/terminate` },
          { method: 'POST', p: '/orchestrators/rolloutOrchestrator' },
        ),
      );
      const wrongKey = fc.oneof(
        fc.constant(''),
        fc.constant(`code=${encodeURIComponent(e.gl.functionKey)}`),
        nastyString.map((s) => `code=${encodeURIComponent(s)}`),
      );
      const request = fc.oneof(
        fc.tuple(fc.constantFrom(...bases), path, anyBody).map(([b, { method, p }, body]) => ({
          url: `${b}${p}${p.includes('?') ? '&' : '?'}code=${encodeURIComponent(sys)}`,
          body: method === 'GET' || method === 'DELETE' ? undefined : body,
          method,
        })),
        fc
          .tuple(fc.constantFrom(...bases), unkeyed, wrongKey, anyBody)
          .map(([b, { method, p }, k, body]) => ({
            url: `${b}${p}${k ? `${p.includes('?') ? '&' : '?'}${k}` : ''}`,
            body: method === 'GET' || method === 'DELETE' ? undefined : body,
            method,
          })),
      );
      const tally = await fuzz(
        'Durable API requests',
        request.map(({ url, body, method }) => ({
          url,
          init: {
            method,
            headers: { 'content-type': 'application/json' },
            ...(body !== undefined ? { body } : {}),
          },
        })),
      );
      expect(tally.sent).toBeGreaterThanOrEqual(fuzzRuns);
    },
    surfaceTimeout,
  );
});
