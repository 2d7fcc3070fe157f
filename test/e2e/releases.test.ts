import { api, decideThroughPage, imagePushedEvent, pushEvents, sleep } from '../../local/client';
import { startInbox, type Inbox } from '../../local/inbox';
import type { ReleaseView } from '../../src/services/releaseView';
import {
  digestOf,
  refOf,
  registry,
  seed,
  serving,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';

const approval = { required: true, timeout: 'PT24H', onTimeout: 'rollback' };
const policies = [
  trafficPolicy('rapi', { strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1M' } }),
  trafficPolicy('rweb'),
  trafficPolicy('fa'),
  trafficPolicy('fb'),
  trafficPolicy('qa', { approval }),
  trafficPolicy('qb'),
  { kind: 'Release', name: 'shop', members: ['rapi', 'rweb'], approval, concurrency: 'queue' },
  { kind: 'Release', name: 'pair', members: ['fa', 'fb'], approval: { required: false } },
  { kind: 'Release', name: 'queued', members: ['qa', 'qb'], approval: { required: false } },
  {
    kind: 'Release',
    name: 'pushed',
    members: ['gx', 'gy'],
    approval: { required: false },
    gather: { window: 'PT15M', tagKey: '^(v\\d+)\\.' },
  },
  trafficPolicy('ca'),
  trafficPolicy('cb'),
  { kind: 'Release', name: 'strict', members: ['ca', 'cb'], approval, concurrency: 'reject' },
  trafficPolicy('wa'),
  trafficPolicy('wb'),
  { kind: 'Release', name: 'watched', members: ['wa', 'wb'], approval: { required: false } },
  trafficPolicy('ka'),
  trafficPolicy('kb'),
  { kind: 'Release', name: 'keep', members: ['ka', 'kb'], approval },
  trafficPolicy('sa'),
  trafficPolicy('sb'),
  { kind: 'Release', name: 'swap', members: ['sa', 'sb'], approval, concurrency: 'supersede' },
  // The gathering's channels: told when a window closes incomplete.
  trafficPolicy('gx', {
    notifications: [
      { kind: 'teams', urlSetting: 'GREENLIGHT_TEAMS_URL', events: ['releaseIncomplete'] },
      {
        kind: 'webhook',
        name: 'hook',
        urlSetting: 'GREENLIGHT_WEBHOOK_URL',
        secretSetting: 'GREENLIGHT_WEBHOOK_SECRET',
        events: ['releaseIncomplete'],
      },
    ],
  }),
  trafficPolicy('gy'),
];

let e: E2E;
let inbox: Inbox;
/** Skips readiness polls, step pauses and gathering windows, but stops at the (24 h) approval wait. */
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;
const image = (app: string, tag: string): string => `${registry}/e2e/${app}:${tag}`;

beforeAll(async () => {
  inbox = await startInbox({ log: () => undefined });
  e = await startE2E(policies, { env: { GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true', ...inbox.settings() } });
  for (const app of [
    'rapi',
    'rweb',
    'fa',
    'fb',
    'qa',
    'qb',
    'gx',
    'gy',
    'ca',
    'cb',
    'sa',
    'sb',
    'wa',
    'wb',
    'ka',
    'kb',
  ])
    await seed(e, app);
}, 60_000);

afterAll(async () => {
  await e?.stop();
  await inbox?.close();
});

beforeEach(() => e.stack.runtime.setTimeSkipping(withinAnHour));

async function getRelease(id: string): Promise<ReleaseView> {
  const res = await api(e.gl, 'GET', `/api/releases/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`GET release ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ReleaseView;
}

async function listReleases(name?: string): Promise<ReleaseView[]> {
  const res = await api(e.gl, 'GET', `/api/releases${name ? `?name=${encodeURIComponent(name)}` : ''}`);
  if (!res.ok) throw new Error(`GET releases: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { releases: ReleaseView[] }).releases;
}

/** Polls the release until `ok` holds; the last view is in the error otherwise. */
async function untilRelease(
  id: string,
  ok: (v: ReleaseView) => boolean,
  timeoutMs = 60_000,
): Promise<ReleaseView> {
  const deadline = Date.now() + timeoutMs;
  let last: ReleaseView | undefined;
  while (Date.now() < deadline) {
    last = await getRelease(id);
    if (ok(last)) return last;
    await sleep(50);
  }
  throw new Error(
    `release ${id} did not get there in time; last: ${JSON.stringify(last, null, 1).slice(0, 3000)}`,
  );
}

const ended = (v: ReleaseView): boolean =>
  v.done || ['Succeeded', 'RolledBack', 'RollbackFailed', 'Undone'].includes(v.phase);

async function startRelease(
  release: string,
  images: Record<string, string>,
): Promise<{ status: number; body: StartReply }> {
  const res = await api(e.gl, 'POST', '/api/releases', { release, images });
  return { status: res.status, body: (await res.json()) as StartReply };
}

/** The green revision serving all traffic of an app (none: the app serves more than one). */
function soleRevision(app: string): string | undefined {
  const live = serving(e, app).filter((t) => t.weight > 0);
  return live.length === 1 && live[0]!.weight === 100 ? live[0]!.revisionName : undefined;
}

interface StartReply {
  id: string;
  admission: { kind: string };
}

interface InstanceStatus {
  runtimeStatus: string;
  customStatus?: { state?: string; missing?: string[] };
}

/** The trigger ledger, as the app in this process wrote it. */
function ledger() {
  const { services } = require('../../src/composition') as typeof import('../../src/composition');
  return services().store.triggers(1000);
}

async function auditKinds(query: string): Promise<{ kind: string; summary: string }[]> {
  const res = await api(e.gl, 'GET', `/api/audit?${query}`);
  if (!res.ok) throw new Error(`GET audit: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { entries: { kind: string; summary: string }[] }).entries;
}

async function gatherStatus(instanceId: string): Promise<InstanceStatus | undefined> {
  const res = await fetch(
    `${e.gl.baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?code=${e.gl.systemKey}`,
  );
  return res.status === 404 ? undefined : ((await res.json()) as InstanceStatus);
}

describe('coordinated releases, end to end on the local runtime', () => {
  it('refuses bad bodies with problem+json naming the field, and starts nothing', async () => {
    const cases: [unknown, number, RegExp][] = [
      [undefined, 400, /JSON body/],
      [{ release: 'shop' }, 400, /images/],
      [{ release: 'shop', images: { rapi: image('rapi', 'v2') } }, 400, /images\.rweb: missing/],
      [
        { release: 'shop', images: { rapi: 'rapi:v2', rweb: image('rweb', 'v2') } },
        400,
        /images\.rapi: image must name a registry/,
      ],
      [
        {
          release: 'shop',
          images: { rapi: image('rapi', 'v2'), rweb: image('rweb', 'v2'), billing: image('x', 'v1') },
        },
        400,
        /images\.billing: 'billing' is not a member of release shop/,
      ],
      [
        { release: 'shoe', images: {} },
        404,
        /release: no release policy is named 'shoe'; known releases: .*shop/,
      ],
      [
        { release: 'shop', images: { rapi: image('rapi', 'v2'), rweb: `${registry}/other/rweb:v2` } },
        403,
        /images\.rweb: image .* matches neither/,
      ],
      [{ release: 'shop', images: {}, extra: 1 }, 400, /extra|Unrecognized/i],
    ];
    for (const [body, status, detail] of cases) {
      const res = await api(e.gl, 'POST', '/api/releases', body);
      expect({ body, status: res.status }).toEqual({ body, status });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as { detail: string; type: string };
      expect(problem.detail).toMatch(detail);
    }
    expect(await listReleases()).toEqual([]);
    const rollouts = (await (await api(e.gl, 'GET', '/api/rollouts')).json()) as { count: number };
    expect(rollouts.count).toBe(0);
  });

  it('refuses bad input to the release routes with problem+json, and starts or raises nothing', async () => {
    const cases: [string, string, unknown, number, string, RegExp][] = [
      ['GET', '/api/releases/no-such-release', undefined, 404, 'unknown-release', /no-such-release/],
      ['GET', `/api/releases/${'x'.repeat(120)}`, undefined, 400, 'invalid-id', /id/],
      ['GET', `/api/releases?name=${'n'.repeat(101)}`, undefined, 400, 'invalid-query', /name/],
      ['POST', '/api/releases/shop-1/bogus', {}, 404, 'unknown-action', /abort, \/promote or \/undo/],
      ['POST', '/api/releases/no-such-release/abort', {}, 404, 'unknown-release', /no-such-release/],
      [
        'POST',
        '/api/releases/no-such-release/abort',
        { extra: 1 },
        400,
        'invalid-request',
        /extra|Unrecognized/i,
      ],
      [
        'POST',
        '/api/releases/no-such-release/promote',
        { reason: 'r'.repeat(501) },
        400,
        'invalid-request',
        /reason/,
      ],
    ];
    for (const [method, path, body, status, type, detail] of cases) {
      const res = await api(e.gl, method, path, body);
      expect({ path, status: res.status }).toEqual({ path, status });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const p = (await res.json()) as { type: string; detail: string };
      expect({ path, type: p.type.split('/').pop() }).toEqual({ path, type });
      expect(p.detail).toMatch(detail);
    }
    expect(await listReleases()).toEqual([]);
  });

  it('start → one approval through the page → Succeeded with every member promoted', async () => {
    const before = { rapi: soleRevision('rapi'), rweb: soleRevision('rweb') };
    const images = { rapi: image('rapi', 'v2'), rweb: image('rweb', 'v2') };
    // Two identical requests at once: one starts it, the other is told it is the same release.
    const both = await Promise.all([startRelease('shop', images), startRelease('shop', images)]);
    const started = both.find((r) => r.status === 202)!;
    expect(both.map((r) => r.status).sort()).toEqual([200, 202]);
    expect(started.body.admission.kind).toBe('started');
    const id = started.body.id;
    expect(both.map((r) => r.body.id)).toEqual([id, id]);

    // The same images again while it runs: the same release, nothing new started.
    const again = await startRelease('shop', images);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, admission: { kind: 'duplicate' } });

    const waiting = await untilRelease(id, (v) => v.phase === 'WaitingApproval' || ended(v));
    expect(waiting.phase).toBe('WaitingApproval');
    expect(waiting.members.map((m) => m.app)).toEqual(['rapi', 'rweb']);
    // Members validated and wait for the release: neither was promoted, each rollout is visible.
    for (const m of waiting.members) {
      expect(m.promoted).toBe(false);
      expect(m.rollout?.id).toBe(m.rolloutId);
    }
    expect(waiting.approval?.pageUrl).toMatch(/\/api\/approvals\//);
    const { page, result } = await decideThroughPage(
      waiting.approval!.pageUrl!,
      'approve',
      'ship it',
      'alice@contoso.com',
    );
    expect(page).toContain('Promote release shop?');
    expect(page).toContain(images.rapi);
    expect(page).toContain(images.rweb);
    expect(result.status).toBe(200);

    e.stack.runtime.setTimeSkipping(true);
    const done = await untilRelease(id, ended);
    expect(done.phase).toBe('Succeeded');
    for (const m of done.members) expect(m.promoted).toBe(true);
    // Every member serves its new revision, and only it.
    for (const app of ['rapi', 'rweb']) {
      const now = soleRevision(app);
      expect(now).toBeDefined();
      expect(now).not.toBe(before[app as 'rapi' | 'rweb']);
    }
    const list = await listReleases('shop');
    expect(list.map((r) => r.id)).toContain(id);
    // The dashboard lists it with each member's phase.
    const dashboard = await fetch(`${e.gl.baseUrl}/api/dashboard`, {
      headers: { 'x-ms-client-principal-name': 'alice@contoso.com' },
    });
    const html = await dashboard.text();
    expect(dashboard.status).toBe(200);
    expect(html).toContain('<h2>Releases</h2>');
    expect(html).toContain(id);
    expect(html).toMatch(/rapi<\/a> <span class="v v-\w+">Succeeded<\/span> promoted/);
    expect(html).toContain(`href="/api/dashboard/releases/${encodeURIComponent(id)}"`);
    // The release's own page: each member's change and phase, the approval with who decided, the timeline.
    const asAlice = { headers: { 'x-ms-client-principal-name': 'alice@contoso.com' } };
    const detail = await fetch(`${e.gl.baseUrl}/api/dashboard/releases/${encodeURIComponent(id)}`, asAlice);
    const detailHtml = await detail.text();
    expect(detail.status).toBe(200);
    expect(detail.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(detailHtml).toContain('<h1>Release shop</h1>');
    expect(detailHtml).toMatch(
      /<th scope="row">rapi<\/th><td><code>[^<]+<\/code> → <code>[^<]*rapi:v2<\/code>/,
    );
    expect(detailHtml).toMatch(/by alice@contoso\.com/);
    expect(detailHtml).toContain('<h2>Timeline</h2>');
    expect(detailHtml).not.toContain('token=');
    const missing = await fetch(`${e.gl.baseUrl}/api/dashboard/releases/no-such-release`, asAlice);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('see all releases at /api/dashboard');

    // The audit trail has the request and the approval under the release.
    const kinds = (await auditKinds(`rollout=${encodeURIComponent(id)}`)).map((x) => x.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['release.started', 'release.deduplicated', 'approval.approved']),
    );
    // The same trail by the release's name.
    const byName = (await auditKinds('app=release%3Ashop')).map((x) => x.kind);
    expect(byName).toEqual(expect.arrayContaining(['release.started', 'release.deduplicated']));
  });

  it('one release of a name at a time: queue waits behind the running one, reject refuses with 409', async () => {
    const first = await startRelease('shop', { rapi: image('rapi', 'v3'), rweb: image('rweb', 'v3') });
    expect(first.body.admission.kind).toBe('started');
    await untilRelease(first.body.id, (v) => v.phase === 'WaitingApproval');
    const second = await startRelease('shop', { rapi: image('rapi', 'v4'), rweb: image('rweb', 'v4') });
    expect(second.status).toBe(202);
    expect(second.body.admission).toMatchObject({ kind: 'queued', behind: first.body.id });
    // It waits for the member apps the first one holds.
    expect((await untilRelease(second.body.id, (v) => (v.queuedBehind?.length ?? 0) > 0)).phase).toBe(
      'Queued',
    );

    const strict = await startRelease('strict', { ca: image('ca', 'v2'), cb: image('cb', 'v2') });
    await untilRelease(strict.body.id, (v) => v.phase === 'WaitingApproval');
    const refused = await api(e.gl, 'POST', '/api/releases', {
      release: 'strict',
      images: { ca: image('ca', 'v3'), cb: image('cb', 'v3') },
    });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({
      type: 'https://greenlight.dev/problems/release-in-progress',
      running: strict.body.id,
    });

    // Aborting the first lets the queued one through to its own approval; then both are aborted.
    for (const id of [first.body.id, strict.body.id]) {
      const res = await api(e.gl, 'POST', `/api/releases/${id}/abort`, { reason: 'test' });
      expect(res.status).toBe(202);
    }
    expect((await untilRelease(first.body.id, ended)).phase).toBe('RolledBack');
    expect((await untilRelease(strict.body.id, ended)).phase).toBe('RolledBack');
    await untilRelease(second.body.id, (v) => v.phase === 'WaitingApproval');
    const aborted = await api(e.gl, 'POST', `/api/releases/${second.body.id}/abort`, {});
    expect(aborted.status).toBe(202);
    expect((await untilRelease(second.body.id, ended)).phase).toBe('RolledBack');
    // A finished release cannot be promoted.
    const late = await api(e.gl, 'POST', `/api/releases/${second.body.id}/promote`, {});
    expect(late.status).toBe(409);
  });

  it('supersede: a newer release of the name aborts the running one, which rolls back, and takes its place', async () => {
    const before = { sa: serving(e, 'sa'), sb: serving(e, 'sb') };
    const first = await startRelease('swap', { sa: image('sa', 'v2'), sb: image('sb', 'v2') });
    await untilRelease(first.body.id, (v) => v.phase === 'WaitingApproval');
    const second = await startRelease('swap', { sa: image('sa', 'v3'), sb: image('sb', 'v3') });
    expect(second.status).toBe(202);
    expect(second.body.admission).toMatchObject({ kind: 'superseding', superseded: first.body.id });
    const old = await untilRelease(first.body.id, ended);
    expect(old.phase).toBe('RolledBack');
    expect(old.reason).toContain(`superseded by ${second.body.id}`);
    const next = await untilRelease(second.body.id, (v) => v.phase === 'WaitingApproval');
    expect(next.phase).toBe('WaitingApproval');
    await api(e.gl, 'POST', `/api/releases/${second.body.id}/abort`, { reason: 'test over' });
    expect((await untilRelease(second.body.id, ended)).phase).toBe('RolledBack');
    expect(serving(e, 'sa')).toEqual(before.sa);
    expect(serving(e, 'sb')).toEqual(before.sb);
  });

  it('a member that fails its checks restores every member', async () => {
    const before = { fa: serving(e, 'fa'), fb: serving(e, 'fb') };
    e.stack.runtime.setTimeSkipping(true);
    const started = await startRelease('pair', { fa: image('fa', 'v2'), fb: image('fb', 'v2-crash') });
    expect(started.status).toBe(202);
    const done = await untilRelease(started.body.id, ended);
    expect(done.phase).toBe('RolledBack');
    expect(done.members.find((m) => m.app === 'fb')?.outcome).toBe('RolledBack');
    expect(serving(e, 'fa')).toEqual(before.fa);
    expect(serving(e, 'fb')).toEqual(before.fb);
    // Over is over: abort, promote and undo of a rolled-back release are refused, saying why.
    for (const action of ['abort', 'promote', 'undo']) {
      const res = await api(e.gl, 'POST', `/api/releases/${started.body.id}/${action}`, {});
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const p = (await res.json()) as { type: string; detail: string };
      expect(p.type).toMatch(/\/release-not-running$/);
      expect(p.detail).toMatch(/is RolledBack/);
    }
  });

  it('a member that fails its watch after both were promoted: the promoted first member is restored too', async () => {
    const before = { wa: serving(e, 'wa'), wb: serving(e, 'wb') };
    // Everything up to the watch runs; the watch's one-minute checks wait until the failure is in place.
    e.stack.runtime.setTimeSkipping((next, now) => next - now < 60_000);
    const started = await startRelease('watched', { wa: image('wa', 'v2'), wb: image('wb', 'v2') });
    const id = started.body.id;
    const watching = await untilRelease(id, (v) => v.members.every((m) => m.promoted));
    expect(watching.members.map((m) => m.promoted)).toEqual([true, true]);
    const green = watching.members[1]!.rollout?.green;
    expect(green).toBeDefined();
    e.stack.emulator.setRevisionHealth(refOf('wb'), green!, 'Unhealthy');
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilRelease(id, ended);
    expect(done.phase).toBe('RolledBack');
    expect(done.members.find((m) => m.app === 'wb')?.reason ?? done.reason).toMatch(/watch/i);
    expect(serving(e, 'wa')).toEqual(before.wa);
    expect(serving(e, 'wb')).toEqual(before.wb);
  });

  it('undo within the window restores every member; the release ends Undone', async () => {
    // The undo window (10 min) stays open: only shorter waits are skipped.
    e.stack.runtime.setTimeSkipping((next, now) => next - now < 5 * 60_000);
    const before = { fa: serving(e, 'fa'), fb: serving(e, 'fb') };
    const started = await startRelease('pair', { fa: image('fa', 'v3'), fb: image('fb', 'v3') });
    const id = started.body.id;
    const succeeded = await untilRelease(id, ended);
    expect(succeeded.phase).toBe('Succeeded');
    expect(succeeded.undo?.state).toBe('open');
    expect(serving(e, 'fa')).not.toEqual(before.fa);
    const res = await api(e.gl, 'POST', `/api/releases/${id}/undo`, { reason: 'customers complain' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id, action: 'undo', accepted: true });
    e.stack.runtime.setTimeSkipping(true);
    const undone = await untilRelease(id, (v) => v.phase === 'Undone' || v.done);
    expect(undone.phase).toBe('Undone');
    expect(serving(e, 'fa')).toEqual(before.fa);
    expect(serving(e, 'fb')).toEqual(before.fb);
    const kinds = (await auditKinds(`rollout=${encodeURIComponent(id)}`)).map((x) => x.kind);
    expect(kinds).toEqual(expect.arrayContaining(['release.started', 'release.undone']));
  });

  it('a push set that never completes is recorded when the window closes, and nothing starts', async () => {
    await pushEvents(e.gl, [
      imagePushedEvent({
        id: 'evt-gx-3',
        registry,
        repository: 'e2e/gx',
        tag: 'v3.0.1',
        digest: digestOf(image('gx', 'v3.0.1')),
      }),
    ]);
    const gathering = 'gather:pushed:v3';
    let status: InstanceStatus | undefined;
    for (let i = 0; i < 400; i++) {
      status = await gatherStatus(gathering);
      if (status?.runtimeStatus === 'Completed') break;
      await sleep(50);
    }
    expect(status?.runtimeStatus).toBe('Completed');
    expect(status?.customStatus).toMatchObject({ state: 'Incomplete', missing: ['gy'] });
    expect(await listReleases('pushed')).toEqual([]);
    // Gathered, so not rolled out alone either.
    const rollouts = (await (await api(e.gl, 'GET', '/api/rollouts?app=gx')).json()) as { count: number };
    expect(rollouts.count).toBe(0);
    // Recorded: the push (gathered) and the window closing (incomplete), in the ledger and the audit.
    const rows = (await ledger()).filter((t) => t.image.includes('e2e/gx:v3.0.1'));
    expect(rows.map((t) => t.decision).sort()).toEqual(['release gathered', 'release incomplete']);
    expect(rows.find((t) => t.decision === 'release incomplete')?.detail).toMatch(/no image for gy/);
    // And the members' channels were told, once each, in a message their service accepts.
    const card = await inbox.waitFor(
      (m) => m.kind === 'teams' && m.title.includes('Release not started: pushed'),
      10_000,
    );
    expect(card.accepted).toBe(true);
    const hook = await inbox.waitFor(
      (m) => m.kind === 'webhook' && (m.event ?? '').endsWith('releaseIncomplete'),
      10_000,
    );
    expect(hook).toMatchObject({ accepted: true, verified: true });
    const entries = await auditKinds('limit=500');
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'release.gathered' }),
        expect.objectContaining({
          kind: 'release.gatherIncomplete',
          summary: expect.stringMatching(/no image for gy/),
        }),
      ]),
    );
  });

  it('a push set that completes starts one release; a redelivered push starts nothing more', async () => {
    const event = (app: string, tag: string, id: string) =>
      imagePushedEvent({ id, registry, repository: `e2e/${app}`, tag, digest: digestOf(image(app, tag)) });
    // The window stays open while the pushes arrive (time runs at its own pace); then the release runs.
    e.stack.runtime.setTimeSkipping(false);
    await pushEvents(e.gl, [event('gx', 'v4.0.1', 'evt-gx-4')]);
    await pushEvents(e.gl, [event('gx', 'v4.0.1', 'evt-gx-4')]);
    await pushEvents(e.gl, [event('gy', 'v4.0.2', 'evt-gy-4')]);
    e.stack.runtime.setTimeSkipping(true);
    let releases: ReleaseView[] = [];
    for (let i = 0; i < 400 && releases.length === 0; i++) {
      releases = await listReleases('pushed');
      await sleep(50);
    }
    if (releases.length !== 1) {
      throw new Error(
        `expected one release; gathering: ${JSON.stringify(await gatherStatus('gather:pushed:v4'))}`,
      );
    }
    const done = await untilRelease(releases[0]!.id, ended);
    expect(done.phase).toBe('Succeeded');
    expect(done.members.map((m) => m.image)).toEqual([
      expect.stringContaining('e2e/gx:v4.0.1'),
      expect.stringContaining('e2e/gy:v4.0.2'),
    ]);
    expect(await listReleases('pushed')).toHaveLength(1);
  });

  it('a rollout of a member app whose policy says supersede waits behind a running release, never tears it down', async () => {
    const started = await startRelease('keep', { ka: image('ka', 'v2'), kb: image('kb', 'v2') });
    expect(started.status).toBe(202);
    const id = started.body.id;
    const first = await untilRelease(id, (v) => v.phase === 'WaitingApproval' || ended(v));
    expect(first.reason ?? first.phase).toBe('WaitingApproval');
    const newer = image('ka', 'v3');
    const res = await api(e.gl, 'POST', '/api/rollouts', {
      app: 'ka',
      image: newer,
      digest: digestOf(newer),
    });
    const body = (await res.json()) as { id: string; admission: { kind: string } };
    expect(body.admission.kind).toBe('queued');
    // The release is untouched: still waiting for its one approval, no member aborted.
    const still = await getRelease(id);
    expect(still.phase).toBe('WaitingApproval');
    expect(still.members.every((m) => m.rollout?.runtimeStatus !== 'Completed')).toBe(true);

    await api(e.gl, 'POST', `/api/releases/${id}/promote`, { reason: 'ship the pair' });
    expect((await untilRelease(id, ended, 90_000)).phase).toBe('Succeeded');
    // Then the queued rollout of ka goes, from the release's ka.
    expect((await untilDone(e, body.id)).outcome).toBe('Succeeded');
  });

  it('a release waits behind a running rollout of a member app, then goes on', async () => {
    const rollout = await startRollout(e, 'qa', 'v2');
    await untilPhase(e, rollout, 'WaitingApproval');
    const started = await startRelease('queued', { qa: image('qa', 'v3'), qb: image('qb', 'v3') });
    expect(started.status).toBe(202);
    const id = started.body.id;
    const queued = await untilRelease(id, (v) => v.phase === 'Queued' && (v.queuedBehind?.length ?? 0) > 0);
    expect(queued.queuedBehind).toEqual(
      expect.arrayContaining([{ app: expect.any(String), holder: rollout }]),
    );
    // Nothing of the release touched qa while its rollout runs.
    expect(queued.members.every((m) => !m.rollout)).toBe(true);

    await api(e.gl, 'POST', `/api/rollouts/${rollout}/promote`, { reason: 'let the release through' });
    e.stack.runtime.setTimeSkipping(true);
    expect((await untilDone(e, rollout)).outcome).toBe('Succeeded');
    const done = await untilRelease(id, ended, 90_000);
    expect(done.phase).toBe('Succeeded');
  });
});
