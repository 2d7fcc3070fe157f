import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, imagePushedEvent, pushEvents, sleep } from '../../local/client';
import { freePort, redisAnswers } from '../support/redisServer';
import {
  assertTrafficInvariant,
  digestOf,
  getRollout,
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

/**
 * Redis faults on a throwaway redis-server of its own (append-only file on a temporary folder, so a
 * restart can keep its data or lose it): triggers answer 503 while it is away, the runtime keeps its
 * work in memory and writes it when Redis answers, running rollouts converge, the app lock survives an
 * empty restart and an approval is spent once.
 */
class ThrowawayRedis {
  private child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'greenlight-redis-faults-'));
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const bin = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
    if (!bin) throw new Error('redis-server is not installed: apt-get install redis-server');
    const child = spawn(
      bin,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers('127.0.0.1', this.port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} never answered PING`);
  }

  /** Ends it abruptly (as a crash or a lost host does). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Forgets everything it held: the next start is an empty Redis. */
  wipe(): void {
    rmSync(this.dir, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', this.dir]);
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const policies = [
  trafficPolicy('ready'),
  trafficPolicy('approve', {
    concurrency: 'queue',
    approval: { required: true, timeout: 'PT24H', onTimeout: 'rollback' },
  }),
  trafficPolicy('promote', { strategy: { type: 'traffic', steps: [10, 50, 100], stepPause: 'PT2H' } }),
];

let redis: ThrowawayRedis;
let e: E2E;
const withinAnHour = (next: number, now: number): boolean => next - now < 3_600_000;

beforeAll(async () => {
  redis = new ThrowawayRedis(await freePort());
  await redis.start();
  const suiteRedis = process.env.GREENLIGHT_TEST_REDIS_URL;
  process.env.GREENLIGHT_TEST_REDIS_URL = redis.url;
  try {
    e = await startE2E(policies, { env: { GREENLIGHT_TRUST_CLIENT_PRINCIPAL: 'true' } });
  } finally {
    process.env.GREENLIGHT_TEST_REDIS_URL = suiteRedis;
  }
}, 60_000);

afterAll(async () => {
  try {
    await e?.stop();
  } finally {
    await redis?.dispose();
  }
}, 30_000);

/** While Redis is away: a rollout request and an Event Grid delivery both answer 503 with Retry-After. */
async function expectTriggersUnavailable(app: string): Promise<void> {
  const image = `${registry}/e2e/${app}:v9`;
  const res = await api(e.gl, 'POST', '/api/rollouts', { app, image, digest: digestOf(image) });
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect(res.headers.get('retry-after')).toBeTruthy();
  // The delivery fails with 503, which Event Grid retries (the client throws on anything but 2xx).
  await expect(
    pushEvents(e.gl, [
      imagePushedEvent({
        id: `outage-${app}`,
        registry,
        repository: `e2e/${app}`,
        tag: 'v9',
        digest: digestOf(image),
      }),
    ]),
  ).rejects.toThrow(/delivery failed: 503/);
}

/** Redis away for `ms`, then back with or without its data; returns when it answers again. */
async function outage(app: string, ms: number, restart: 'keepData' | 'empty'): Promise<void> {
  await redis.kill();
  const started = Date.now();
  try {
    await expectTriggersUnavailable(app);
    await sleep(Math.max(0, ms - (Date.now() - started)));
  } finally {
    if (restart === 'empty') redis.wipe();
    await redis.start();
  }
}

/** Approves as a person does: opens the page, then submits its form for the decision. */
async function decide(pageUrl: string, decision: 'approve' | 'reject', approver: string): Promise<Response> {
  const page = await (await fetch(pageUrl, { headers: { accept: 'text/html' } })).text();
  const forms = [...page.matchAll(/<form[^>]*method="post"[^>]*action="([^"]+)">(.*?)<\/form>/gs)];
  const form = forms.find((f) => f[2]?.includes(`name="decision" value="${decision}"`));
  const token = form?.[2] ? /name="token" value="([^"]+)"/.exec(form[2])?.[1] : undefined;
  if (!form?.[1] || !token) throw new Error(`the approval page has no ${decision} form`);
  return fetch(new URL(form[1].replace(/&amp;/g, '&'), pageUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'x-ms-client-principal-name': approver,
    },
    body: new URLSearchParams({ token, decision }).toString(),
  });
}

function green100(app: string, green: string | undefined): void {
  expect(
    serving(e, app)
      .filter((t) => t.weight > 0)
      .map((t) => [t.revisionName, t.weight]),
  ).toEqual([[green, 100]]);
}

describe('Redis faults during a rollout', () => {
  it('WaitingReady, Redis away for 30 s and back with its data: the rollout resumes and succeeds', async () => {
    await seed(e, 'ready');
    e.stack.runtime.setTimeSkipping(false);
    const id = await startRollout(e, 'ready', 'v2');
    await untilPhase(e, id, 'WaitingReady');
    await outage('ready', 30_000, 'keepData');
    const back = Date.now();
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    process.stdout.write(
      `redisFaults: WaitingReady, 30 s outage: converged ${Date.now() - back} ms after Redis returned\n`,
    );
    expect(done.outcome).toBe('Succeeded');
    green100('ready', done.green);
    assertTrafficInvariant(e, 'ready');
  }, 60_000);

  it('WaitingApproval, Redis restarted empty: the lock holds (a second rollout queues), the approval is spent once and reaches the rollout', async () => {
    await seed(e, 'approve');
    e.stack.runtime.setTimeSkipping(withinAnHour);
    const id = await startRollout(e, 'approve', 'v2');
    const waiting = await untilPhase(e, id, 'WaitingApproval');
    await outage('approve', 5_000, 'empty');
    const back = Date.now();

    // Everything Greenlight knew is gone from Redis, but the rollout runs: a second one waits behind it.
    const image = `${registry}/e2e/approve:v3`;
    let second: Response | undefined;
    for (let i = 0; i < 50; i++) {
      second = await api(e.gl, 'POST', '/api/rollouts', { app: 'approve', image, digest: digestOf(image) });
      if (second.status !== 503) break;
      await sleep(100);
    }
    expect(second?.status).toBe(202);
    const admission = ((await second?.json()) as { admission: { kind: string; behind?: string } }).admission;
    expect(admission).toMatchObject({ kind: 'queued', behind: id });
    expect((await getRollout(e.gl, id)).phase).toBe('WaitingApproval');
    const queuedId = (admission as { kind: string; rolloutId?: string }).rolloutId ?? '';
    // Queued, not running: no instance exists for it yet.
    expect((await api(e.gl, 'GET', `/api/rollouts/${encodeURIComponent(queuedId)}`)).status).toBe(404);

    const result = await decide(waiting.approval.pageUrl ?? '', 'approve', 'alice@contoso.com');
    expect(result.status).toBe(200);
    // The same link again, while the decision travels and after: spent once.
    const again = await fetch(waiting.approval.pageUrl ?? '', { headers: { accept: 'application/json' } });
    expect(again.status).toBe(409);

    // Still short of an hour: the queued rollout, started as this one ends, stops at its approval wait.
    const done = await untilDone(e, id);
    process.stdout.write(
      `redisFaults: WaitingApproval, empty restart after 5 s: converged ${Date.now() - back} ms after Redis returned\n`,
    );
    expect(done.outcome).toBe('Succeeded');
    expect(done.approval).toMatchObject({ state: 'approved', decidedBy: 'alice@contoso.com' });
    assertTrafficInvariant(e, 'approve');

    // The queued rollout starts only now, after the first finished, and runs to its approval wait.
    const next = await untilPhase(e, queuedId, 'WaitingApproval');
    expect(next.phase).toBe('WaitingApproval');
  }, 60_000);

  it('Promoting, Redis restarted empty after 5 s: the rollout finishes its steps', async () => {
    await seed(e, 'promote');
    e.stack.runtime.setTimeSkipping(withinAnHour);
    // Halfway: green serves a share, the next step waits on its (two-hour) pause.
    const id = await startRollout(e, 'promote', 'v2');
    const promoting = await untilPhase(e, id, 'Promoting');
    await e.stack.runtime.whenIdle();
    // Green serves its first share when Redis goes.
    const split = serving(e, 'promote').find((t) => t.revisionName === promoting.green);
    expect(split?.weight).toBe(10);
    await outage('promote', 5_000, 'empty');
    const back = Date.now();
    e.stack.runtime.setTimeSkipping(true);
    const done = await untilDone(e, id);
    process.stdout.write(
      `redisFaults: Promoting, empty restart after 5 s: converged ${Date.now() - back} ms after Redis returned\n`,
    );
    expect(done.outcome).toBe('Succeeded');
    green100('promote', done.green);
    assertTrafficInvariant(e, 'promote');
  }, 60_000);
});
