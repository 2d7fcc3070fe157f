import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../local/clock';
import { api, imagePushedEvent, pushEvents } from '../../local/client';
import { startLocalStack } from '../../local/stack';
import { auditLogPrefix, type AuditEntry } from '../../src/domain/audit';
import { signApprovalToken } from '../../src/domain/approvalToken';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import {
  digestOf,
  refOf,
  registry,
  seed,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const policies = [
  trafficPolicy('aud', { approval }),
  trafficPolicy('audq', { approval, concurrency: 'queue' }),
  trafficPolicy('audr', { approval, concurrency: 'reject' }),
  trafficPolicy('audeg', { approval }),
  // Promoted without a person; the undo window outlasts the skipped timers (an hour).
  trafficPolicy('audu', { cleanup: { deactivateAfter: 'PT2H', keepRevisions: 2, undoWindow: 'PT2H' } }),
];
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;

let e: E2E;
const logLines: string[] = [];

/** The e2e stack (see ./support), with the runtime's log kept: audit entries are also log lines. */
async function startWithLog(): Promise<E2E> {
  const clock = new VirtualClock(Date.now());
  const prefix = uniquePrefix('e2e-audit');
  const keysFile = join(tmpdir(), `${prefix.replace(/:/g, '-')}keys.json`);
  const stack = await startLocalStack({
    redisUrl: testRedisUrl(),
    keyPrefix: prefix,
    policies,
    clock,
    emulator: { provisioningDelayMs: 20_000, lroDurationMs: 5 },
    register: () => require('../../src/index'),
    env: { GREENLIGHT_ARM_RETRY_DELAY_MS: '10', GREENLIGHT_ARM_POLL_INTERVAL_MS: '5' },
    keysFile,
    dropStateOnStop: true,
    log: (line) => void logLines.push(line),
  });
  return {
    stack,
    flagPrefix: `${prefix}fl:`,
    gl: stack.http,
    clock,
    stop: async () => {
      try {
        await stack.stop();
      } finally {
        await (require('../../src/composition') as typeof import('../../src/composition')).disposeServices();
        rmSync(keysFile, { force: true });
      }
    },
  };
}

beforeAll(async () => {
  e = await startWithLog();
  for (const name of ['aud', 'audq', 'audr', 'audeg', 'audu']) await seed(e, name);
}, 60_000);
afterAll(async () => {
  await e?.stop();
});
beforeEach(() => e.stack.runtime.setTimeSkipping(withinAnHour));

interface AuditPage {
  entries: AuditEntry[];
  count: number;
  next?: string;
  nextUri?: string;
}

async function audit(query: string): Promise<AuditPage> {
  const res = await api(e.gl, 'GET', `/api/audit${query}`);
  if (res.status !== 200) throw new Error(`GET /api/audit${query}: ${res.status} ${await res.text()}`);
  return (await res.json()) as AuditPage;
}

const image = (app: string, tag: string) => `${registry}/e2e/${app}:${tag}`;
const start = (app: string, tag: string, digest = true) =>
  api(e.gl, 'POST', '/api/rollouts', {
    app,
    image: image(app, tag),
    ...(digest ? { digest: digestOf(image(app, tag)) } : {}),
  });

function post(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
}

/** Entries the rollout orchestration writes itself, besides the triggers' admissions and decisions. */
const orchestrationKinds = new Set([
  'traffic.written',
  'flags.written',
  'compensation.ran',
  'rollout.finished',
]);
describe('audit trail through the API', () => {
  it('records every admission, decision and action exactly once, with who did it', async () => {
    const before = (await audit('?limit=500')).count;
    // started, then the same image again (deduplicated), then a newer one (superseded)
    const first = await startRollout(e, 'aud', 'v2');
    expect((await start('aud', 'v2')).status).toBe(200);
    const second = await startRollout(e, 'aud', 'v3');
    // queued behind a running one; rejected by concurrency; refused as not allowed
    const q1 = await startRollout(e, 'audq', 'v2');
    const q2 = await startRollout(e, 'audq', 'v3');
    const r1 = await startRollout(e, 'audr', 'v2');
    expect((await start('audr', 'v3')).status).toBe(409);
    const notAllowed = await api(e.gl, 'POST', '/api/rollouts', {
      app: 'aud',
      image: image('elsewhere', 'v1'),
    });
    expect(notAllowed.status).toBe(403);
    // invalid: malformed body, unknown app, bad image
    const raw = await fetch(`${e.gl.baseUrl}/api/rollouts`, {
      method: 'POST',
      headers: { 'x-functions-key': e.gl.functionKey, 'content-type': 'application/json' },
      body: '{"app": ',
    });
    expect(raw.status).toBe(400);
    expect((await api(e.gl, 'POST', '/api/rollouts', { app: 'nope', image: image('x', 'v1') })).status).toBe(
      404,
    );
    expect((await api(e.gl, 'POST', '/api/rollouts', { app: 'aud', image: 'aud:v2' })).status).toBe(400);
    // A push, and the same event delivered again: one action, one entry.
    const pushed = imagePushedEvent({
      id: 'evt-audit-1',
      registry,
      repository: 'e2e/audeg',
      tag: 'v2',
      digest: digestOf(image('audeg', 'v2')),
    });
    await pushEvents(e.gl, [pushed]);
    await pushEvents(e.gl, [pushed]);

    // approved (by the link holder), rejected (by a signed reject link), promoted and aborted by a key
    const waiting = await untilPhase(e, second, 'WaitingApproval');
    const token = new URL(waiting.approval.pageUrl ?? 'http://x/').searchParams.get('token') ?? '';
    const approved = await post(`${e.gl.baseUrl}/api/approvals/${second}`, { token });
    expect(approved.status).toBe(200);
    // The same link again is refused and records nothing.
    expect((await post(`${e.gl.baseUrl}/api/approvals/${second}`, { token })).status).toBe(409);
    await untilPhase(e, r1, 'WaitingApproval');
    const reject = signApprovalToken(
      { rolloutId: r1, decision: 'reject', expiresAt: Date.now() + 600_000, nonce: 'audit-reject' },
      process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? '',
    );
    expect((await post(`${e.gl.baseUrl}/api/approvals/${r1}`, { token: reject })).status).toBe(200);
    await untilPhase(e, q1, 'WaitingApproval');
    expect((await api(e.gl, 'POST', `/api/rollouts/${q1}/promote`, { reason: 'ship it' })).status).toBe(202);
    const aborted = await api(e.gl, 'POST', `/api/rollouts/${second}/abort`, {});
    // The approved rollout may already have finished; only an accepted abort is an action.
    const abortAccepted = aborted.status === 202;

    const page = await audit('?limit=500');
    const all = page.entries.slice(0, page.count - before);
    // The rollouts' own writes are audited too (scenario tests count those); here: admissions and decisions.
    const mine = all.filter((x) => !orchestrationKinds.has(x.kind));
    const kinds = mine.map((x) => x.kind).sort();
    const expected = [
      'admission.started', // aud v2
      'admission.deduplicated', // aud v2 again
      'admission.superseded', // aud v3
      'admission.started', // audq v2
      'admission.queued', // audq v3
      'admission.started', // audr v2
      'admission.rejected', // audr v3 (concurrency)
      'admission.rejected', // not allowed
      'admission.invalid', // malformed
      'admission.invalid', // unknown app
      'admission.invalid', // bad image
      'admission.started', // push
      'approval.approved',
      'approval.rejected',
      'rollout.promoted',
      ...(abortAccepted ? ['rollout.aborted'] : []),
    ].sort();
    expect(kinds).toEqual(expected);
    expect(new Set(mine.map((x) => x.id)).size).toBe(mine.length);

    const byKind = (k: string, rolloutId?: string) =>
      mine.filter((x) => x.kind === k && (!rolloutId || x.rolloutId === rolloutId));
    const keyActor = byKind('admission.started', first)[0]!.actor;
    expect(keyActor).toEqual({ kind: 'key', name: expect.stringMatching(/^function key #[0-9a-f]{8}$/) });
    expect(byKind('admission.superseded', second)[0]!.details).toMatchObject({ superseded: first });
    expect(byKind('admission.queued', q2)[0]!.details).toMatchObject({ behind: q1 });
    const push = byKind('admission.started').find((x) => x.actor.kind === 'eventGrid')!;
    expect(push.details).toMatchObject({ source: 'eventGrid', eventId: 'evt-audit-1' });
    expect(push.app).toEqual({ key: `${refOf('audeg').subscriptionId}/rg-e2e/audeg`, name: 'audeg' });
    expect(byKind('approval.approved', second)[0]!.actor).toEqual({
      kind: 'principal',
      name: 'approval link holder',
    });
    expect(byKind('rollout.promoted', q1)[0]).toMatchObject({
      actor: keyActor,
      details: { reason: 'ship it' },
    });
    const unknown = mine.filter((x) => x.kind === 'admission.invalid' && x.app.key === '-');
    expect(unknown).toHaveLength(2);

    // Filters: one rollout's entries, one app's entries, the unknown-app entries.
    const ofSecond = await audit(`?rollout=${encodeURIComponent(second)}`);
    expect(ofSecond.entries.every((x) => x.rolloutId === second)).toBe(true);
    expect(ofSecond.entries.map((x) => x.kind)).toEqual(
      expect.arrayContaining(['admission.superseded', 'approval.approved']),
    );
    const ofQueue = await audit('?app=audq');
    expect(
      ofQueue.entries
        .map((x) => x.kind)
        .filter((k) => !orchestrationKinds.has(k))
        .sort(),
    ).toEqual(['admission.queued', 'admission.started', 'rollout.promoted'].sort());
    expect((await audit('?app=-')).count).toBeGreaterThanOrEqual(2);
    expect((await audit(`?since=${new Date(Date.now() + 3_600_000).toISOString()}`)).count).toBe(0);

    // The Functions log has one structured line per entry.
    const lines = logLines.filter((l) => l.includes(`${auditLogPrefix} {`));
    for (const x of all) expect(lines.filter((l) => l.includes(`"id":"${x.id}"`))).toHaveLength(1);

    // Nothing secret in the trail or its log lines: keys, the signing key, approval tokens.
    const everything = JSON.stringify((await audit('?limit=500')).entries) + lines.join('\n');
    const secrets = [
      e.gl.functionKey,
      e.gl.systemKey,
      process.env.GREENLIGHT_APPROVAL_SIGNING_KEY ?? '',
      token,
      reject,
    ];
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(everything.includes(secret)).toBe(false);
    }
    if (abortAccepted) await untilDone(e, second);
  }, 90_000);

  it('records an undo after promotion with its caller and reason', async () => {
    const id = await startRollout(e, 'audu', 'v2');
    expect((await untilPhase(e, id, 'Succeeded', 60_000)).phase).toBe('Succeeded');
    const undo = await api(e.gl, 'POST', `/api/rollouts/${id}/undo`, { reason: 'customer reports' });
    expect(undo.status).toBe(202);
    const entries = (await audit(`?rollout=${encodeURIComponent(id)}`)).entries;
    expect(entries.map((x) => x.kind).filter((k) => !orchestrationKinds.has(k))).toEqual([
      'rollout.undone',
      'admission.started',
    ]);
    expect(entries.filter((x) => x.kind === 'traffic.written').length).toBeGreaterThan(0);
    expect(entries.find((x) => x.kind === 'rollout.undone')).toMatchObject({
      app: { name: 'audu' },
      actor: { kind: 'key', name: expect.stringMatching(/^function key #[0-9a-f]{8}$/) },
      details: { reason: 'customer reports' },
    });
    await untilDone(e, id);
  }, 90_000);

  it('pages newest first with a next cursor until the trail is read', async () => {
    const whole = await audit('?limit=500');
    expect(whole.count).toBeGreaterThan(3);
    const seen: string[] = [];
    let url: string | undefined = `${e.gl.baseUrl}/api/audit?limit=2`;
    while (url) {
      const res = await fetch(url, { headers: { 'x-functions-key': e.gl.functionKey } });
      expect(res.status).toBe(200);
      const page = (await res.json()) as AuditPage;
      expect(page.count).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((x) => x.id));
      // The next link never carries the key.
      if (page.nextUri) expect(page.nextUri).not.toContain(e.gl.functionKey);
      url = page.nextUri;
    }
    expect(seen).toEqual(whole.entries.map((x) => x.id));
    // Triggers stamp the time they act; a rollout's writes carry its orchestration's time, which may lag.
    const times = whole.entries.filter((x) => !orchestrationKinds.has(x.kind)).map((x) => x.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('answers bad query parameters with problem+json naming each, and needs the function key', async () => {
    const cases: [string, string, RegExp][] = [
      ['?limit=0', 'limit', /from 1 to 500/],
      ['?limit=many', 'limit', /whole number/],
      ['?limit=2.5', 'limit', /whole number/],
      ['?since=yesterday', 'since', /ISO 8601/],
      ['?rollout=%25%25', 'rollout', /rollout id/],
      ['?cursor=bogus', 'cursor', /next/],
      ['?app=nope', 'app', /policy name \(aud, audq, audr, audeg, audu\)/],
      ['?color=blue', 'color', /not a parameter/],
      ['?limit=1&limit=2', 'limit', /once/],
    ];
    for (const [query, field, message] of cases) {
      const res = await api(e.gl, 'GET', `/api/audit${query}`);
      expect([query, res.status]).toEqual([query, 400]);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const p = (await res.json()) as {
        type: string;
        detail: string;
        problems: { field: string; message: string }[];
      };
      expect(p.type).toMatch(/invalid-query$/);
      expect([query, p.problems.map((x) => x.field)]).toEqual([query, [field]]);
      expect(p.problems[0]!.message).toMatch(message);
      expect(p.detail).toMatch(/Fix: GET \/api\/audit\?/);
    }
    expect((await fetch(`${e.gl.baseUrl}/api/audit`)).status).toBe(401);
    // The key in the query string is the key, not a bad parameter.
    expect((await fetch(`${e.gl.baseUrl}/api/audit?limit=1&code=${e.gl.functionKey}`)).status).toBe(200);
  });
});
