// Change control end to end on the local runtime: the what-if plan against what a real run then does,
// counted on the emulator's ARM request log and on Redis (MONITOR), and the emergency stop API.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { api } from '../../local/client';
import { testRedisUrl } from '../support/redis';
import {
  digestOf,
  refOf,
  registry,
  seed,
  startE2E,
  startRollout,
  trafficPolicy,
  untilDone,
  untilPhase,
  type E2E,
} from './support';

let e: E2E | undefined;
afterEach(async () => {
  await e?.stop();
  e = undefined;
});

const writeMethods = new Set(['PUT', 'PATCH', 'POST', 'DELETE']);

/** Every key under the stack's prefix with a digest of its value (DUMP), to see what a call changed. */
async function keyspace(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const dump = await redis.dumpBuffer(key);
      out.set(key, dump ? createHash('sha256').update(dump).digest('hex') : 'gone');
    }
  } while (cursor !== '0');
  return out;
}

/** Keys added, removed or changed between two keyspace snapshots. */
function changedKeys(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}

interface Plan {
  admission: { verdict: string };
  refused: boolean;
  findings: { kind: string; outcome: string }[];
  writes: {
    method: string;
    path: string;
    body?: { properties?: { configuration?: { ingress?: { traffic?: unknown[] } } } };
  }[];
}

describe('what-if against a real run on the local runtime', () => {
  it('the dry run writes nothing to ARM or Redis, and the real run then makes the planned ARM writes in order', async () => {
    e = await startE2E([
      trafficPolicy('cc', {
        strategy: { type: 'traffic', steps: [50, 100], stepPause: 'PT1M' },
        cleanup: { deactivateAfter: 'PT1M', keepRevisions: 1 },
      }),
    ]);
    await seed(e, 'cc');
    const image = `${registry}/e2e/cc:v2`;
    const prefix = e.stack.keyPrefix;

    const redis = new Redis(testRedisUrl());
    const before = await keyspace(redis, prefix);
    e.stack.emulator.resetRequestLog();
    const reply = await api(e.gl, 'POST', '/api/rollouts?dryRun=true', {
      app: 'cc',
      image,
      digest: digestOf(image),
    });
    expect(reply.status).toBe(200);
    const redisChanges = changedKeys(before, await keyspace(redis, prefix));
    redis.disconnect();
    const plan = (await reply.json()) as Plan;
    expect(plan.refused).toBe(false);
    const dryArm = [...e.stack.emulator.requestLog];
    const dryWrites = dryArm.filter((r) => writeMethods.has(r.method));
    expect(dryWrites).toEqual([]);
    expect(redisChanges).toEqual([]);
    console.log(
      `dry run: ${dryArm.length} ARM request(s) (${dryArm.map((r) => r.method).join(', ')}), 0 ARM writes; ${before.size} Redis keys under the prefix, ${redisChanges.length} changed; plan: ${plan.writes.length} ARM writes`,
    );

    // The real run of the same image.
    e.stack.emulator.resetRequestLog();
    const id = await startRollout(e, 'cc', 'v2');
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('Succeeded');
    const appPath = `/subscriptions/${refOf('cc').subscriptionId}/resourceGroups/${refOf('cc').resourceGroup}/providers/Microsoft.App/containerApps/cc`;
    const realWrites = e.stack.emulator.requestLog
      .filter((r) => writeMethods.has(r.method) && r.status >= 200 && r.status < 300)
      .map((r) => `${r.method} ${r.path.toLowerCase().replace(appPath.toLowerCase(), '')}`);
    const planned = plan.writes.map((w) => `${w.method} ${w.path.toLowerCase()}`);
    console.log(
      `real run: ${e.stack.emulator.requestLog.length} ARM requests, ${realWrites.length} writes; planned ${planned.length}`,
    );
    expect(realWrites).toEqual(planned);
    // The same keyspace check sees what a real run writes: it would have seen a dry run's writes too.
    const probe = new Redis(testRedisUrl());
    const afterReal = changedKeys(before, await keyspace(probe, prefix));
    probe.disconnect();
    expect(afterReal.length).toBeGreaterThan(0);
    console.log(`real run: ${afterReal.length} Redis keys written under the prefix`);

    // The traffic the plan listed is the traffic the app received, in order.
    const plannedTraffic = plan.writes
      .map((w) => w.body?.properties?.configuration?.ingress?.traffic)
      .filter((t): t is unknown[] => t !== undefined)
      .slice(1); // the deploy pins today's traffic; the emulator's traffic history starts with the first label write
    const received = e.stack.emulator
      .trafficWrites(refOf('cc'))
      .slice(-plannedTraffic.length)
      .map((w) =>
        w.traffic.map((t) => ({
          revisionName: t.revisionName,
          weight: t.weight,
          ...(t.label ? { label: t.label } : {}),
        })),
      );
    expect(received.map(sortTraffic)).toEqual(plannedTraffic.map((t) => sortTraffic(t as Traffic[])));
  });
});

type Traffic = { revisionName: string; weight: number; label?: string };
const sortTraffic = (t: Traffic[]) =>
  [...t].sort((a, b) =>
    `${a.revisionName}${a.label ?? ''}`.localeCompare(`${b.revisionName}${b.label ?? ''}`),
  );

describe('emergency stop API', () => {
  it('engages, refuses new rollouts with 409, refuses bad input with problem+json, lifts', async () => {
    e = await startE2E([trafficPolicy('es')]);
    await seed(e, 'es');
    const image = `${registry}/e2e/es:v2`;

    const bad = await api(e.gl, 'PUT', '/api/emergency-stop', { reason: '' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/reason/);
    const unknownField = await api(e.gl, 'PUT', '/api/emergency-stop', { reason: 'INC-9', by: 'mallory' });
    expect(unknownField.status).toBe(400);

    const engaged = await api(
      e.gl,
      'PUT',
      '/api/apps/' + encodeURIComponent(refOf('es').subscriptionId) + '/rg-e2e/es/emergency-stop',
      {
        reason: 'INC-9 payment outage',
      },
    );
    expect(engaged.status).toBe(201);
    const stop = (await engaged.json()) as { stop: { by: string; scope: { kind: string; app: string } } };
    expect(stop.stop.by).toMatch(/^function key #/); // the caller's identity, never a name from the body
    expect(stop.stop.scope).toEqual({ kind: 'app', app: `${refOf('es').subscriptionId}/rg-e2e/es` });

    const refused = await api(e.gl, 'POST', '/api/rollouts', { app: 'es', image, digest: digestOf(image) });
    expect(refused.status).toBe(409);
    const problem = (await refused.json()) as { type: string; rule: string; detail: string };
    expect(problem.type).toMatch(/production-closed/);
    expect(problem.rule).toBe('emergencyStop:app');
    expect(problem.detail).toMatch(/INC-9 payment outage/);

    const listed = (await (await api(e.gl, 'GET', '/api/emergency-stop')).json()) as {
      stops: unknown[];
      audit: { action: string }[];
    };
    expect(listed.stops).toHaveLength(1);
    expect(listed.audit[0]?.action).toBe('engage');

    const lifted = await api(
      e.gl,
      'DELETE',
      `/api/apps/${refOf('es').subscriptionId}/rg-e2e/es/emergency-stop`,
    );
    expect(lifted.status).toBe(200);
    const again = await api(
      e.gl,
      'DELETE',
      `/api/apps/${refOf('es').subscriptionId}/rg-e2e/es/emergency-stop`,
    );
    expect(again.status).toBe(404);

    // An override must say why; the caller's name comes from the key, never from the body.
    const noReason = await api(e.gl, 'POST', '/api/rollouts', {
      app: 'es',
      image,
      override: { by: 'mallory' },
    });
    expect(noReason.status).toBe(400);
    const noReasonBody = (await noReason.json()) as { detail: string };
    expect(noReasonBody.detail).toMatch(/override\.by: unknown field/);
    expect(noReasonBody.detail).toMatch(/override\.reason: is required/);
    expect((await api(e.gl, 'POST', '/api/rollouts/nope-123/resume', {})).status).toBe(404);

    const id = await startRollout(e, 'es', 'v2');
    expect((await untilDone(e, id)).outcome).toBe('Succeeded');
  });

  it('a global stop with abortRunning aborts the running rollouts in the same call; they roll back', async () => {
    // Real time: the approval wait holds still (a virtual clock would skip its timeout ahead).
    e = await startE2E(
      [
        trafficPolicy('ab', {
          approval: { required: true, timeout: 'PT1H' },
          validation: { readiness: { timeout: 'PT1M', pollInterval: 'PT0.2S' } },
          watch: { duration: 'PT0S', interval: 'PT1M' },
        }),
      ],
      { clock: 'real' },
    );
    await seed(e, 'ab');
    const id = await startRollout(e, 'ab', 'v2');
    await followPhase(e, id, 'WaitingApproval');
    const res = await api(e.gl, 'PUT', '/api/emergency-stop', {
      reason: 'INC-10 region down',
      abortRunning: true,
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { aborted: string[] }).aborted).toEqual([id]);
    const done = await untilDone(e, id);
    expect(done.outcome).toBe('RolledBack');
    expect((await api(e.gl, 'DELETE', '/api/emergency-stop')).status).toBe(200);
  });
});

async function followPhase(env: E2E, id: string, phase: string) {
  const v = await untilPhase(env, id, phase);
  if (v.phase !== phase) throw new Error(`rollout ${id} is ${v.phase} (${v.reason ?? ''}), not ${phase}`);
}
