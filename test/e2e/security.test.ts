// Keys, identities and ids: what the API hands out, what it refuses, and who it records.
import { createHash } from 'node:crypto';
import { api } from '../../local/client';
import {
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
let e: E2E;
beforeAll(async () => {
  e = await startE2E([trafficPolicy('vault', { approval }), trafficPolicy('audit', { approval })]);
  await seed(e, 'vault');
  await seed(e, 'audit');
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
// Timers within the hour run at once; the 24-hour approval timeout waits for the test.
beforeEach(() => e.stack.runtime.setTimeSkipping((next, now) => next - now < 3_600_000));

function secrets(): string[] {
  const keys = e.stack.runtime.keys;
  return [keys.system, keys.master, process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? 'unset'];
}

async function textOf(res: Response): Promise<string> {
  const headers = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  return `${headers}\n${await res.text()}`;
}

function expectNoSecret(text: string): void {
  for (const s of secrets()) expect(text).not.toContain(s);
  expect(text).not.toMatch(/_rpc|runtime\/webhooks|durabletask|\n\s+at /);
}

const key = () => ({ 'x-functions-key': e.gl.functionKey });

describe('responses hand out Greenlight status URLs only', () => {
  it('the reply to POST /api/rollouts has the id, the status URL and the admission, and no key', async () => {
    const image = `${registry}/e2e/vault:v2`;
    const res = await api(e.gl, 'POST', '/api/rollouts', { app: 'vault', image });
    expect(res.status).toBe(202);
    const text = await textOf(res.clone());
    expectNoSecret(text);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['admission', 'greenlightStatusUri', 'id']);
    expect(body.greenlightStatusUri).toBe(`${e.gl.baseUrl}/api/rollouts/${String(body.id)}`);
    expect(res.headers.get('location')).toBe(body.greenlightStatusUri);
    // The duplicate answer is the same shape.
    const again = await api(e.gl, 'POST', '/api/rollouts', { app: 'vault', image });
    expect(again.status).toBe(200);
    expectNoSecret(await textOf(again));

    const id = String(body.id);
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    for (const [method, path, data] of [
      ['GET', `/api/rollouts/${id}`, undefined],
      ['GET', '/api/rollouts?app=vault', undefined],
      ['GET', '/api/rollouts?status=Sideways', undefined],
      ['POST', '/api/rollouts', { app: 'vault', image: 'evil.example.com/x:1' }],
      ['POST', '/api/rollouts', { app: 'nope', image }],
      ['POST', `/api/rollouts/${id}/explode`, {}],
    ] as const) {
      const r = await api(e.gl, method, path, data);
      expect(r.status).toBeLessThan(500);
      expectNoSecret(await textOf(r));
    }
    const page = await fetch(waiting.approval.pageUrl ?? '');
    expect(page.status).toBe(200);
    // The page carries its own single-use tokens, but never a key.
    expectNoSecret(await textOf(page));
    await api(e.gl, 'POST', `/api/rollouts/${id}/abort`, {});
    expect((await untilDone(e, id)).outcome).toBe('RolledBack');
  });
});

describe('bad ids', () => {
  const longId = 'a'.repeat(101);
  it.each([
    ['%25', 400],
    ['%zz', 400],
    [longId, 400],
    ['a%2Fb', 400],
    ['does-not-exist', 404],
  ])('%s answers %d problem+json on every route, never 500 nor an internal path', async (id, status) => {
    const requests: [string, string, RequestInit][] = [
      ['GET', `/api/rollouts/${id}`, { headers: key() }],
      ['POST', `/api/rollouts/${id}/abort`, { headers: key() }],
      ['POST', `/api/rollouts/${id}/promote`, { headers: key() }],
      ['GET', `/api/approvals/${id}?token=x.y`, {}],
      [
        'POST',
        `/api/approvals/${id}`,
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=x.y' },
      ],
    ];
    for (const [method, path, init] of requests) {
      const res = await fetch(`${e.gl.baseUrl}${path}`, { method, ...init });
      const text = await textOf(res.clone());
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expectNoSecret(text);
      // An approval token is checked before the id is looked up: a bad token on an unknown id is 400.
      if (path.startsWith('/api/approvals') && status === 404) expect([400, 403]).toContain(res.status);
      else expect([method, path, res.status]).toEqual([method, path, status]);
    }
  });
});

describe('the internal Durable endpoint', () => {
  it('requires the system key like every other endpoint', async () => {
    const client = e.stack.runtime.durableClient() as unknown as { clientData: { rpcBaseUrl: string } };
    const internal = new URL(client.clientData.rpcBaseUrl);
    expect(internal.password).toBe(e.stack.runtime.keys.system);
    const bare = `${internal.origin}${internal.pathname}instances`;
    const anonymous = await fetch(bare);
    expect(anonymous.status).toBe(401);
    expectNoSecret(await textOf(anonymous));
    const withFunctionKey = await fetch(`${bare}?code=${e.gl.functionKey}`);
    expect(withFunctionKey.status).toBe(401);
    const basic = `Basic ${Buffer.from(`durabletask:${e.stack.runtime.keys.system}`).toString('base64')}`;
    expect((await fetch(bare, { headers: { authorization: basic } })).status).toBe(200);
    const wrong = `Basic ${Buffer.from('durabletask:guess').toString('base64')}`;
    expect((await fetch(bare, { headers: { authorization: wrong } })).status).toBe(401);
  });
});

describe('recorded identities', () => {
  it('an untrusted principal header is not an identity: the key that called is recorded, by fingerprint', async () => {
    const id = await startRollout(e, 'audit', 'v2');
    expect((await untilPhase(e, id, 'WaitingApproval')).phase).toBe('WaitingApproval');
    const res = await fetch(`${e.gl.baseUrl}/api/rollouts/${id}/abort`, {
      method: 'POST',
      headers: {
        ...key(),
        'content-type': 'application/json',
        'x-ms-client-principal-name': 'someone@contoso.com',
        'x-greenlight-actor': 'someone-else@contoso.com',
      },
      body: JSON.stringify({ reason: 'checking the audit' }),
    });
    expect(res.status).toBe(202);
    const fingerprint = `#${createHash('sha256').update(e.gl.functionKey).digest('hex').slice(0, 8)}`;
    const body = (await res.json()) as { by: string };
    expect(body.by).toBe(`function key ${fingerprint}`);
    const done = await untilDone(e, id);
    expect(done.reason).toContain(`aborted by function key ${fingerprint}: checking the audit`);
    expect(JSON.stringify(done)).not.toContain('contoso.com');
    expect(JSON.stringify(done)).not.toContain(e.gl.functionKey);
  });
});
