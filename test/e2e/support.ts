import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { VirtualClock } from '../../local/clock';
import {
  api,
  follow,
  getRollout,
  imagePushedEvent,
  pushEvents,
  type GreenlightHttp,
} from '../../local/client';
import type { ContainerAppsEmulatorOptions, ResolvedTraffic } from '../../local/containerapps-emulator';
import { startLocalStack, type LocalStack } from '../../local/stack';
import type { RolloutView } from '../../src/services/rolloutView';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { trafficInvariantProblems } from '../support/trafficInvariant';

export const sub = '00000000-0000-0000-0000-0000000000e2';
export const rg = 'rg-e2e';
export const registry = 'e2eacr.azurecr.io';

export function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function refOf(name: string) {
  return { subscriptionId: sub, resourceGroup: rg, name };
}

/** A traffic policy with fast (virtual) timings; tests override what they exercise. */
export function trafficPolicy(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    app: refOf(name),
    trigger: { registry, repository: `e2e/${name}`, tags: ['*'] },
    concurrency: 'supersede',
    strategy: { type: 'traffic', steps: [100], stepPause: 'PT1M' },
    validation: {
      readiness: { timeout: 'PT10M', pollInterval: 'PT10S' },
      smoke: [{ name: 'health', path: '/healthz', expectStatus: 200 }],
      dependencies: { path: '/dependencies', expectStatus: 200 },
    },
    approval: { required: false },
    bake: 'PT0S',
    watch: { duration: 'PT5M', interval: 'PT1M' },
    cleanup: { deactivateAfter: 'PT10M', keepRevisions: 2 },
    ...overrides,
  };
}

export interface E2E {
  stack: LocalStack;
  /** Key prefix of the flag strategy's control plane and mock outputs. */
  flagPrefix: string;
  gl: GreenlightHttp;
  clock: VirtualClock;
  stop(): Promise<void>;
}

export interface E2EOptions {
  /**
   * `virtual` (default) skips durable timers ahead; `real` is for workloads that run in real time
   * (the flag strategy's TCP workers), with short policy timings instead.
   */
  clock?: 'virtual' | 'real';
  /** Extra app settings for Greenlight. */
  env?: Record<string, string>;
  /** Emulator options (fault shares, latencies) on top of the defaults here. */
  emulator?: Partial<ContainerAppsEmulatorOptions>;
}

/** Redis, the emulator and the local runtime with the unchanged app (from source), on a virtual clock. */
export async function startE2E(
  policiesOrMake: Record<string, unknown>[] | ((flagKeyPrefix: string) => Record<string, unknown>[]),
  opts: E2EOptions = {},
): Promise<E2E> {
  // Starts at real time so approval links (checked against the wall clock) are valid while it only moves ahead.
  const clock = new VirtualClock(Date.now());
  const real = opts.clock === 'real';
  const prefix = uniquePrefix('e2e');
  const policies = typeof policiesOrMake === 'function' ? policiesOrMake(flagPrefix(prefix)) : policiesOrMake;
  const keysFile = join(tmpdir(), `${prefix.replace(/:/g, '-')}keys.json`);
  const stack = await startLocalStack({
    redisUrl: testRedisUrl(),
    keyPrefix: prefix,
    policies,
    ...(real ? {} : { clock }),
    emulator: {
      provisioningDelayMs: real ? 300 : 20_000,
      lroDurationMs: 5,
      tcp: { frameIntervalMs: 10, agent: { rereadIntervalMs: 200, heartbeatIntervalMs: 200 } },
      ...opts.emulator,
    },
    register: () => require('../../src/index'),
    env: {
      GREENLIGHT_ARM_RETRY_DELAY_MS: '10',
      GREENLIGHT_ARM_POLL_INTERVAL_MS: '5',
      ...opts.env,
    },
    keysFile,
    dropStateOnStop: true,
    // TCP-worker apps: production and temporary Redis are the test Redis, kept apart by key prefix.
    tcpWorkers: { keyPrefix: flagPrefix(prefix) },
  });
  return {
    stack,
    flagPrefix: flagPrefix(prefix),
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

/** The flag strategy's key prefix for a test's stack: under the stack's prefix, so cleanup takes it too. */
export function flagPrefix(stackPrefix: string): string {
  return `${stackPrefix}fl:`;
}

export async function seed(e: E2E, name: string, tag = 'v1'): Promise<void> {
  await e.stack.emulator.seedApp({ ...refOf(name), image: `${registry}/e2e/${name}:${tag}` });
}

/** Where requests go, with labels: what a rollback must restore exactly. */
export function serving(e: E2E, name: string): ResolvedTraffic[] {
  return e.stack.emulator
    .traffic(refOf(name))
    .map((t) => ({ revisionName: t.revisionName, weight: t.weight, ...(t.label ? { label: t.label } : {}) }))
    .sort((a, b) => `${a.revisionName}${a.label ?? ''}`.localeCompare(`${b.revisionName}${b.label ?? ''}`));
}

export async function startRollout(e: E2E, name: string, tag: string): Promise<string> {
  const image = `${registry}/e2e/${name}:${tag}`;
  const res = await api(e.gl, 'POST', '/api/rollouts', { app: name, image, digest: digestOf(image) });
  const body = (await res.json()) as { id?: string; rolloutId?: string };
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`start failed: ${res.status} ${JSON.stringify(body)}`);
  const id = body.id ?? body.rolloutId;
  if (!id) throw new Error(`start answered without an id: ${JSON.stringify(body)}`);
  return id;
}

export async function push(e: E2E, name: string, tag: string, eventId: string): Promise<void> {
  const image = `${registry}/e2e/${name}:${tag}`;
  await pushEvents(e.gl, [
    imagePushedEvent({ id: eventId, registry, repository: `e2e/${name}`, tag, digest: digestOf(image) }),
  ]);
}

export function untilDone(e: E2E, id: string, timeoutMs = 60_000): Promise<RolloutView> {
  return follow(e.gl, id, (v) => v.done, { timeoutMs, pollMs: 50 });
}

export function untilPhase(e: E2E, id: string, phase: string, timeoutMs = 30_000): Promise<RolloutView> {
  return follow(e.gl, id, (v) => v.phase === phase || v.done, { timeoutMs, pollMs: 25 });
}

export { getRollout };

/**
 * The invariant every rollout keeps (see ../support/trafficInvariant.ts), over every traffic write the app
 * received, refused ones included.
 */
export function assertTrafficInvariant(e: E2E, name: string, opts: { greenNeverServed?: string } = {}): void {
  const writes = e.stack.emulator.trafficWrites(refOf(name));
  if (writes.length === 0) throw new Error(`no traffic write recorded for ${name}: nothing to check`);
  const problems = trafficInvariantProblems(writes, opts);
  if (problems.length > 0)
    throw new Error(`traffic invariant broken for ${name}:\n- ${problems.join('\n- ')}`);
}
