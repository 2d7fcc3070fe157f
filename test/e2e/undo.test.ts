// Undo after promotion end to end: the unchanged app on the local runtime, the emulator over HTTPS, real
// Redis and, for the flag strategy, real TCP workers. Real time with short windows: an undo window is a
// durable timer, which a virtual clock would skip at once.
import type { Redis } from 'ioredis';
import { tcpWorkerFlagStrategy, tcpWorkerMockOutput } from '../../local/stack';
import { RedisControlPlane } from '../../src/adapters/flags/redisControlPlane';
import { appKey } from '../../src/domain/flag/control';
import { checkpointKey, prodLogKey } from '../../src/protocol/flagKeys';
import { cli } from '../cli/run';
import { newTestRedis } from '../support/redis';
import { until } from '../support/until';
import {
  assertTrafficInvariant,
  getRollout,
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
import { api } from '../../local/client';

let e: E2E;
let redis: Redis;
let control: RedisControlPlane;

/** A fast traffic policy: one step, no watch, a 60 s undo window ahead of a 10-minute cleanup delay. */
function undoTraffic(name: string, cleanup: Record<string, unknown> = {}): Record<string, unknown> {
  return trafficPolicy(name, {
    validation: {
      readiness: { timeout: 'PT30S', pollInterval: 'PT0.2S' },
      smoke: [{ name: 'health', path: '/healthz', expectStatus: 200 }],
    },
    watch: { duration: 'PT0S', interval: 'PT1S' },
    cleanup: { deactivateAfter: 'PT10M', undoWindow: 'PT60S', keepRevisions: 2, ...cleanup },
  });
}

function undoFlag(name: string, keyPrefix: string): Record<string, unknown> {
  return {
    name,
    app: refOf(name),
    trigger: { registry, repository: `e2e/${name}`, tags: ['*'] },
    concurrency: 'queue',
    strategy: tcpWorkerFlagStrategy(keyPrefix, 'PT15S'),
    validation: {
      readiness: { timeout: 'PT30S', pollInterval: 'PT0.2S' },
      mock: { deadline: 'PT15S', minRecords: 40, maxLag: 50, ...tcpWorkerMockOutput },
    },
    approval: { required: false },
    bake: 'PT0S',
    watch: { duration: 'PT7S', interval: 'PT1S' },
    cleanup: { deactivateAfter: 'PT2M', keepRevisions: 1 },
  };
}

beforeAll(async () => {
  e = await startE2E(
    (fp) => [
      undoTraffic('undo-http'),
      undoTraffic('undo-cli'),
      undoTraffic('undo-newer'),
      undoTraffic('undo-late', { deactivateAfter: 'PT1S', undoWindow: 'PT1S' }),
      undoFlag('undo-flag', fp),
    ],
    { clock: 'real', emulator: { provisioningDelayMs: 300 } },
  );
  redis = newTestRedis();
  control = new RedisControlPlane(redis, e.flagPrefix);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await e?.stop();
});

const undo = (id: string, body?: unknown) => api(e.gl, 'POST', `/api/rollouts/${id}/undo`, body);

function isActive(name: string, revision: string): boolean | undefined {
  const rev = e.stack.emulator.getRevisions(refOf(name)).find((r) => r.name === revision) as
    { properties?: { active?: boolean } } | undefined;
  return rev?.properties?.active;
}

describe('undo after promotion (local runtime, emulator)', () => {
  it('restores the exact traffic snapshot over HTTP; bad input is refused and changes nothing', async () => {
    await seed(e, 'undo-http');
    const before = serving(e, 'undo-http');
    const id = await startRollout(e, 'undo-http', 'v2');
    const succeeded = await untilPhase(e, id, 'Succeeded', 30_000);
    expect(succeeded.phase).toBe('Succeeded');
    expect(succeeded.done).toBe(false);
    expect(succeeded.undo).toMatchObject({
      state: 'open',
      command: `greenlight rollout --app undo-http --image ${registry}/e2e/undo-http:v1`,
    });
    const green = succeeded.green!;
    const promoted = serving(e, 'undo-http');
    expect(promoted.filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: green, weight: 100 }),
    ]);

    for (const [body, status, detail] of [
      [{ reason: 42 }, 400, /reason: /],
      [{ reason: 'x'.repeat(501) }, 400, /at most 500/],
      [{ reason: 'ok', extra: true }, 400, /extra|Unrecognized/i],
      ['not an object', 400, /expected object/],
    ] as const) {
      const res = await undo(id, body);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(((await res.json()) as { detail: string }).detail).toMatch(detail);
    }
    const badId = await undo('..%2f..%2fetc', { reason: 'x' });
    expect(badId.status).toBe(400);
    const unknown = await undo('no-such-rollout', {});
    expect(unknown.status).toBe(404);
    expect(serving(e, 'undo-http')).toEqual(promoted);
    expect((await getRollout(e.gl, id)).phase).toBe('Succeeded');

    const res = await undo(id, { reason: 'customers report errors' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id, action: 'undo', accepted: true });
    const done = await untilDone(e, id, 30_000);
    expect(done).toMatchObject({ phase: 'Undone', outcome: 'Undone' });
    expect(done.undo).toMatchObject({
      state: 'undone',
      reason: 'customers report errors',
      by: expect.any(String),
    });
    expect(serving(e, 'undo-http')).toEqual(before);
    expect(isActive('undo-http', green)).toBe(false);
    assertTrafficInvariant(e, 'undo-http');

    const again = await undo(id, {});
    expect(again.status).toBe(409);
    expect(((await again.json()) as { type: string }).type).toMatch(/already-undone/);
  }, 60_000);

  it('greenlight undo <id> --reason undoes a traffic rollout', async () => {
    await seed(e, 'undo-cli');
    const before = serving(e, 'undo-cli');
    const id = await startRollout(e, 'undo-cli', 'v2');
    await untilPhase(e, id, 'Succeeded', 30_000);
    const env = { GREENLIGHT_URL: e.gl.baseUrl, GREENLIGHT_KEY: e.gl.functionKey };
    const run = await cli(['undo', id, '--reason', 'rolled forward by mistake'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${id}: undo requested`);
    const waited = await cli(['wait', id, '--for', 'done', '--timeout', '30s'], { env });
    // Undone exits like a rollback: the previous version serves again.
    expect(waited.code).toBe(2);
    expect(waited.stdout + waited.stderr).toMatch(/Undone/);
    expect(serving(e, 'undo-cli')).toEqual(before);
    // After the end the CLI shows the API's refusal and exits non-zero.
    const late = await cli(['undo', id], { env });
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/was undone by/);
  }, 60_000);

  it('refuses an undo once a newer rollout of the app has started, with the command to roll blue out again', async () => {
    await seed(e, 'undo-newer');
    const first = await startRollout(e, 'undo-newer', 'v2');
    await untilPhase(e, first, 'Succeeded', 30_000);
    const second = await startRollout(e, 'undo-newer', 'v3');
    expect(second).not.toBe(first);
    const res = await undo(first, { reason: 'too late' });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { type: string; detail: string; command: string; newer: string };
    expect(body.type).toMatch(/newer-rollout/);
    expect(body.newer).toBe(second);
    expect(body.command).toBe(`greenlight rollout --app undo-newer --image ${registry}/e2e/undo-newer:v1`);
    expect(body.detail).toContain(body.command);
    const done = await untilPhase(e, second, 'Succeeded', 30_000);
    expect(done.outcome).toBe('Succeeded');
    // The first, its window closed by the second, does not touch production when it ends.
    expect((await getRollout(e.gl, first)).phase).toBe('Succeeded');
    expect(serving(e, 'undo-newer').filter((t) => t.weight > 0)).toEqual([
      expect.objectContaining({ revisionName: done.green, weight: 100 }),
    ]);
  }, 60_000);

  it('refuses an undo after the window, with the command to roll blue out again', async () => {
    await seed(e, 'undo-late');
    const id = await startRollout(e, 'undo-late', 'v2');
    const done = await untilDone(e, id, 30_000);
    expect(done).toMatchObject({ outcome: 'Succeeded', undo: { state: 'closed' } });
    const res = await undo(id, {});
    expect(res.status).toBe(409);
    const body = (await res.json()) as { type: string; detail: string; command: string };
    expect(body.type).toMatch(/undo-window-closed/);
    expect(body.command).toBe(`greenlight rollout --app undo-late --image ${registry}/e2e/undo-late:v1`);
  }, 60_000);

  it('undo of a flag rollout flips back, verified, epoch forward, nothing lost or doubled', async () => {
    const name = 'undo-flag';
    const view = await e.stack.emulator.seedApp({
      ...refOf(name),
      image: `${registry}/e2e/${name}:v1`,
      ingress: false,
      workload: { kind: 'tcp' },
    });
    const blue = view.revisions?.[0]?.name ?? (await control.read(appKey(refOf(name))))?.active;
    const checkpoint = async (): Promise<number> =>
      Number((await redis.get(checkpointKey(prodLogKey(e.flagPrefix, appKey(refOf(name)), 'sink')))) ?? 0);
    await until('blue to process', async () => (await checkpoint()) >= 20);
    const before = await control.read(appKey(refOf(name)));

    const id = await startRollout(e, name, 'v2');
    const succeeded = await untilPhase(e, id, 'Succeeded', 60_000);
    expect(succeeded.phase).toBe('Succeeded');
    const green = succeeded.green!;
    const flipped = await checkpoint();
    await until('green to process', async () => (await checkpoint()) >= flipped + 20);

    const res = await undo(id, { reason: 'latency' });
    expect(res.status).toBe(202);
    const done = await untilDone(e, id, 60_000);
    expect(done).toMatchObject({ phase: 'Undone', outcome: 'Undone' });
    expect(done.checks.flip).toMatchObject({ name: 'flip back', ok: true });
    const record = await control.read(appKey(refOf(name)));
    // Flip and flip back: the epoch moved forward twice.
    expect(record).toMatchObject({ active: blue, epoch: before!.epoch + 2 });
    expect(record!.revisions[green]).toBeUndefined();

    const at = await checkpoint();
    await until('blue to process again', async () => (await checkpoint()) >= at + 20);
    // The checkpoint first: every frame up to it is in the log read after.
    const last = await checkpoint();
    const rows = await redis.xrange(prodLogKey(e.flagPrefix, appKey(refOf(name)), 'sink'), '-', '+');
    const seen = new Map<number, number>();
    const writers = new Set<string>();
    for (const [, flat] of rows) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      const frame = Number(f.frameId);
      if (frame > last) continue;
      seen.set(frame, (seen.get(frame) ?? 0) + 1);
      if (f.revision) writers.add(f.revision);
    }
    const first = Math.min(...seen.keys());
    let gaps = 0;
    for (let frame = first; frame <= last; frame++) if (!seen.has(frame)) gaps++;
    const doubled = [...seen.values()].filter((n) => n > 1).length;
    expect({ gaps, doubled }).toEqual({ gaps: 0, doubled: 0 });
    expect([...writers].sort()).toEqual([blue, green].sort());
  }, 120_000);
});
