// An undo after promotion survives the host dying in the middle of it: the runtime (the unchanged app) runs in
// its own process (./appHost.ts) against an emulator this test runs, so the host can be SIGKILLed while the
// undo's traffic write is being retried (the emulator fails every PATCH of the app) and another started on
// the same Redis state, while the emulator keeps the app as the first host left it. Real time: the undo
// window and the retries' backoff are durable timers.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  startContainerAppsEmulator,
  type ContainerAppsEmulator,
  type ResolvedTraffic,
} from '../../local/containerapps-emulator';
import type { AuditEntry } from '../../src/domain/audit';
import type { RolloutView } from '../../src/services/rolloutView';
import { deleteKeysWithPrefix, newTestRedis, testRedisUrl, uniquePrefix } from '../support/redis';
import { trafficInvariantProblems } from '../support/trafficInvariant';
import { until } from '../support/until';
import type { AppHostConfig } from './appHost';
import { digestOf, refOf, registry, trafficPolicy } from './support';

const root = resolve(__dirname, '../..');
const prefix = uniquePrefix('undo-crash');
const files = join(tmpdir(), prefix.replace(/:/g, '-'));
const configFile = `${files}host.json`;
const keysFile = `${files}keys.json`;
const caFile = `${files}ca.pem`;
const children = new Set<ChildProcess>();
let emulator: ContainerAppsEmulator;

interface Host {
  child: ChildProcess;
  baseUrl: string;
  functionKey: string;
  resumed: number;
  log: () => string;
}

/** Promoted at once (one step, no watch), then a 5-minute undo window: the undo is the test. */
const policy = (name: string) =>
  trafficPolicy(name, {
    validation: {
      readiness: { timeout: 'PT30S', pollInterval: 'PT0.2S' },
      smoke: [{ name: 'health', path: '/healthz', expectStatus: 200 }],
    },
    watch: { duration: 'PT0S', interval: 'PT1S' },
    cleanup: { deactivateAfter: 'PT10M', undoWindow: 'PT5M', keepRevisions: 2 },
  });
const apps = { timer: 'undo-crash-timer', write: 'undo-crash-write' };

async function startHost(): Promise<Host> {
  const child = spawn(
    process.execPath,
    ['-r', './test/support/tsRegister.cjs', 'test/e2e/appHost.ts', configFile],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  return new Promise<Host>((ok, fail) => {
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{"ready"')) return;
      const msg = JSON.parse(line) as { baseUrl: string; functionKey: string; resumed: number };
      ok({ child, ...msg, log: () => output });
    });
    child.once('exit', (code) =>
      fail(new Error(`the host exited (${code}) before it was ready:\n${output}`)),
    );
  });
}

async function kill(host: Host): Promise<void> {
  host.child.kill('SIGKILL');
  if (host.child.exitCode === null && host.child.signalCode === null) await once(host.child, 'exit');
  children.delete(host.child);
}

async function call(host: Host, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${host.baseUrl}${path}`, {
    method,
    headers: { 'x-functions-key': host.functionKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function view(host: Host, id: string): Promise<RolloutView> {
  const res = await call(host, 'GET', `/api/rollouts/${id}`);
  if (res.status !== 200) throw new Error(`GET rollout ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as RolloutView;
}

function serving(name: string): ResolvedTraffic[] {
  return emulator
    .traffic(refOf(name))
    .map((t) => ({ revisionName: t.revisionName, weight: t.weight, ...(t.label ? { label: t.label } : {}) }))
    .sort((a, b) => `${a.revisionName}${a.label ?? ''}`.localeCompare(`${b.revisionName}${b.label ?? ''}`));
}

function isActive(name: string, revision: string): boolean | undefined {
  const rev = emulator.getRevisions(refOf(name)).find((r) => r.name === revision) as
    { properties?: { active?: boolean } } | undefined;
  return rev?.properties?.active;
}

beforeAll(async () => {
  emulator = await startContainerAppsEmulator({ caFile, provisioningDelayMs: 300, lroDurationMs: 5 });
  const config: AppHostConfig = {
    redisUrl: testRedisUrl(),
    keyPrefix: prefix,
    keysFile,
    emulator: { url: emulator.url, caFile },
    policies: Object.values(apps).map(policy),
    env: { GREENLIGHT_ARM_RETRY_DELAY_MS: '10', GREENLIGHT_ARM_POLL_INTERVAL_MS: '5' },
  };
  writeFileSync(configFile, JSON.stringify(config));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await emulator?.stop();
  const redis = newTestRedis();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  for (const f of [configFile, keysFile, caFile]) rmSync(f, { force: true });
});

/** How ARM fails the app's writes, and the moment of the undo at which the host is killed. */
interface Crash {
  name: string;
  fault: () => void;
  /** The undo is there: the status and the emulator's log say so; the test kills the host then. */
  midUndo: (v: RolloutView, refusedWrites: number) => boolean;
}

const crashes: [string, Crash][] = [
  [
    'while the traffic restore waits for its next try (a durable timer)',
    {
      name: apps.timer,
      fault: () =>
        emulator.faults.serverError({
          method: 'PATCH',
          path: `/containerApps/${apps.timer}$`,
          count: 100_000,
          status: 503,
          code: 'ServiceUnavailable',
        }),
      // A failed attempt is recorded with its next try: the orchestration sleeps on the timer.
      midUndo: (v) => v.phase === 'Undoing' && (v.rollback?.attempts ?? 0) >= 1 && !!v.rollback?.nextRetryAt,
    },
  ],
  [
    'while the traffic restore is in flight (ARM throttles it; the client honours Retry-After)',
    {
      name: apps.write,
      fault: () =>
        emulator.faults.throttle({
          method: 'PATCH',
          path: `/containerApps/${apps.write}$`,
          count: 100_000,
          retryAfterSeconds: 3,
        }),
      // A throttled write, and no attempt finished yet: the activity is waiting out Retry-After.
      midUndo: (v, refused) => v.phase === 'Undoing' && refused >= 1 && v.rollback === undefined,
    },
  ],
];

describe('undo after promotion, the host SIGKILLed in the middle of it', () => {
  it.each(crashes)(
    '%s: the next host converges to Undone, the exact pre-rollout traffic, green off, one undo in the audit',
    async (_, crash) => {
      const { name } = crash;
      await emulator.seedApp({ ...refOf(name), image: `${registry}/e2e/${name}:v1` });
      const before = serving(name);
      const first = await startHost();

      const image = `${registry}/e2e/${name}:v2`;
      const started = await call(first, 'POST', '/api/rollouts', {
        app: name,
        image,
        digest: digestOf(image),
      });
      expect(started.status).toBe(202);
      const id = ((await started.json()) as { id: string }).id;
      const succeeded = await until(
        'the rollout to succeed',
        async () => {
          const v = await view(first, id);
          if (v.done) throw new Error(`the rollout ended ${v.phase} before the undo: ${v.reason ?? ''}`);
          return v.phase === 'Succeeded' ? v : undefined;
        },
        60_000,
        100,
      );
      const green = succeeded.green!;
      const promoted = serving(name);
      expect(promoted.filter((t) => t.weight > 0)).toEqual([
        expect.objectContaining({ revisionName: green, weight: 100 }),
      ]);

      // ARM fails every write to the app from now on.
      crash.fault();
      const undo = await call(first, 'POST', `/api/rollouts/${id}/undo`, { reason: 'crash test' });
      expect(undo.status).toBe(202);
      const refused = (): number =>
        emulator.requestLog.filter(
          (r) => r.method === 'PATCH' && r.path.endsWith(`/containerApps/${name}`) && r.fault !== undefined,
        ).length;
      const mid = await until(
        'the undo to be in the middle of its traffic restore',
        async () => {
          const v = await view(first, id);
          if (v.done) throw new Error(`the rollout ended ${v.phase} before the host was killed`);
          return crash.midUndo(v, refused()) ? v : undefined;
        },
        60_000,
        50,
      );
      await kill(first);
      // Production had not moved: the restore is still to do.
      expect(serving(name)).toEqual(promoted);
      expect(mid.undo).toMatchObject({ state: 'undoing', reason: 'crash test' });

      emulator.faults.clear();
      const second = await startHost();
      expect(second.resumed).toBeGreaterThanOrEqual(1);
      const done = await until(
        'the undo to finish on the new host',
        async () => {
          const v = await view(second, id);
          return v.done ? v : undefined;
        },
        60_000,
        100,
      );
      expect(done).toMatchObject({ phase: 'Undone', outcome: 'Undone' });
      expect(done.undo).toMatchObject({ state: 'undone', reason: 'crash test' });
      expect(serving(name)).toEqual(before);
      expect(isActive(name, green)).toBe(false);
      expect(trafficInvariantProblems(emulator.trafficWrites(refOf(name)))).toEqual([]);

      const res = await call(second, 'GET', `/api/audit?rollout=${id}&limit=500`);
      expect(res.status).toBe(200);
      const entries = ((await res.json()) as { entries: AuditEntry[] }).entries;
      const kinds = (kind: string) => entries.filter((e) => e.kind === kind);
      // One undo asked for, one restore of the traffic and one end, however often the steps ran.
      expect(kinds('rollout.undone')).toHaveLength(1);
      const compensations = kinds('compensation.ran') as (AuditEntry & { outcome?: string })[];
      const step = (e: AuditEntry): string => String(e.details?.step ?? '');
      expect(compensations.filter((e) => /restore traffic/.test(step(e)))).toHaveLength(1);
      expect(compensations.map((e) => e.outcome)).toEqual(compensations.map(() => 'succeeded'));
      expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
      expect(kinds('rollout.finished')).toEqual([expect.objectContaining({ outcome: 'Undone' })]);
      await stopHost(second);
    },
    150_000,
  );
});

async function stopHost(host: Host): Promise<void> {
  host.child.kill('SIGTERM');
  if (host.child.exitCode === null && host.child.signalCode === null) await once(host.child, 'exit');
  children.delete(host.child);
}
