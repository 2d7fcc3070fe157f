import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { type Clock, isVirtualClock } from '../clock';
import { type CapturedFunction, invocationContextFor } from './functionsCore';
import { EventType, historyEvent, resultText, type HistoryEvent } from './history';
import {
  terminalStatuses,
  type Dispatch,
  type InstanceState,
  type InstanceStorage,
  type InstanceSummary,
} from './store';

/** Action types as `durable-functions` numbers them. */
const Action = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;
const actionNames = Object.fromEntries(Object.entries(Action).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

interface ActionObj {
  actionType: number;
  functionName?: string;
  eventName?: string;
  input?: unknown;
  fireAt?: string | Date;
  isCanceled?: boolean;
  instanceId?: string;
  retryOptions?: RetryOptionsLike;
  compoundActions?: ActionObj[];
}

interface RetryOptionsLike {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

/** What `durable-functions` keeps per open task (read after a replay to learn what to schedule). */
interface OpenTask {
  id: number | string | false;
  actionObj?: ActionObj | string;
  parent?: RetryParent;
}
interface RetryParent {
  retryOptions: RetryOptionsLike;
  attemptNumber: number;
  isWaitingOnTimer: boolean;
  innerTask: OpenTask;
}

interface OrchestratorResult {
  isDone: boolean;
  actions: ActionObj[][];
  output?: unknown;
  customStatus?: unknown;
}

export interface EngineLog {
  (kind: 'orch' | 'activity', line: string): void;
}

export interface EngineOptions {
  store: InstanceStorage;
  clock: Clock;
  functions: () => Map<string, CapturedFunction>;
  /** Durable client binding data for activities that declare a `durableClient` input. */
  clientData: () => unknown;
  log: EngineLog;
  maxConcurrentActivities: number;
}

export type Outcome = 'ok' | 'notFound' | 'gone' | 'conflict';

/** Decides whether an idle runtime skips its virtual clock to the next timer, due at `nextTimerAt`. */
export type SkipRule = (nextTimerAt: number, now: number) => boolean;

export class DurableEngine {
  private readonly cache = new Map<string, InstanceState>();
  private readonly unsaved = new Set<string>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly replayWanted = new Set<string>();
  private readonly timers = new Map<
    string,
    { instanceId: string; executionId: string; taskId: number; fireAt: number }
  >();
  private readonly activityQueue: {
    instanceId: string;
    executionId: string;
    taskId: number;
    name: string;
    input: unknown;
  }[] = [];
  private runningActivities = 0;
  private pending = 0;
  /** HTTP requests in flight, and of those the ones that may change state (what holds the virtual clock). */
  private externalBusy = 0;
  private externalWrites = 0;
  private timerHandle: NodeJS.Timeout | undefined;
  private idleCheck: NodeJS.Timeout | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private skipping: boolean | SkipRule;
  private unsubscribeClock: (() => void) | undefined;

  constructor(private readonly opts: EngineOptions) {
    this.skipping = isVirtualClock(opts.clock);
    if (isVirtualClock(opts.clock)) this.unsubscribeClock = opts.clock.onAdvance(() => this.fireDueTimers());
  }

  /** Resumes every unfinished instance found in Redis: re-arms timers, re-runs activities (at least once). */
  async resume(): Promise<number> {
    const states = await this.opts.store.loadMany(await this.opts.store.activeIds());
    for (const s of states) {
      this.cache.set(s.instanceId, s);
      for (const [key, d] of Object.entries(s.dispatched)) this.redispatch(s, Number(key), d);
      if (s.inbox.length > 0) this.scheduleReplay(s.instanceId);
    }
    for (const s of states) {
      // A child that finished while its parent's notification was lost (killed in between): deliver it now.
      for (const [key, d] of Object.entries(s.dispatched)) {
        if (d.kind !== 'sub') continue;
        const child = this.cache.get(d.childId) ?? (await this.opts.store.load(d.childId));
        if (child && terminalStatuses.has(child.runtimeStatus)) await this.notifyParent(child);
        else if (!child) await this.startChild(s, Number(key), d);
      }
    }
    this.armTimer();
    return states.length;
  }

  stop(): void {
    this.stopped = true;
    if (this.timerHandle) clearTimeout(this.timerHandle);
    if (this.idleCheck) clearTimeout(this.idleCheck);
    this.unsubscribeClock?.();
  }

  /**
   * Virtual clock only: whether idle time skips to the next timer. Off while a test acts in between, or a
   * rule (e.g. "only timers due within an hour", so a rollout stops at its 24-hour approval wait).
   */
  setTimeSkipping(on: boolean | SkipRule): void {
    this.skipping = isVirtualClock(this.opts.clock) ? on : false;
    this.checkIdle();
  }

  /**
   * HTTP requests in flight count as work: the virtual clock never skips past a caller mid-request, and
   * `whenIdle` waits for every request. Reads (GET, HEAD, OPTIONS) do not hold the clock: they change nothing
   * a timer could race with, and clients polling status (a test following 20 rollouts every 50 ms on a loaded
   * machine) would otherwise nearly always have one in flight, so no durable timer would ever fire.
   */
  beginExternal(method = 'POST'): () => void {
    const holdsClock = !readMethods.has(method.toUpperCase());
    this.externalBusy++;
    if (holdsClock) this.externalWrites++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.externalBusy--;
      if (holdsClock) this.externalWrites--;
      this.checkIdle();
    };
  }

  /** Resolves once nothing is running and (with time skipping) no timer is left to skip to. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  async get(id: string): Promise<InstanceState | undefined> {
    return this.cache.get(id) ?? (await this.opts.store.load(id));
  }

  async list(): Promise<InstanceSummary[]> {
    const ids = await this.opts.store.allIds();
    const missing = ids.filter((id) => !this.cache.has(id));
    const loaded = new Map((await this.opts.store.loadSummaries(missing)).map((s) => [s.instanceId, s]));
    return ids.map((id) => this.cache.get(id) ?? loaded.get(id)).filter((s): s is InstanceSummary => !!s);
  }

  hasOrchestrator(name: string): boolean {
    return this.opts.functions().get(name)?.trigger.type === 'orchestrationTrigger';
  }

  async startNew(
    name: string,
    instanceId: string,
    input: unknown,
    parent?: InstanceState['parent'],
  ): Promise<Outcome> {
    return this.exclusive(instanceId, async () => {
      const existing = await this.get(instanceId);
      if (existing && !terminalStatuses.has(existing.runtimeStatus)) return 'conflict';
      const now = this.isoNow();
      const state: InstanceState = {
        instanceId,
        name,
        executionId: randomUUID(),
        input: input === undefined ? null : input,
        runtimeStatus: 'Pending',
        createdTime: now,
        lastUpdatedTime: now,
        customStatus: null,
        output: null,
        ...(parent ? { parent } : {}),
        history: [],
        inbox: [
          historyEvent(EventType.ExecutionStarted, this.opts.clock.now(), {
            Name: name,
            Input: resultText(input),
            OrchestrationInstance: { InstanceId: instanceId },
          }),
        ],
        dispatched: {},
        actionLog: [],
        replays: 0,
      };
      // A sub-orchestration is the engine's own work (kept until stored); a caller's start is told at once.
      if (parent) await this.commit(state);
      else await this.commitOnce(state);
      this.opts.log('orch', `${name} ${instanceId}: started${parent ? ` by ${parent.instanceId}` : ''}`);
      this.scheduleReplay(instanceId);
      return 'ok';
    });
  }

  async raiseEvent(instanceId: string, eventName: string, data: unknown): Promise<Outcome> {
    return this.exclusive(instanceId, async () => {
      const s = await this.get(instanceId);
      if (!s) return 'notFound';
      if (terminalStatuses.has(s.runtimeStatus)) return 'gone';
      // On a copy: an event the store did not take is not raised (the caller is told and retries).
      const next: InstanceState = {
        ...s,
        inbox: [
          ...s.inbox,
          historyEvent(EventType.EventRaised, this.opts.clock.now(), {
            Name: eventName,
            Input: resultText(data),
          }),
        ],
      };
      await this.commitOnce(next);
      this.opts.log('orch', `${s.name} ${instanceId}: event '${eventName}' raised`);
      this.scheduleReplay(instanceId);
      return 'ok';
    });
  }

  async terminate(instanceId: string, reason: string): Promise<Outcome> {
    let finished: InstanceState | undefined;
    const outcome = await this.exclusive(instanceId, async () => {
      const s = await this.get(instanceId);
      if (!s) return 'notFound';
      if (terminalStatuses.has(s.runtimeStatus)) return 'gone';
      this.clearWork(s);
      s.history.push(
        historyEvent(EventType.ExecutionTerminated, this.opts.clock.now(), { Input: resultText(reason) }),
      );
      s.inbox = [];
      s.runtimeStatus = 'Terminated';
      s.output = reason;
      await this.commit(s);
      this.opts.log('orch', `${s.name} ${instanceId}: terminated (${reason || 'no reason given'})`);
      finished = s;
      return 'ok' as const;
    });
    if (finished) await this.notifyParent(finished);
    return outcome;
  }

  async suspend(instanceId: string, reason: string): Promise<Outcome> {
    return this.exclusive(instanceId, async () => {
      const s = await this.get(instanceId);
      if (!s) return 'notFound';
      if (terminalStatuses.has(s.runtimeStatus)) return 'gone';
      if (s.runtimeStatus === 'Suspended') return 'ok';
      s.runtimeStatus = 'Suspended';
      s.history.push(historyEvent(EventType.ExecutionSuspended, this.opts.clock.now(), { Reason: reason }));
      await this.commit(s);
      this.opts.log('orch', `${s.name} ${instanceId}: suspended`);
      return 'ok';
    });
  }

  async resumeInstance(instanceId: string, reason: string): Promise<Outcome> {
    return this.exclusive(instanceId, async () => {
      const s = await this.get(instanceId);
      if (!s) return 'notFound';
      if (terminalStatuses.has(s.runtimeStatus)) return 'gone';
      if (s.runtimeStatus !== 'Suspended') return 'ok';
      s.runtimeStatus = 'Running';
      s.history.push(historyEvent(EventType.ExecutionResumed, this.opts.clock.now(), { Reason: reason }));
      await this.commit(s);
      this.opts.log('orch', `${s.name} ${instanceId}: resumed`);
      this.scheduleReplay(instanceId);
      return 'ok';
    });
  }

  /** Deletes a finished instance's state. Running instances are not purged (terminate first). */
  async purge(instanceId: string): Promise<Outcome> {
    return this.exclusive(instanceId, async () => {
      const s = await this.get(instanceId);
      if (!s) return 'notFound';
      if (!terminalStatuses.has(s.runtimeStatus)) return 'conflict';
      this.cache.delete(instanceId);
      await this.opts.store.delete(instanceId);
      return 'ok';
    });
  }

  // ---- internals ---------------------------------------------------------------------------

  private isoNow(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }

  /**
   * Records a state the engine has already acted on (a completion, a fired timer, a replay's result):
   * kept in memory and written until the store answers, so an outage delays the instance but never drops
   * its work. The instance's later operations wait behind it (one writer per instance).
   */
  private async commit(s: InstanceState): Promise<void> {
    s.lastUpdatedTime = this.isoNow();
    this.cache.set(s.instanceId, s);
    await this.saveUntilStored(s);
    if (terminalStatuses.has(s.runtimeStatus)) this.cache.delete(s.instanceId);
  }

  /**
   * Records a caller's request (start, raise event) once: on a store failure nothing changes and the
   * caller is told (it retries), instead of holding its request open for the length of an outage.
   */
  private async commitOnce(s: InstanceState): Promise<void> {
    s.lastUpdatedTime = this.isoNow();
    await this.opts.store.save(s);
    this.cache.set(s.instanceId, s);
  }

  private async saveUntilStored(s: InstanceState): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.store.save(s);
        if (attempt > 1) {
          this.unsaved.delete(s.instanceId);
          this.opts.log('orch', `${s.name} ${s.instanceId}: state recorded after ${attempt} attempts`);
        }
        return;
      } catch (e) {
        if (this.stopped) throw e;
        if (attempt === 1) {
          this.unsaved.add(s.instanceId);
          this.opts.log(
            'orch',
            `${s.name} ${s.instanceId}: state not recorded (${firstLine(String(e))}); kept in memory, retrying until the store answers`,
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(attempt - 1, 5), 2_000)));
      }
    }
  }

  /** Instances whose latest state waits for the store to answer (status and tests). */
  unsavedInstances(): string[] {
    return [...this.unsaved];
  }

  /**
   * After the store reconnects: writes back every unfinished instance it no longer holds (a Redis that
   * restarted without its data), from memory. Returns how many were restored.
   */
  async restoreLostInstances(): Promise<number> {
    if (this.stopped) return 0;
    const stored = new Set(await this.opts.store.activeIds());
    const lost = [...this.cache.values()].filter(
      (s) => !terminalStatuses.has(s.runtimeStatus) && !stored.has(s.instanceId),
    );
    await Promise.all(
      lost.map((l) =>
        this.exclusive(l.instanceId, async () => {
          const s = this.cache.get(l.instanceId);
          if (s && !terminalStatuses.has(s.runtimeStatus)) await this.saveUntilStored(s);
        }),
      ),
    );
    if (lost.length > 0) {
      this.opts.log(
        'orch',
        `the store had lost ${lost.length} unfinished instance(s) (${lost.map((s) => s.instanceId).join(', ')}); restored them from memory`,
      );
    }
    return lost.length;
  }

  /** Runs `fn` after every earlier operation on the same instance: one writer per instance. */
  private exclusive<T>(instanceId: string, fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const prev = this.chains.get(instanceId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(instanceId, settled);
    void settled.then(() => {
      if (this.chains.get(instanceId) === settled) this.chains.delete(instanceId);
      this.pending--;
      this.checkIdle();
    });
    return next;
  }

  private scheduleReplay(instanceId: string): void {
    if (this.stopped || this.replayWanted.has(instanceId)) return;
    this.replayWanted.add(instanceId);
    void this.exclusive(instanceId, async () => {
      this.replayWanted.delete(instanceId);
      await this.replay(instanceId);
    }).catch((e: unknown) => this.opts.log('orch', `${instanceId}: replay error: ${String(e)}`));
  }

  private async replay(instanceId: string): Promise<void> {
    const s = await this.get(instanceId);
    if (
      !s ||
      terminalStatuses.has(s.runtimeStatus) ||
      s.runtimeStatus === 'Suspended' ||
      s.inbox.length === 0
    )
      return;
    const fn = this.opts.functions().get(s.name);
    const startedAt = this.opts.clock.now();
    const started = historyEvent(EventType.OrchestratorStarted, startedAt);
    const fresh = s.inbox;
    if (!fn || fn.trigger.type !== 'orchestrationTrigger') {
      await this.fail(
        s,
        [started, ...fresh],
        `The orchestrator function '${s.name}' is not registered in this app`,
      );
      return;
    }
    // The library parses timestamps in place, so it gets its own copy (one copy: marked played after).
    const events = JSON.parse(JSON.stringify([...s.history, started, ...fresh])) as HistoryEvent[];
    for (let i = 0; i < s.history.length; i++) events[i]!.IsPlayed = true;
    const binding = {
      history: events,
      input: s.input,
      instanceId,
      isReplaying: s.history.length > 0,
      parentInstanceId: s.parent?.instanceId,
      upperSchemaVersion: 1,
      maximumShortTimerDuration: '6.00:00:00',
      longRunningTimerIntervalDuration: '3.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    const context = new InvocationContext({
      functionName: s.name,
      invocationId: randomUUID(),
      logHandler: (level, ...args) =>
        this.opts.log('orch', `${s.name} ${instanceId} [${level}] ${args.map(String).join(' ')}`),
      options: { trigger: fn.trigger, extraInputs: [], extraOutputs: [] },
    });
    s.replays++;
    let result: OrchestratorResult;
    try {
      result = (await fn.callback(binding, context)) as OrchestratorResult;
    } catch (e) {
      const { message, customStatus } = orchestratorFailure(e);
      if (customStatus !== undefined) s.customStatus = customStatus;
      await this.fail(s, [started, ...fresh], `Orchestrator function '${s.name}' failed: ${message}`);
      return;
    }
    s.customStatus = result.customStatus ?? null;
    const { actions, repeated } = flatten(result.actions);
    const violation =
      repeated.length > 0
        ? `Orchestrator function '${s.name}' sent ${repeated.map(describeAction).join(', ')} again: a task already scheduled was yielded inside a new Task.any or Task.all, which the Durable Task extension would schedule a second time`
        : determinismViolation(s.actionLog, actions);
    if (violation) {
      await this.fail(s, [started, ...fresh], violation);
      return;
    }
    s.actionLog = actions.map(describeAction);
    s.history.push(started, ...fresh.map((e) => ({ ...e, IsPlayed: false })));
    s.inbox = [];

    if (result.isDone) {
      const next = actions.find((a) => a.actionType === Action.ContinueAsNew);
      if (next) {
        this.clearWork(s);
        s.executionId = randomUUID();
        s.input = fromActionInput(next.input) ?? null;
        s.history = [];
        s.actionLog = [];
        s.replays = 0;
        s.runtimeStatus = 'Running';
        s.inbox = [
          historyEvent(EventType.ExecutionStarted, this.opts.clock.now(), {
            Name: s.name,
            Input: resultText(s.input),
            OrchestrationInstance: { InstanceId: instanceId },
          }),
        ];
        await this.commit(s);
        this.opts.log('orch', `${s.name} ${instanceId}: continued as new`);
        this.scheduleReplay(instanceId);
        return;
      }
      this.clearWork(s);
      s.runtimeStatus = 'Completed';
      s.output = result.output === undefined ? null : result.output;
      s.history.push(
        historyEvent(EventType.ExecutionCompleted, this.opts.clock.now(), {
          OrchestrationStatus: 'Completed',
          Result: resultText(result.output),
        }),
      );
      await this.commit(s);
      this.opts.log('orch', `${s.name} ${instanceId}: completed after ${s.replays} replays`);
      await this.notifyParent(s);
      return;
    }

    s.runtimeStatus = 'Running';
    const unsupported = this.dispatchOpenTasks(s, context);
    if (unsupported) {
      await this.fail(s, [], unsupported);
      return;
    }
    s.history.push(historyEvent(EventType.OrchestratorCompleted, this.opts.clock.now()));
    await this.commit(s);
    this.startDispatched(s);
  }

  /** Reads the library's open tasks and records the work each new one needs. Returns an error for unsupported ones. */
  private dispatchOpenTasks(s: InstanceState, context: InvocationContext): string | undefined {
    const executor = (
      context as unknown as { df?: { taskOrchestratorExecutor?: { openTasks?: Record<string, OpenTask> } } }
    ).df?.taskOrchestratorExecutor;
    if (!executor?.openTasks) {
      return 'The local runtime cannot read the orchestration state of this durable-functions version (expected 3.x)';
    }
    const now = this.opts.clock.now();
    const open = new Set<string>();
    for (const [key, task] of Object.entries(executor.openTasks)) {
      open.add(key);
      const taskId = Number(key);
      const known = s.dispatched[key];
      const action = typeof task.actionObj === 'object' ? task.actionObj : undefined;
      if (known) {
        // A cancelled timer no longer needs to fire.
        if (known.kind === 'timer' && action?.actionType === Action.CreateTimer && action.isCanceled) {
          this.timers.delete(`${s.instanceId}#${key}`);
          delete s.dispatched[key];
        }
        continue;
      }
      let work: Dispatch | string;
      if (action) work = this.workFor(s, taskId, action);
      else if (task.parent && 'retryOptions' in task.parent)
        work = this.retryWorkFor(s, taskId, task.parent, now);
      else work = `an open task #${key} of unknown kind`;
      if (typeof work === 'string') {
        return `The local runtime does not support ${work} (orchestrator '${s.name}'); use activities, timers, external events and sub-orchestrations`;
      }
      if (work.kind === 'timer' && action?.isCanceled) continue;
      s.dispatched[key] = work;
      s.history.push(scheduledEvent(taskId, work, now));
    }
    return undefined;
  }

  private workFor(s: InstanceState, taskId: number, action: ActionObj): Dispatch | string {
    switch (action.actionType) {
      case Action.CallActivity:
      case Action.CallActivityWithRetry:
        return { kind: 'activity', name: action.functionName ?? '', input: fromActionInput(action.input) };
      case Action.CreateTimer:
        return { kind: 'timer', fireAt: new Date(action.fireAt ?? 0).getTime() };
      case Action.CallSubOrchestrator:
      case Action.CallSubOrchestratorWithRetry:
        return {
          kind: 'sub',
          name: action.functionName ?? '',
          childId: action.instanceId ?? `${s.instanceId}:${taskId}`,
          input: action.input === undefined ? null : action.input,
        };
      default:
        return `the '${actionNames[action.actionType] ?? action.actionType}' action`;
    }
  }

  /** A retrying task's next step, as the library expects it: a timer for the delay, then the call again. */
  private retryWorkFor(
    s: InstanceState,
    taskId: number,
    parent: RetryParent,
    now: number,
  ): Dispatch | string {
    if (parent.isWaitingOnTimer) {
      const o = parent.retryOptions;
      const failures = Math.max(1, parent.attemptNumber - 1);
      let delay = o.firstRetryIntervalInMilliseconds * Math.pow(o.backoffCoefficient || 1, failures - 1);
      if (o.maxRetryIntervalInMilliseconds && o.maxRetryIntervalInMilliseconds > 0) {
        delay = Math.min(delay, o.maxRetryIntervalInMilliseconds);
      }
      // The library gives up only after this timer fires; with no attempts left there is nothing to wait for.
      if (parent.attemptNumber > o.maxNumberOfAttempts) delay = 0;
      return { kind: 'timer', fireAt: now + delay };
    }
    const inner = parent.innerTask.actionObj;
    if (typeof inner !== 'object') return 'a retry of an unknown task';
    const work = this.workFor(s, taskId, inner);
    if (typeof work === 'object' && work.kind === 'sub') {
      const first = inner.instanceId ?? `${s.instanceId}:${taskId}`;
      return { ...work, childId: `${first}:attempt${parent.attemptNumber}` };
    }
    return work;
  }

  /** Hands out the recorded work that is not running yet: queue activities, arm timers, start children. */
  private startDispatched(s: InstanceState): void {
    for (const [key, d] of Object.entries(s.dispatched)) {
      const taskId = Number(key);
      if (d.kind === 'timer') {
        const timerKey = `${s.instanceId}#${key}`;
        if (!this.timers.has(timerKey)) {
          this.timers.set(timerKey, {
            instanceId: s.instanceId,
            executionId: s.executionId,
            taskId,
            fireAt: d.fireAt,
          });
        }
      } else if (d.kind === 'activity') {
        const queued = this.inFlight.has(`${s.instanceId}#${s.executionId}#${key}`);
        if (!queued) this.enqueueActivity(s, taskId, d);
      } else if (!this.childStarted.has(childKey(s.instanceId, s.executionId, taskId))) {
        this.childStarted.add(childKey(s.instanceId, s.executionId, taskId));
        void this.startChild(s, taskId, d).catch((e: unknown) =>
          this.opts.log('orch', `${s.instanceId}: cannot start sub-orchestration ${d.name}: ${String(e)}`),
        );
      }
    }
    this.armTimer();
  }

  private readonly inFlight = new Set<string>();
  private readonly childStarted = new Set<string>();

  private redispatch(s: InstanceState, taskId: number, d: Dispatch): void {
    if (d.kind === 'timer') {
      this.timers.set(`${s.instanceId}#${taskId}`, {
        instanceId: s.instanceId,
        executionId: s.executionId,
        taskId,
        fireAt: d.fireAt,
      });
    } else if (d.kind === 'activity') {
      this.enqueueActivity(s, taskId, d);
    } else {
      this.childStarted.add(childKey(s.instanceId, s.executionId, taskId));
    }
  }

  private async startChild(
    parent: InstanceState,
    taskId: number,
    d: Extract<Dispatch, { kind: 'sub' }>,
  ): Promise<void> {
    if (!this.hasOrchestrator(d.name)) {
      this.childStarted.delete(childKey(parent.instanceId, parent.executionId, taskId));
      await this.deliver(parent.instanceId, parent.executionId, taskId, {
        ok: false,
        reason: `The orchestrator function '${d.name}' is not registered in this app`,
      });
      return;
    }
    const outcome = await this.startNew(d.name, d.childId, d.input, {
      instanceId: parent.instanceId,
      taskId,
      executionId: parent.executionId,
    });
    if (outcome === 'conflict') {
      this.childStarted.delete(childKey(parent.instanceId, parent.executionId, taskId));
      await this.deliver(parent.instanceId, parent.executionId, taskId, {
        ok: false,
        reason: `A sub-orchestration with instance id '${d.childId}' is already running`,
      });
    }
  }

  private enqueueActivity(
    s: InstanceState,
    taskId: number,
    d: Extract<Dispatch, { kind: 'activity' }>,
  ): void {
    this.inFlight.add(`${s.instanceId}#${s.executionId}#${taskId}`);
    this.activityQueue.push({
      instanceId: s.instanceId,
      executionId: s.executionId,
      taskId,
      name: d.name,
      input: d.input,
    });
    this.pumpActivities();
  }

  private pumpActivities(): void {
    while (
      !this.stopped &&
      this.runningActivities < this.opts.maxConcurrentActivities &&
      this.activityQueue.length > 0
    ) {
      const job = this.activityQueue.shift();
      if (!job) break;
      this.runningActivities++;
      this.pending++;
      void this.runActivity(job)
        .catch((e: unknown) =>
          // Its result could not be recorded (Redis away): a restart re-runs it (at least once).
          this.opts.log(
            'activity',
            `${job.name} for ${job.instanceId} #${job.taskId}: not recorded: ${String(e)}`,
          ),
        )
        .finally(() => {
          this.runningActivities--;
          this.pending--;
          this.inFlight.delete(`${job.instanceId}#${job.executionId}#${job.taskId}`);
          this.pumpActivities();
          this.checkIdle();
        });
    }
  }

  private async runActivity(job: {
    instanceId: string;
    executionId: string;
    taskId: number;
    name: string;
    input: unknown;
  }): Promise<void> {
    const fn = this.opts.functions().get(job.name);
    const started = Date.now();
    let outcome: { ok: true; value: unknown } | { ok: false; reason: string; details: string };
    if (!fn || fn.trigger.type !== 'activityTrigger') {
      outcome = {
        ok: false,
        reason: `The activity function '${job.name}' is not registered in this app`,
        details: '',
      };
    } else {
      const context = invocationContextFor(fn, this.opts.clientData, (level, text) =>
        this.opts.log('activity', `${job.name} [${level}] ${text}`),
      );
      try {
        outcome = { ok: true, value: await fn.callback(job.input, context) };
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        outcome = { ok: false, reason: err.message, details: err.stack ?? '' };
      }
    }
    if (this.stopped) return;
    this.opts.log(
      'activity',
      `${job.name} for ${job.instanceId} #${job.taskId}: ${outcome.ok ? 'ok' : `failed: ${firstLine(outcome.reason)}`} (${Date.now() - started} ms)`,
    );
    await this.deliver(job.instanceId, job.executionId, job.taskId, outcome);
  }

  /** Appends a task's completion to its instance's inbox and replays it. */
  private async deliver(
    instanceId: string,
    executionId: string,
    taskId: number,
    outcome: { ok: true; value: unknown } | { ok: false; reason: string; details?: string },
  ): Promise<void> {
    await this.exclusive(instanceId, async () => {
      const s = await this.get(instanceId);
      if (!s || s.executionId !== executionId || terminalStatuses.has(s.runtimeStatus)) return;
      const d = s.dispatched[String(taskId)];
      if (!d) return;
      delete s.dispatched[String(taskId)];
      const at = this.opts.clock.now();
      const sub = d.kind === 'sub';
      s.inbox.push(
        outcome.ok
          ? historyEvent(sub ? EventType.SubOrchestrationInstanceCompleted : EventType.TaskCompleted, at, {
              TaskScheduledId: taskId,
              Result: resultText(outcome.value),
            })
          : historyEvent(sub ? EventType.SubOrchestrationInstanceFailed : EventType.TaskFailed, at, {
              TaskScheduledId: taskId,
              Reason: outcome.reason,
              Details: outcome.details ?? '',
            }),
      );
      await this.commit(s);
      this.scheduleReplay(instanceId);
    });
  }

  private async notifyParent(child: InstanceState): Promise<void> {
    const p = child.parent;
    if (!p) return;
    if (child.runtimeStatus === 'Completed') {
      await this.deliver(p.instanceId, p.executionId, p.taskId, { ok: true, value: child.output });
    } else {
      await this.deliver(p.instanceId, p.executionId, p.taskId, {
        ok: false,
        reason:
          child.runtimeStatus === 'Terminated'
            ? `Sub-orchestration '${child.instanceId}' was terminated: ${String(child.output)}`
            : String(child.output),
      });
    }
    // Only once the parent's record of the child is gone: a parent replay in between (an event the child
    // raised just before it ended) would otherwise find the child not started and start it afresh.
    this.childStarted.delete(childKey(p.instanceId, p.executionId, p.taskId));
  }

  private async fail(s: InstanceState, events: HistoryEvent[], message: string): Promise<void> {
    this.clearWork(s);
    s.history.push(...events.map((e) => ({ ...e, IsPlayed: false })));
    s.inbox = [];
    s.runtimeStatus = 'Failed';
    s.output = message;
    s.history.push(
      historyEvent(EventType.ExecutionCompleted, this.opts.clock.now(), {
        OrchestrationStatus: 'Failed',
        Result: resultText(message),
      }),
    );
    await this.commit(s);
    this.opts.log('orch', `${s.name} ${s.instanceId}: failed: ${firstLine(message)}`);
    await this.notifyParent(s);
  }

  private clearWork(s: InstanceState): void {
    for (const key of Object.keys(s.dispatched)) this.timers.delete(`${s.instanceId}#${key}`);
    s.dispatched = {};
  }

  // ---- timers and idleness -----------------------------------------------------------------

  private fireDueTimers(): void {
    const now = this.opts.clock.now();
    for (const [key, t] of [...this.timers]) {
      if (t.fireAt > now) continue;
      this.timers.delete(key);
      void this.exclusive(t.instanceId, async () => {
        const s = await this.get(t.instanceId);
        if (!s || s.executionId !== t.executionId || terminalStatuses.has(s.runtimeStatus)) return;
        if (!s.dispatched[String(t.taskId)]) return;
        delete s.dispatched[String(t.taskId)];
        s.inbox.push(
          historyEvent(EventType.TimerFired, this.opts.clock.now(), {
            TimerId: t.taskId,
            FireAt: new Date(t.fireAt).toISOString(),
          }),
        );
        await this.commit(s);
        this.scheduleReplay(t.instanceId);
      }).catch((e: unknown) =>
        this.opts.log('orch', `${t.instanceId}: timer ${t.taskId} not recorded: ${String(e)}`),
      );
    }
    this.armTimer();
  }

  private nextTimer(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers.values()) if (next === undefined || t.fireAt < next) next = t.fireAt;
    return next;
  }

  private armTimer(): void {
    if (this.timerHandle) clearTimeout(this.timerHandle);
    this.timerHandle = undefined;
    if (this.stopped || isVirtualClock(this.opts.clock)) return;
    const next = this.nextTimer();
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - this.opts.clock.now()), 2_147_483_647);
    this.timerHandle = setTimeout(() => this.fireDueTimers(), delay);
    this.timerHandle.unref?.();
  }

  /** Work that holds the virtual clock (reads in flight do not, see `beginExternal`). */
  private busy(): boolean {
    return (
      this.pending > 0 ||
      this.externalWrites > 0 ||
      this.runningActivities > 0 ||
      this.activityQueue.length > 0
    );
  }

  /** When nothing runs: skip a virtual clock to the next timer (after a short quiet period), or tell waiters. */
  private checkIdle(): void {
    if (this.stopped || this.busy() || this.idleCheck) return;
    this.idleCheck = setTimeout(() => {
      this.idleCheck = undefined;
      if (this.stopped || this.busy()) return;
      const next = this.nextTimer();
      const skip =
        next !== undefined &&
        (typeof this.skipping === 'function' ? this.skipping(next, this.opts.clock.now()) : this.skipping);
      if (skip && next !== undefined && isVirtualClock(this.opts.clock)) {
        this.opts.clock.advanceTo(next);
        this.fireDueTimers();
        return;
      }
      // A read still in flight: waiters are told when it ends (its release checks again).
      if (this.externalBusy > 0) return;
      for (const w of this.idleWaiters.splice(0)) w();
    }, 3);
  }
}

/** Methods that only read: a request with one of them does not hold the virtual clock. */
const readMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** The library JSON-encodes string inputs (as the host expects); the host hands the value over decoded. */
function fromActionInput(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

/**
 * The actions in the order the extension reads them. The extension schedules every action it is sent, so
 * one sent twice (a running task yielded again inside a new `Task.any`, Azure/azure-functions-durable-js#574)
 * would be scheduled twice in Azure: it is reported, not quietly merged.
 */
function flatten(actions: ActionObj[][] | undefined): { actions: ActionObj[]; repeated: ActionObj[] } {
  const out: ActionObj[] = [];
  const repeated: ActionObj[] = [];
  const seen = new Set<ActionObj>();
  const visit = (a: ActionObj): void => {
    if (seen.has(a)) {
      // An event waiter sent twice schedules nothing: the extension only buffers events.
      if (!a.compoundActions && a.actionType !== Action.WaitForExternalEvent) repeated.push(a);
      return;
    }
    seen.add(a);
    if (a.compoundActions) a.compoundActions.forEach(visit);
    else out.push(a);
  };
  for (const group of actions ?? []) for (const a of group) visit(a);
  return { actions: out, repeated };
}

function describeAction(a: ActionObj): string {
  const name = a.functionName ?? a.eventName ?? '';
  return `${actionNames[a.actionType] ?? a.actionType}${name ? ` '${name}'` : ''}`;
}

/** DTFx fails an orchestration whose replay does not produce the actions its history recorded. */
function determinismViolation(log: string[], actions: ActionObj[]): string | undefined {
  const now = actions.map(describeAction);
  for (let i = 0; i < log.length; i++) {
    if (now[i] === undefined) {
      return `Non-deterministic workflow detected: the history records action #${i + 1} ${log[i]}, but on replay the orchestrator stopped after ${i} action(s). Orchestrator code must take the same path on every replay: use context.df.currentUtcDateTime instead of Date.now(), activities for I/O, and version orchestrators instead of changing running ones.`;
    }
    if (now[i] !== log[i]) {
      return `Non-deterministic workflow detected: action #${i + 1} was ${log[i]} when first run, but ${now[i]} on replay. Orchestrator code must take the same path on every replay: use context.df.currentUtcDateTime instead of Date.now(), activities for I/O, and version orchestrators instead of changing running ones.`;
    }
  }
  return undefined;
}

function scheduledEvent(taskId: number, d: Dispatch, at: number): HistoryEvent {
  switch (d.kind) {
    case 'activity':
      return {
        ...historyEvent(EventType.TaskScheduled, at, { Name: d.name, Input: resultText(d.input) }),
        EventId: taskId,
      };
    case 'timer':
      return {
        ...historyEvent(EventType.TimerCreated, at, { FireAt: new Date(d.fireAt).toISOString() }),
        EventId: taskId,
      };
    case 'sub':
      return {
        ...historyEvent(EventType.SubOrchestrationInstanceCreated, at, {
          Name: d.name,
          InstanceId: d.childId,
          Input: resultText(d.input),
        }),
        EventId: taskId,
      };
  }
}

const outOfProcLabel = '\n\n$OutOfProcData$:';

/** The library throws its state after a label; the orchestrator's own error message is in it. */
function orchestratorFailure(e: unknown): { message: string; customStatus?: unknown } {
  const text = e instanceof Error ? e.message : String(e);
  const at = text.indexOf(outOfProcLabel);
  if (at < 0) return { message: text };
  try {
    const state = JSON.parse(text.slice(at + outOfProcLabel.length)) as {
      error?: string;
      customStatus?: unknown;
    };
    return { message: state.error ?? text.slice(0, at), customStatus: state.customStatus };
  } catch {
    return { message: text.slice(0, at) };
  }
}

/** Sub-orchestrations started, per parent execution: a restarted or continued parent starts its own. */
function childKey(instanceId: string, executionId: string, taskId: number): string {
  return `${instanceId}#${executionId}#${taskId}`;
}
