import { createActivities, type ActivityName } from '../../src/activities';
import type { ActivityInvocation } from '../../src/activities/contract';
import { InMemoryAuditLog } from '../../src/domain/audit/memory';
import { InMemoryEmergencyStopStore } from '../../src/domain/changeControl/memoryStore';
import type { Measurement } from '../../src/domain/gates/types';
import type {
  AppRef,
  ApprovalLinks,
  GateProvider,
  GateProviders,
  QueuedRollout,
  RolloutPorts,
  RolloutSlots,
  SmokeProber,
} from '../../src/domain/ports';
import type {
  ApprovalDecision,
  ControlRequest,
  FlagStrategyPlan,
  GateSpec,
  RolloutInput,
  RolloutPlan,
  RolloutResult,
  RolloutStatus,
  SmokeReport,
} from '../../src/domain/rollout/types';
import { Activities, Events, Orchestrators } from '../../src/names';
import { VirtualClock } from '../../local/clock';
import { DurableEngine, type EngineOptions } from '../../local/runtime/engine';
import { capturedFunctions, type CapturedFunction } from '../../local/runtime/functionsCore';
import { MemoryInstanceStore } from '../../local/runtime/memoryStore';
import type { InstanceState } from '../../local/runtime/store';
import type { ReleaseInput, ReleaseResult, ReleaseStatus } from '../../src/domain/release/types';
import { FakeApps } from './fakes/apps';
import { FakeContainerApps, type RevisionBehaviour } from './fakes/containerApps';
import { FakeFlags, type WorkerBehaviour } from './fakes/flags';
import { FakeNotify } from './fakes/notify';

// Loading the orchestrator modules registers them with the captured Functions core (jest maps
// @azure/functions-core to the local runtime's), exactly as the host loads them.
import '../../src/orchestrators/rollout';
import '../../src/orchestrators/watch';
import '../../src/orchestrators/gateRun';
import '../../src/orchestrators/release';

export const app: AppRef = { subscriptionId: 'sub-1', resourceGroup: 'rg', name: 'web' };
export const blue = 'web--blue';

/** A plan with nothing to wait for; scenarios turn on what they exercise. */
export function trafficPlan(overrides: Partial<RolloutPlan> = {}): RolloutPlan {
  return {
    policyName: 'web',
    app,
    strategy: { type: 'traffic', steps: [10, 50, 100], stepPauseMs: 60_000, recheckSmokeEachStep: false },
    readiness: { timeoutMs: 600_000, pollIntervalMs: 10_000 },
    smoke: [
      {
        name: 'health',
        path: '/healthz',
        method: 'GET',
        expectStatus: [200],
        latencyBudgetMs: 500,
        retries: 0,
      },
    ],
    gates: [],
    approval: { required: false, timeoutMs: 86_400_000, onTimeout: 'rollback', approvers: [] },
    bakeMs: 0,
    watch: { durationMs: 0, intervalMs: 60_000 },
    cleanup: { deactivateAfterMs: 0, keepRevisions: 2 },
    ...overrides,
  };
}

export const flagStrategy: FlagStrategyPlan = {
  type: 'flag',
  prodUrlSetting: 'PROD_REDIS_URL',
  tempUrlSetting: 'TEMP_REDIS_URL',
  keyPrefix: 'gl',
  flipDeadlineMs: 30_000,
  mock: { deadlineMs: 120_000, minRecords: 10, requiredFields: ['id', 'payload'], maxLag: 0, maxErrors: 0 },
};

export function flagPlan(overrides: Partial<RolloutPlan> = {}): RolloutPlan {
  return trafficPlan({ strategy: flagStrategy, smoke: [], ...overrides });
}

/** A gate measured by the scripted provider: `query` names the script to read. */
export function gate(name: string, overrides: Partial<GateSpec> = {}): GateSpec {
  return {
    name,
    provider: 'prometheus',
    query: name,
    address: 'http://prometheus.test',
    intervalMs: 60_000,
    count: 3,
    successCondition: 'result < 0.05',
    failureLimit: 0,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 4,
    phases: ['prePromotion'],
    onInconclusive: 'fail',
    ...overrides,
  } as GateSpec;
}

/** Scripted answers per gate (by query): each measurement takes the next; the last one repeats. */
export class ScriptedGates implements GateProvider {
  readonly measured: { query: string; revision: string }[] = [];
  constructor(private readonly scripts: Record<string, Measurement[]> = {}) {}

  async measure(query: { query: string }, target: { revision: string }): Promise<Measurement> {
    this.measured.push({ query: query.query, revision: target.revision });
    const script = this.scripts[query.query] ?? [{ value: 0, sampleSize: 100 }];
    const n = this.measured.filter((m) => m.query === query.query && m.revision === target.revision).length;
    return { ...script[Math.min(n - 1, script.length - 1)] };
  }
}

/** Smoke checks that pass unless the revision is listed as failing. */
export class ScriptedSmoke implements SmokeProber {
  readonly runs: string[] = [];
  readonly failing = new Set<string>();

  async run(baseUrl: string): Promise<SmokeReport> {
    this.runs.push(baseUrl);
    const failed = [...this.failing].some((rev) => baseUrl.includes(rev));
    return {
      passed: !failed,
      url: baseUrl,
      results: [
        { name: 'health', ok: !failed, status: failed ? 503 : 200, message: failed ? 'answered 503' : 'ok' },
      ],
    };
  }
}

/** One rollout slot per app with its queue, as the Redis rollout store keeps them. */
export class MemorySlots implements RolloutSlots {
  holder: string | undefined;
  /** The app's newest admitted rollout. */
  latest: string | undefined;
  readonly queue: QueuedRollout[] = [];
  /** Apps other than the scenario's default one (releases), by name; the default app's slot is this. */
  private readonly others = new Map<string, { holder?: string; latest?: string; queue: QueuedRollout[] }>();

  /** The slot of app `name` (the default app: this object's own fields). */
  of(name: string): { holder?: string; latest?: string; queue: QueuedRollout[] } {
    if (name === app.name) return this as { holder?: string; latest?: string; queue: QueuedRollout[] };
    let slot = this.others.get(name);
    if (!slot) this.others.set(name, (slot = { queue: [] }));
    return slot;
  }

  async releaseApp(a: AppRef, rolloutId: string): Promise<boolean> {
    const s = this.of(a.name);
    if (s.holder !== rolloutId) return false;
    s.holder = undefined;
    return true;
  }
  async claimNext(a: AppRef): Promise<QueuedRollout | undefined> {
    const s = this.of(a.name);
    if (s.holder) return undefined;
    const next = s.queue.shift();
    if (next) s.holder = next.rolloutId;
    return next;
  }
  async latestRollout(a: AppRef): Promise<{ rolloutId: string } | undefined> {
    const s = this.of(a.name);
    return s.latest ? { rolloutId: s.latest } : undefined;
  }
  async unclaimNext(a: AppRef, item: QueuedRollout): Promise<void> {
    const s = this.of(a.name);
    if (s.holder === item.rolloutId) s.holder = undefined;
    s.queue.unshift(item);
  }
  async claimApp(a: AppRef, holderId: string): Promise<boolean> {
    const s = this.of(a.name);
    if (s.holder && s.holder !== holderId) return false;
    s.holder = holderId;
    return true;
  }
  async activeRollout(a: AppRef): Promise<string | undefined> {
    return this.of(a.name).holder;
  }
  async takeOverApp(a: AppRef, stale: string, holderId: string): Promise<boolean> {
    const s = this.of(a.name);
    if (s.holder !== undefined && s.holder !== stale) return false;
    s.holder = holderId;
    return true;
  }
  async setLatestRollout(a: AppRef, latest: { rolloutId: string }): Promise<void> {
    this.of(a.name).latest = latest.rolloutId;
  }
}

export interface ScenarioOptions {
  images?: Record<string, RevisionBehaviour>;
  workers?: Record<string, WorkerBehaviour>;
  gates?: Record<string, Measurement[]>;
  /** Further apps (by name, same subscription and group as `app`), each with blue `<name>--blue` at 100%. */
  apps?: string[];
}

/**
 * Drives the real orchestrators on the local runtime's durable engine, with instance state in memory,
 * a virtual clock, and every port an in-memory fake: a whole rollout runs in milliseconds.
 */
export class Scenario {
  readonly clock = new VirtualClock('2026-03-02T09:00:00.000Z');
  readonly containerApps: FakeContainerApps;
  readonly flags: FakeFlags;
  readonly gates: ScriptedGates;
  readonly smoke = new ScriptedSmoke();
  readonly slots = new MemorySlots();
  readonly stops = new InMemoryEmergencyStopStore();
  readonly audit = new InMemoryAuditLog({ now: () => this.clock.now() });
  readonly notify = new FakeNotify(() => this.clock.now());
  readonly activityCalls: { name: string; input: unknown }[] = [];
  private engine: DurableEngine;
  private readonly engineOptions: EngineOptions;
  /** Every app (the default app and `opts.apps`), for releases: `apps.of(name)`. */
  readonly apps: FakeApps;
  private seq = 0;

  constructor(opts: ScenarioOptions = {}) {
    this.containerApps = new FakeContainerApps(app, { blue }, (image) => opts.images?.[tagOf(image)] ?? {});
    this.flags = new FakeFlags((revision) => {
      const tag = Object.keys(opts.workers ?? {}).find((t) => revision.endsWith(`--${t}`));
      return tag ? (opts.workers?.[tag] ?? {}) : {};
    });
    this.containerApps.now = () => this.clock.now();
    this.flags.now = () => this.clock.now();
    this.gates = new ScriptedGates(opts.gates);
    this.apps = new FakeApps(this.containerApps);
    for (const name of opts.apps ?? []) {
      this.apps.add(
        { ...app, name },
        () => this.clock.now(),
        (image) => opts.images?.[tagOf(image)] ?? {},
      );
    }
    const providers = {
      prometheus: this.gates,
      azureMonitorMetrics: this.gates,
      logAnalytics: this.gates,
      httpJson: this.gates,
    } as GateProviders;
    const ports: RolloutPorts = {
      containerApps: opts.apps?.length ? this.apps : this.containerApps,
      flags: () => ({ control: this.flags, mock: this.flags }),
      gateProviders: () => providers,
      smoke: this.smoke,
      revisionUrlScheme: 'https',
      approvalLinks: { create: (rolloutId, expiresAt): ApprovalLinks => approvalLinks(rolloutId, expiresAt) },
      slots: this.slots,
      emergencyStops: this.stops,
      audit: this.audit,
      notify: this.notify.ports(),
      now: () => new Date(this.clock.now()),
    };
    const handlers = createActivities(ports);
    const invocation: ActivityInvocation = {
      startRollout: async (rolloutId, input) => {
        await this.engine.startNew(Orchestrators.rollout, rolloutId, input);
      },
      raiseEvent: async (instanceId, event, data) =>
        (await this.engine.raiseEvent(instanceId, event, data)) === 'ok',
      instanceRunning: async (instanceId) => {
        const state = await this.engine.get(instanceId);
        return state !== undefined && ['Running', 'Pending'].includes(state.runtimeStatus);
      },
    };
    const registry = new Map<string, CapturedFunction>(capturedFunctions().map((f) => [f.name, f]));
    for (const name of Object.values(Activities) as ActivityName[]) {
      registry.set(name, {
        name,
        bindings: {},
        trigger: { name: 'input', type: 'activityTrigger', direction: 'in' },
        callback: (input: unknown) => {
          this.activityCalls.push({ name, input });
          return (handlers[name] as (i: unknown, inv: ActivityInvocation) => Promise<unknown>)(
            input,
            invocation,
          );
        },
      });
    }
    this.engineOptions = {
      store: new MemoryInstanceStore(),
      clock: this.clock,
      functions: () => registry,
      clientData: () => undefined,
      log: () => undefined,
      maxConcurrentActivities: 4,
    };
    this.engine = new DurableEngine(this.engineOptions);
  }

  /**
   * A crash: the engine stops where it is (timers, running activities and all) and a new one resumes every
   * unfinished instance from the stored state, as a restarted host does.
   */
  async restart(): Promise<number> {
    this.engine.stop();
    this.engine = new DurableEngine(this.engineOptions);
    return this.engine.resume();
  }

  /** Starts a release orchestration with `input` (see buildReleaseInput). */
  async startRelease(input: ReleaseInput): Promise<string> {
    const outcome = await this.engine.startNew(Orchestrators.release, input.releaseId, input);
    if (outcome !== 'ok') throw new Error(`could not start release ${input.releaseId}: ${outcome}`);
    return input.releaseId;
  }

  async releaseStatus(id: string): Promise<ReleaseStatus | undefined> {
    return ((await this.instance(id))?.customStatus ?? undefined) as ReleaseStatus | undefined;
  }

  /** Like `runUntil`, for a release: until `until` holds or the release has an outcome. */
  async runReleaseUntil(
    id: string,
    until: (s: ReleaseStatus) => boolean,
    maxTimers = 500,
  ): Promise<ReleaseStatus> {
    for (let i = 0; i <= maxTimers; i++) {
      let allowed = i === 0 ? 0 : 1;
      this.engine.setTimeSkipping(() => allowed-- > 0);
      await this.engine.whenIdle();
      const s = await this.releaseStatus(id);
      if (s && (until(s) || s.outcome)) return s;
    }
    throw new Error(
      `release ${id} did not get there within ${maxTimers} timers: ${JSON.stringify(await this.releaseStatus(id))}`,
    );
  }

  /** Runs the release (and its members) to the end: its result and last status. */
  async finishRelease(id: string): Promise<{ status: ReleaseStatus; result: ReleaseResult }> {
    for (let i = 0; i < 2000; i++) {
      const state = await this.instance(id);
      if (state?.runtimeStatus === 'Completed')
        return { status: (await this.releaseStatus(id))!, result: state.output as ReleaseResult };
      if (state?.runtimeStatus === 'Failed')
        throw new Error(`release orchestration failed: ${JSON.stringify(state.output)}`);
      // The first pass skips no timer: what was raised last may end the release by itself.
      let allowed = i === 0 ? 0 : 1;
      this.engine.setTimeSkipping(() => allowed-- > 0);
      await this.engine.whenIdle();
    }
    throw new Error(`release ${id} did not complete: ${JSON.stringify(await this.releaseStatus(id))}`);
  }

  /** Starts a rollout of `tag` (image `registry.test/web:<tag>`, revision `web--<tag>`). */
  async start(
    tag: string,
    plan: RolloutPlan,
    rolloutId = `r${++this.seq}-${tag}`,
    extra: Partial<RolloutInput> = {},
  ): Promise<string> {
    this.slots.holder ??= rolloutId;
    this.slots.latest = rolloutId;
    const outcome = await this.engine.startNew(Orchestrators.rollout, rolloutId, {
      ...this.input(tag, plan, rolloutId),
      ...extra,
    });
    if (outcome !== 'ok') throw new Error(`could not start ${rolloutId}: ${outcome}`);
    return rolloutId;
  }

  input(tag: string, plan: RolloutPlan, rolloutId: string): RolloutInput {
    return {
      rolloutId,
      plan,
      image: `registry.test/web:${tag}`,
      revisionSuffix: tag,
      trigger: { kind: 'http', requestedBy: 'scenario' },
      requestedAt: new Date(this.clock.now()).toISOString(),
    };
  }

  /**
   * Runs until `until` holds for the rollout's status, moving the virtual clock one timer at a time, or
   * until the rollout finishes. Throws when neither happens within `maxTimers` timers.
   */
  async runUntil(id: string, until: (s: RolloutStatus) => boolean, maxTimers = 500): Promise<RolloutStatus> {
    for (let i = 0; i <= maxTimers; i++) {
      let allowed = 1;
      this.engine.setTimeSkipping(() => allowed-- > 0);
      // The first pass skips no timer: the condition may hold already.
      if (i === 0) allowed = 0;
      await this.engine.whenIdle();
      const s = await this.status(id);
      if (s && (until(s) || s.outcome)) return s;
    }
    throw new Error(
      `rollout ${id} did not get there within ${maxTimers} timers: ${JSON.stringify(await this.status(id))}`,
    );
  }

  async phase(id: string, phase: RolloutStatus['phase']): Promise<RolloutStatus> {
    const s = await this.runUntil(id, (st) => st.phase === phase);
    if (s.phase !== phase)
      throw new Error(`rollout ${id} ended ${s.phase} (${s.reason ?? ''}) before reaching ${phase}`);
    return s;
  }

  /** Runs the rollout to its end. */
  async finish(id: string): Promise<{ status: RolloutStatus; result: RolloutResult }> {
    const status = await this.runUntil(id, () => false);
    for (let i = 0; i < 50; i++) {
      const state = await this.instance(id);
      if (state?.runtimeStatus === 'Completed')
        return { status: await this.status(id).then((s) => s!), result: state.output as RolloutResult };
      if (state?.runtimeStatus === 'Failed')
        throw new Error(`orchestration failed: ${JSON.stringify(state.output)}`);
      this.engine.setTimeSkipping(true);
      await this.engine.whenIdle();
    }
    throw new Error(`rollout ${id} did not complete: ${JSON.stringify(status)}`);
  }

  async status(id: string): Promise<RolloutStatus | undefined> {
    return ((await this.instance(id))?.customStatus ?? undefined) as RolloutStatus | undefined;
  }

  async instance(id: string): Promise<InstanceState | undefined> {
    return this.engine.get(id);
  }

  async approve(id: string, approver = 'alice@contoso.com'): Promise<void> {
    await this.raise(id, Events.approval, {
      decision: 'approve',
      approver,
      decidedAt: this.iso(),
    } satisfies ApprovalDecision);
  }
  async reject(id: string, approver = 'alice@contoso.com', comment = 'not today'): Promise<void> {
    await this.raise(id, Events.approval, {
      decision: 'reject',
      approver,
      comment,
      decidedAt: this.iso(),
    } satisfies ApprovalDecision);
  }
  async abort(id: string, reason = 'stop'): Promise<void> {
    await this.raise(id, Events.abort, { by: 'ops@contoso.com', reason } satisfies ControlRequest);
  }
  /** Undo after promotion, as the undo route raises it. */
  async undo(id: string, reason = 'customers report errors', by = 'ops@contoso.com'): Promise<void> {
    await this.raise(id, Events.undo, { by, reason } satisfies ControlRequest);
  }
  async promote(id: string): Promise<void> {
    await this.raise(id, Events.promote, { by: 'ops@contoso.com' } satisfies ControlRequest);
  }
  /** Ends an instance by hand, as an operator's terminate does (its parent is told it failed). */
  async terminate(id: string, reason: string): Promise<void> {
    await this.engine.terminate(id, reason);
  }
  async raise(id: string, event: string, data: unknown): Promise<void> {
    const outcome = await this.engine.raiseEvent(id, event, data);
    if (outcome !== 'ok') throw new Error(`could not raise ${event} on ${id}: ${outcome}`);
  }

  /** Activities called so far, by name. */
  calls(name: ActivityName): unknown[] {
    return this.activityCalls.filter((c) => c.name === name).map((c) => c.input);
  }

  stop(): void {
    this.engine.stop();
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function tagOf(image: string): string {
  return image.slice(image.lastIndexOf(':') + 1);
}

function approvalLinks(rolloutId: string, expiresAt: number): ApprovalLinks {
  const base = `https://greenlight.test/api/approvals/${rolloutId}`;
  return {
    pageUrl: `${base}?token=t`,
    approveUrl: `${base}/approve?token=t`,
    rejectUrl: `${base}/reject?token=t`,
    expiresAt,
  };
}
