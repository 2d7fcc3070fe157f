/**
 * A coordinated release of 5 apps for `npm run bench` (runs alone as `node dist/local/bench/release.js`):
 * wall time and ARM requests of a release with instant provisioning and zero waits, and the time to restore
 * every member after one member's revision fails its watch once all 5 were promoted.
 */
import { VirtualClock } from '../clock';
import { api } from '../client';
import { startLocalStack, type LocalStack } from '../stack';
import { disposeServices } from '../../src/composition';
import type { ReleaseView } from '../../src/services/releaseView';
import { classifyArmRequests } from './arm';

const sub = '00000000-0000-0000-0000-0000000000be';
const rg = 'rg-bench-release';
const progress = (s: string): void => void process.stderr.write(`bench: ${s}\n`);
const ref = (name: string) => ({ subscriptionId: sub, resourceGroup: rg, name });

function appPolicy(name: string): Record<string, unknown> {
  return {
    name,
    app: ref(name),
    allowedImages: [`bench.azurecr.io/${name}:*`],
    strategy: { type: 'traffic', steps: [100] },
    validation: { readiness: { timeout: 'PT10M', pollInterval: 'PT1S' } },
    approval: { required: false },
    bake: 'PT0S',
    watch: { duration: 'PT0S' },
    cleanup: { deactivateAfter: 'PT0S', keepRevisions: 2 },
  };
}

const members = (prefix: string) => Array.from({ length: 5 }, (_, i) => `${prefix}${i + 1}`);
const ended = (v: ReleaseView): boolean =>
  v.done || ['Succeeded', 'RolledBack', 'RollbackFailed', 'Undone'].includes(v.phase);

async function getRelease(stack: LocalStack, id: string): Promise<ReleaseView> {
  const res = await api(stack.http, 'GET', `/api/releases/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`GET release ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ReleaseView;
}

async function until(
  stack: LocalStack,
  id: string,
  ok: (v: ReleaseView) => boolean,
  timeoutMs = 300_000,
): Promise<ReleaseView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await getRelease(stack, id);
    if (ok(v) || ended(v)) return v;
    if (Date.now() > deadline) throw new Error(`release ${id} stuck at ${v.phase}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function start(stack: LocalStack, release: string, apps: string[]): Promise<string> {
  const images = Object.fromEntries(apps.map((a) => [a, `bench.azurecr.io/${a}:v2`]));
  const res = await api(stack.http, 'POST', '/api/releases', { release, images });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 202 || !body.id)
    throw new Error(`starting ${release}: ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

const live = (stack: LocalStack, app: string): string =>
  JSON.stringify(stack.emulator.traffic(ref(app)).filter((t) => t.weight > 0));

export async function releaseBench(): Promise<Record<string, unknown>> {
  const ok = members('rel');
  const bad = members('rfail');
  const stack = await startLocalStack({
    policies: [
      ...[...ok, ...bad].map(appPolicy),
      { kind: 'Release', name: 'bench5', members: ok, approval: { required: false } },
      // Members watch an hour (one check a minute, on the virtual clock): long enough to fail in.
      {
        kind: 'Release',
        name: 'bench5fail',
        members: bad,
        approval: { required: false },
        watch: { duration: 'PT1H', interval: 'PT1M' },
      },
    ],
    seed: [...ok, ...bad].map((name) => ({ ...ref(name), image: `bench.azurecr.io/${name}:v1` })),
    emulator: { provisioningDelayMs: 0, lroDurationMs: 0 },
    env: { GREENLIGHT_ARM_POLL_INTERVAL_MS: '1', GREENLIGHT_ARM_RETRY_DELAY_MS: '10' },
    clock: new VirtualClock(Date.now()),
    dropStateOnStop: true,
  });
  try {
    stack.runtime.setTimeSkipping(true);

    // 1. Five apps released as one: request → Succeeded, every member promoted.
    stack.emulator.resetRequestLog();
    const t0 = Date.now();
    const id = await start(stack, 'bench5', ok);
    const done = await until(stack, id, (v) => v.phase === 'Succeeded');
    const wallMs = Date.now() - t0;
    const greens = done.members.map((m) => m.rollout?.green);
    const arm = classifyArmRequests(stack.emulator.requestLog, undefined);
    const readinessPolls = stack.emulator.requestLog.filter(
      (r) =>
        r.method === 'GET' &&
        greens.some((g) => g && r.path.toLowerCase().endsWith(`/revisions/${g.toLowerCase()}`)),
    ).length;
    const happy = {
      apps: ok.length,
      outcome: done.phase,
      promoted: done.members.filter((m) => m.promoted).length,
      wallMs,
      armRequests: stack.emulator.requestLog.length,
      armRequestsPerApp: Math.round(stack.emulator.requestLog.length / ok.length),
      revisionGets: readinessPolls,
      operationPolls: arm.operationPolls,
      byKind: arm.byKind,
    };
    progress(`  release of 5 apps: ${JSON.stringify(happy)}`);

    // 2. All five promoted and watching; then one member's revision turns unhealthy: every member restored.
    const snapshot = Object.fromEntries(bad.map((a) => [a, live(stack, a)]));
    const failId = await start(stack, 'bench5fail', bad);
    const watching = await until(
      stack,
      failId,
      (v) => v.phase === 'Watching' && v.members.every((m) => m.promoted),
    );
    if (watching.phase !== 'Watching')
      throw new Error(`the failing release ended ${watching.phase} before it watched`);
    const victim = watching.members[2]!;
    const green = victim.rollout?.green;
    if (!green) throw new Error(`member ${victim.app} has no green revision`);
    const tFail = Date.now();
    stack.emulator.setRevisionHealth(ref(victim.app), green, 'Unhealthy');
    let detectedMs: number | undefined;
    let restoredMs: number | undefined;
    for (;;) {
      const v = await getRelease(stack, failId);
      if (detectedMs === undefined && (v.phase === 'RollingBack' || ended(v)))
        detectedMs = Date.now() - tFail;
      if (restoredMs === undefined && bad.every((a) => live(stack, a) === snapshot[a]))
        restoredMs = Date.now() - tFail;
      if (ended(v) && restoredMs !== undefined) {
        const failure = {
          apps: bad.length,
          failedMember: victim.app,
          outcome: v.phase,
          failureToRollingBackMs: detectedMs,
          failureToAllRestoredMs: restoredMs,
          failureToReleaseEndedMs: Date.now() - tFail,
          restored: bad.filter((a) => live(stack, a) === snapshot[a]).length,
        };
        progress(`  restore of 5 apps: ${JSON.stringify(failure)}`);
        return { fiveApps: happy, restoreAfterFailure: failure };
      }
      if (Date.now() - tFail > 300_000)
        throw new Error(`release ${failId} did not restore within 5 minutes: ${v.phase}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await stack.stop();
    await disposeServices();
  }
}

if (require.main === module) {
  require('../runtime/hook').provideFunctionsCore();
  releaseBench().then(
    (figures) => {
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
