import { signApprovalToken } from '../../src/domain/approvalToken';
import { api, imagePushedEvent, listRollouts, pushEvents } from '../../local/client';
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

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const policies = [
  trafficPolicy('gate', { approval }),
  trafficPolicy('other', { approval }),
  trafficPolicy('strict', { approval, concurrency: 'reject' }),
  trafficPolicy('orderly', { approval, concurrency: 'queue' }),
  trafficPolicy('picky', { approval: { ...approval, approvers: ['carol@contoso.com'] } }),
];
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;

let e: E2E;
beforeAll(async () => {
  e = await startE2E(policies);
  for (const name of ['gate', 'other', 'strict', 'orderly', 'picky']) await seed(e, name);
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
beforeEach(() => e.stack.runtime.setTimeSkipping(withinAnHour));

async function problemOf(
  res: Response,
): Promise<{ status: number; title: string; detail: string; type: string }> {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return (await res.json()) as { status: number; title: string; detail: string; type: string };
}

function tokenOf(pageUrl: string | undefined): string {
  return new URL(pageUrl ?? 'http://x/').searchParams.get('token') ?? '';
}

function post(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
}

describe('rollout API: bad input gets RFC 9457 problems and changes nothing', () => {
  it('refuses malformed JSON, missing fields, unknown apps and bad images', async () => {
    const raw = await fetch(`${e.gl.baseUrl}/api/rollouts`, {
      method: 'POST',
      headers: { 'x-functions-key': e.gl.functionKey, 'content-type': 'application/json' },
      body: '{"app": "gate",',
    });
    expect(raw.status).toBe(400);
    expect((await problemOf(raw)).detail).toMatch(/not valid JSON/);

    const missing = await api(e.gl, 'POST', '/api/rollouts', {});
    expect(missing.status).toBe(400);
    const p = (await problemOf(missing)) as unknown as { problems: { field: string }[] };
    expect(p.problems.map((x) => x.field)).toEqual(expect.arrayContaining(['app', 'image']));

    const unknown = await api(e.gl, 'POST', '/api/rollouts', { app: 'nope', image: `${registry}/x:v1` });
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).detail).toMatch(/known policies: gate, other/);

    const badImage = await api(e.gl, 'POST', '/api/rollouts', { app: 'gate', image: 'gate:v2' });
    expect(badImage.status).toBe(400);
    expect((await problemOf(badImage)).detail).toMatch(/registry, a repository and a tag/);

    const noKey = await fetch(`${e.gl.baseUrl}/api/rollouts`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);

    const image = `${registry}/e2e/gate:v9`;
    const postRaw = (body: string) =>
      fetch(`${e.gl.baseUrl}/api/rollouts`, {
        method: 'POST',
        headers: { 'x-functions-key': e.gl.functionKey, 'content-type': 'application/json' },
        body,
      });
    const empty = await postRaw('');
    expect(empty.status).toBe(400);
    expect((await problemOf(empty)).type).toMatch(/missing-body$/);
    for (const notAnObject of ['[]', '"x"', 'null']) {
      const res = await postRaw(notAnObject);
      expect(res.status).toBe(400);
      expect((await problemOf(res)).detail).toMatch(/^\(body\): /);
    }
    const extra = await api(e.gl, 'POST', '/api/rollouts', { app: 'gate', image, tag: 'v9' });
    expect(extra.status).toBe(400);
    expect((await problemOf(extra)).detail).toMatch(/tag/);
    const badDigest = await api(e.gl, 'POST', '/api/rollouts', { app: 'gate', image, digest: 'sha256:xyz' });
    expect(badDigest.status).toBe(400);
    expect((await problemOf(badDigest)).detail).toMatch(/^digest: must be sha256:/);

    expect(await listRollouts(e.gl, 'gate')).toHaveLength(0);
  });

  it('refuses bad abort and promote requests, and controls only running rollouts', async () => {
    const id = await startRollout(e, 'other', 'v7');
    await untilPhase(e, id, 'WaitingApproval');
    const url = `${e.gl.baseUrl}/api/rollouts/${id}/abort`;
    const malformed = await fetch(url, {
      method: 'POST',
      headers: { 'x-functions-key': e.gl.functionKey, 'content-type': 'application/json' },
      body: '{"reason": ',
    });
    expect(malformed.status).toBe(400);
    expect((await problemOf(malformed)).type).toMatch(/malformed-json$/);
    const tooLong = await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, { reason: 'x'.repeat(501) });
    expect(tooLong.status).toBe(400);
    expect((await problemOf(tooLong)).detail).toMatch(/^reason: /);
    const unknownField = await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, { force: true });
    expect(unknownField.status).toBe(400);
    // None of that aborted it.
    expect((await untilPhase(e, id, 'WaitingApproval')).phase).toBe('WaitingApproval');

    expect((await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, { reason: 'test' })).status).toBe(202);
    expect((await untilDone(e, id)).outcome).toBe('RolledBack');
    const late = await api(e.gl, 'POST', `/api/rollouts/${id}/promote`, {});
    expect(late.status).toBe(409);
    expect((await problemOf(late)).type).toMatch(/rollout-not-running$/);
    // The watch child of a rollout is an instance, but not a rollout.
    const child = await api(e.gl, 'GET', `/api/rollouts/${encodeURIComponent(`${id}:watch`)}`);
    expect(child.status).toBe(404);
  });

  it('answers unknown rollouts, actions and filters clearly', async () => {
    const missing = await api(e.gl, 'GET', '/api/rollouts/does-not-exist');
    expect(missing.status).toBe(404);
    await problemOf(missing);
    const action = await api(e.gl, 'POST', '/api/rollouts/does-not-exist/explode', {});
    expect(action.status).toBe(404);
    expect((await problemOf(action)).detail).toMatch(/\/abort, \/promote, \/undo or \/resume/);
    const filter = await api(e.gl, 'GET', '/api/rollouts?status=Sideways');
    expect(filter.status).toBe(400);
    await problemOf(filter);
  });

  it('ignores pushes no policy matches, and other event types, with nothing started', async () => {
    await push(e, 'unmatched-app', 'v2', 'evt-unmatched');
    const res = await fetch(
      `${e.gl.baseUrl}/runtime/webhooks/eventgrid?functionName=imagePushed&code=${e.gl.systemKey}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            id: 'evt-delete',
            eventType: 'Microsoft.ContainerRegistry.ImageDeleted',
            subject: 'e2e/gate:v2',
            eventTime: new Date().toISOString(),
            dataVersion: '1.0',
            data: { target: { repository: 'e2e/gate', tag: 'v2' } },
          },
        ]),
      },
    );
    expect(res.status).toBe(202);
    expect(await listRollouts(e.gl, 'gate')).toHaveLength(0);
    // Ignored is not lost: the unmatched push is in the trigger ledger with its decision.
    const { services } = require('../../src/composition') as typeof import('../../src/composition');
    const ledger = await services().store.triggers();
    // A push a policy matches but whose image cannot be rolled out is recorded and acknowledged
    // (a 500 would only make Event Grid redeliver it, failing the same way every time).
    const bad = await pushEvents(e.gl, [
      imagePushedEvent({
        id: 'evt-bad-digest',
        registry,
        repository: 'e2e/gate',
        tag: 'v3',
        digest: 'sha256:nothex',
      }),
    ]);
    expect(bad.status).toBe(202);
    expect(await listRollouts(e.gl, 'gate')).toHaveLength(0);
    expect((await services().store.triggers()).find((t) => t.eventId === 'evt-bad-digest')).toMatchObject({
      app: 'gate',
      decision: 'invalid',
    });
    expect(ledger.find((t) => t.eventId === 'evt-unmatched')).toMatchObject({
      app: '-',
      decision: 'unmatched',
      image: expect.stringMatching(/^e2eacr\.azurecr\.io\/e2e\/unmatched-app:v2@sha256:/),
    });
  });
});

describe('approval links', () => {
  it('refuse tampered, wrong-rollout, wrong-decision, expired and replayed tokens', async () => {
    const id = await startRollout(e, 'gate', 'v2');
    const otherId = await startRollout(e, 'other', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    await untilPhase(e, otherId, 'WaitingApproval');
    const approveToken = tokenOf(waiting.approval.pageUrl);
    const url = `${e.gl.baseUrl}/api/approvals/${id}`;

    const page = await fetch(`${url}?token=${approveToken}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(id);
    // Looking at the page decides nothing.
    expect((await untilPhase(e, id, 'WaitingApproval')).phase).toBe('WaitingApproval');

    const [payload, sig] = approveToken.split('.');
    const tampered = await post(url, { token: `${payload}x.${sig}` });
    expect(tampered.status).toBe(403);

    const elsewhere = await post(`${e.gl.baseUrl}/api/approvals/${otherId}`, { token: approveToken });
    expect(elsewhere.status).toBe(403);
    expect((await problemOf(elsewhere)).type).toMatch(/wrong-rollout/);

    const mismatch = await post(url, { token: approveToken, decision: 'reject' });
    expect(mismatch.status).toBe(400);

    const key = process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? '';
    const expired = signApprovalToken(
      { rolloutId: id, decision: 'approve', expiresAt: Date.now() - 1000, nonce: 'old' },
      key,
    );
    const late = await post(url, { token: expired });
    expect(late.status).toBe(410);

    const missing = await post(url, {});
    expect(missing.status).toBe(400);
    const pageWithoutToken = await fetch(url, { headers: { accept: 'text/html' } });
    expect(pageWithoutToken.status).toBe(400);
    expect(pageWithoutToken.headers.get('content-type')).toMatch(/text\/html/);
    expect(await pageWithoutToken.text()).toMatch(/Approval token missing/);

    // A correctly signed token for a rollout that does not exist.
    const ghost = signApprovalToken(
      { rolloutId: 'ghost', decision: 'approve', expiresAt: Date.now() + 60_000, nonce: 'ghost' },
      process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? '',
    );
    const ghostPage = await fetch(`${e.gl.baseUrl}/api/approvals/ghost?token=${ghost}`);
    expect(ghostPage.status).toBe(404);
    expect((await post(`${e.gl.baseUrl}/api/approvals/ghost`, { token: ghost })).status).toBe(404);

    // The same fields as JSON: malformed or mistyped bodies are refused, not read as "no token".
    const asJson = (body: string) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const malformed = await asJson('{"token": ');
    expect(malformed.status).toBe(400);
    expect((await problemOf(malformed)).type).toMatch(/malformed-json/);
    const mistyped = await asJson(JSON.stringify({ token: approveToken, comment: 42 }));
    expect(mistyped.status).toBe(400);
    expect((await problemOf(mistyped)).detail).toMatch(/^comment: /);
    // A misspelt field is an error, not a decision made without it.
    const misspelt = await asJson(JSON.stringify({ token: approveToken, decison: 'reject' }));
    expect(misspelt.status).toBe(400);
    expect((await problemOf(misspelt)).detail).toMatch(/decison/);
    const notAnObject = await asJson('[]');
    expect(notAnObject.status).toBe(400);

    // None of that moved the rollout.
    expect((await untilPhase(e, id, 'WaitingApproval')).phase).toBe('WaitingApproval');

    const ok = await post(url, { token: approveToken, comment: 'ship it' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id, decision: 'approve' });
    const replay = await post(url, { token: approveToken });
    expect(replay.status).toBe(409);
    const replayPage = await fetch(`${url}?token=${approveToken}`);
    expect(replayPage.status).toBe(409);
    expect((await problemOf(replayPage)).type).toMatch(/approval-already-decided$/);

    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    expect(done.approval).toMatchObject({ state: 'approved', comment: 'ship it' });
    await api(e.gl, 'POST', `/api/rollouts/${otherId}/abort`, { reason: 'cleanup' });
    expect((await untilDone(e, otherId)).outcome).toBe('RolledBack');
  });

  it('refuses an approver the policy does not list, and a principal header nothing vouches for', async () => {
    const id = await startRollout(e, 'picky', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    const as = (principal: string) =>
      fetch(`${e.gl.baseUrl}/api/approvals/${id}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          'x-ms-client-principal-name': principal,
        },
        body: new URLSearchParams({ token: tokenOf(waiting.approval.pageUrl) }).toString(),
      });
    const res = await as('mallory@contoso.com');
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toMatch(/carol@contoso.com/);
    // Without App Service authentication anyone can send the header: claiming to be carol is not enough.
    const spoofed = await as('carol@contoso.com');
    expect(spoofed.status).toBe(403);
    expect((await problemOf(spoofed)).detail).toMatch(
      /'approval link holder' is not among .*GREENLIGHT_TRUST_CLIENT_PRINCIPAL=true/,
    );
    await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, {});
    e.stack.runtime.setTimeSkipping(true);
    expect((await untilDone(e, id)).outcome).toBe('RolledBack');
  });
});

describe('concurrency per app', () => {
  it("'reject' answers 409 naming the running rollout", async () => {
    const first = await startRollout(e, 'strict', 'v2');
    await untilPhase(e, first, 'WaitingApproval');
    const image = `${registry}/e2e/strict:v3`;
    const res = await api(e.gl, 'POST', '/api/rollouts', { app: 'strict', image, digest: digestOf(image) });
    expect(res.status).toBe(409);
    const p = (await problemOf(res)) as unknown as { running: string; detail: string };
    expect(p.running).toBe(first);
    expect(await listRollouts(e.gl, 'strict')).toHaveLength(1);
    await api(e.gl, 'POST', `/api/rollouts/${first}/abort`, {});
    e.stack.runtime.setTimeSkipping(true);
    await untilDone(e, first);
  });

  it("'queue' starts the next image once the running rollout ends", async () => {
    const first = await startRollout(e, 'orderly', 'v2');
    await untilPhase(e, first, 'WaitingApproval');
    const image = `${registry}/e2e/orderly:v3`;
    const res = await api(e.gl, 'POST', '/api/rollouts', { app: 'orderly', image, digest: digestOf(image) });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; admission: { kind: string } };
    expect(body.admission.kind).toBe('queued');
    await api(e.gl, 'POST', `/api/rollouts/${first}/abort`, { reason: 'make way' });
    await untilDone(e, first);
    const second = await untilPhase(e, body.id, 'WaitingApproval');
    expect(second.image).toContain(':v3');
    await api(e.gl, 'POST', `/api/rollouts/${body.id}/abort`, {});
    e.stack.runtime.setTimeSkipping(true);
    await untilDone(e, body.id);
  });
});
