import type { OrchestrationContext, RetryOptions, Task } from 'durable-functions';
import type { RolloutAuditRecord } from '../domain/audit/builders';
import type { EmergencyStop } from '../domain/changeControl/emergencyStop';
import type { ControlRecord } from '../domain/flag/control';
import type { ProgressObservation } from '../domain/flag/progress';
import type { FlipObservation, MockObservation } from '../domain/flag/validation';
import type { GateRunProgress } from '../domain/gates/assess';
import type { GateMeasurement, GateRunResult } from '../domain/gates/report';
import type { SmokeTarget } from '../domain/guardrails/probe';
import type { DeliveryInput } from '../domain/notify/deliver';
import type {
  AppRef,
  AppSnapshot,
  ApprovalLinks,
  DeliveryOutcome,
  DeployGreenRequest,
  DeployGreenResult,
  RevisionInfo,
  RolloutStarter,
  TrafficEntry,
} from '../domain/ports';
import type { MemberReport, MemberSignal, ReleaseApp } from '../domain/release/types';
import type {
  FlagActivityInput,
  FlagStrategyPlan,
  GatePhase,
  GateReport,
  GateSpec,
  RolloutInput,
  RolloutOutcome,
  RolloutResult,
  SmokeCheck,
  SmokeReport,
} from '../domain/rollout/types';
import { Orchestrators } from '../names';

/**
 * Every activity by name, with what it takes and what it returns: the one contract between the
 * orchestrators and the side effects. Orchestrators call through `call`, activities are built to it by
 * `createActivities`, so a changed input or output is a compile error on both sides.
 */
export interface ActivityContract {
  snapshotApp: { input: AppRef; output: AppSnapshot };
  ensureMultipleRevisionMode: { input: AppRef; output: { changed: boolean } };
  deployGreen: { input: { app: AppRef; request: DeployGreenRequest }; output: DeployGreenResult };
  getRevision: { input: { app: AppRef; revisionName: string }; output: RevisionInfo };
  /** `targetLabel`: Labels revision mode, the app's target label written with the traffic (a restore). */
  setTraffic: {
    input: { app: AppRef; traffic: TrafficEntry[]; targetLabel?: string };
    output: { ok: true };
  };
  /** `missingOk`: a revision that was never created counts as deactivated (compensation of a failed deploy). */
  deactivateRevision: {
    input: { app: AppRef; revisionName: string; missingOk?: boolean };
    output: { deactivated: boolean };
  };
  retireRevisions: {
    input: { app: AppRef; keep: number; protect: string[] };
    output: { deactivated: string[] };
  };
  /** Against the target's host, or through its probe endpoint when it has one (see `smokeBaseUrl`). */
  runSmokeChecks: {
    input: SmokeTarget & { checks: SmokeCheck[]; dependencies?: { path: string; expectStatus: number[] } };
    output: SmokeReport;
  };
  measureGate: {
    input: { app: AppRef; gate: GateSpec; revision: string; baselineRevision: string };
    output: GateMeasurement;
  };
  createApprovalLinks: { input: { rolloutId: string; expiresAt: number }; output: ApprovalLinks };
  finishRollout: {
    input: { rolloutId: string; app: AppRef; outcome: RolloutOutcome };
    output: { released: true; started: string | null };
  };
  // Flag strategy
  snapshotFlags: { input: FlagActivityInput & { blue: string }; output: ControlRecord };
  setRevisionFlags: {
    input: FlagActivityInput & { revision: string; mode: 'mock' | 'standby'; expectEpoch: number };
    output: ControlRecord;
  };
  observeMock: { input: FlagActivityInput & { revision: string }; output: MockObservation };
  flipFlags: { input: FlagActivityInput & { to: string; expectEpoch: number }; output: ControlRecord };
  observeFlip: { input: FlagActivityInput; output: FlipObservation };
  /** One look at production for the watch and the post-promotion guard (judged by `assessProgress`). */
  observeProgress: { input: FlagActivityInput; output: ProgressObservation };
  restoreFlags: { input: FlagActivityInput & { snapshot: ControlRecord }; output: ControlRecord };
  dropMockOutputs: { input: FlagActivityInput & { revision: string }; output: { deleted: number } };
  /** Change control: the emergency stops that hold this app now (the rest of the check is pure). */
  emergencyStopsInForce: { input: AppRef; output: EmergencyStop[] };
  /** Guardrail: session affinity off for the rollout, and back on (with Single mode) at the end. */
  setSessionAffinity: {
    input: { app: AppRef; affinity: 'sticky' | 'none'; singleMode?: boolean };
    output: { changed: boolean };
  };
  /** Records a write (traffic, flags), a compensation or the finish in the audit trail; once per step. */
  appendAudit: { input: RolloutAuditRecord; output: { id: string; appended: boolean } };
  /** The app's newest admitted rollout: an undo (or the guard) never restores over a newer one. */
  latestRollout: { input: AppRef; output: { rolloutId: string | null } };
  /** One notification to one channel; retries within its budget and never throws (a failure is an outcome). */
  deliverNotification: { input: DeliveryInput; output: DeliveryOutcome };
  // Coordinated releases
  /** A member rollout tells its release how far it is: raises `memberReport` on the parent. */
  reportToRelease: { input: { parentInstanceId: string; report: MemberReport }; output: { raised: boolean } };
  /** The release commands one member (`releaseCommand`), or aborts or undoes it; false when it has ended. */
  signalMember: { input: MemberSignal; output: { raised: boolean } };
  /** Holds every member app for the release, or none: `busy` names what holds the others. */
  holdReleaseApps: {
    input: { releaseId: string; apps: ReleaseApp[] };
    output: { held: boolean; busy: { app: string; holder: string }[] };
  };
  /** Frees the apps the release holds and starts what was queued behind them. Idempotent. */
  freeReleaseApps: { input: { releaseId: string; apps: ReleaseApp[] }; output: { started: string[] } };
  /** Records the release's end in the audit trail, once (the entry's id comes from the release id). */
  appendReleaseAudit: {
    input: { release: string; releaseId: string; at: string; outcome: string; reason?: string };
    output: { id: string; appended: boolean };
  };
}

export type ActivityName = keyof ActivityContract;
export type ActivityInput<N extends ActivityName> = ActivityContract[N]['input'];
export type ActivityOutput<N extends ActivityName> = ActivityContract[N]['output'];

/**
 * What the host gives one invocation beyond its input: the durable client, as far as activities use it,
 * and the invocation's log (the Functions log in Azure), where audit entries are also written.
 */
export type ActivityInvocation = RolloutStarter & {
  log?: (line: string) => void;
  /** Raises an event on an instance; false when it does not exist or has ended (releases use it). */
  raiseEvent?: (instanceId: string, event: string, data: unknown) => Promise<boolean>;
  /** Whether an instance exists and has not ended (a release asks before it waits behind an app's holder). */
  instanceRunning?: (instanceId: string) => Promise<boolean>;
};

export type ActivityHandler<N extends ActivityName> = (
  input: ActivityInput<N>,
  invocation: ActivityInvocation,
) => Promise<ActivityOutput<N>>;

export type ActivityHandlers = { [N in ActivityName]: ActivityHandler<N> };

/**
 * Calls activity `name` with retries and hands back its typed output. The one place where the durable
 * boundary (JSON in history) is given its type: the output is what the handler of the same name returned.
 */
export function* call<N extends ActivityName>(
  context: OrchestrationContext,
  name: N,
  input: ActivityInput<N>,
  retry: RetryOptions,
): Generator<Task, ActivityOutput<N>, unknown> {
  const output: unknown = yield context.df.callActivityWithRetry(name, retry, input);
  return output as ActivityOutput<N>;
}

/** Calls one activity once per input, in parallel and without durable retry; outputs in input order. */
export function* callEach<N extends ActivityName>(
  context: OrchestrationContext,
  name: N,
  inputs: ActivityInput<N>[],
): Generator<Task, ActivityOutput<N>[], unknown> {
  const outputs: unknown = yield context.df.Task.all(
    inputs.map((input) => context.df.callActivity(name, input)),
  );
  return outputs as ActivityOutput<N>[];
}

// ---- Child orchestrations: the same, for the sub-orchestrations the rollout starts ----

export interface GateRunInput {
  /** With `phase`, tells an operator reading the instance which rollout and step it belongs to. */
  rolloutId: string;
  app: AppRef;
  phase: GatePhase;
  gate: GateSpec;
  green: string;
  blue: string;
}

export interface WatchInput {
  rolloutId: string;
  app: AppRef;
  green: string;
  blue: string;
  fqdn?: string;
  /** Where smoke checks reach green (label FQDN, probe endpoint); absent: the revision's own FQDN. */
  smokeTarget?: SmokeTarget;
  smoke: SmokeCheck[];
  gates: GateSpec[];
  intervalMs: number;
  /** Epoch ms at which the watch window ends. */
  until: number;
  /** Checks done in earlier generations. */
  iteration: number;
  /** Flag strategy: green must keep the production lease at this epoch. */
  flag?: { strategy: FlagStrategyPlan; epoch: number };
  /** Flag strategy with `progress`: the previous look at production, which the next one is judged against. */
  progress?: ProgressObservation;
  /**
   * Per gate, its run so far (see `recordWatchMeasurement`): counters and the latest measurements,
   * bounded however long the watch. Carried across generations.
   */
  gateRuns?: Record<string, GateRunProgress>;
  /** Epoch ms of the next full check (absent: one interval after the generation starts). */
  nextCheckAt?: number;
  /** Per gate whose provider last failed, epoch ms of its quick retry (its errorInterval after the error). */
  gateRetryAt?: Record<string, number>;
}

export interface WatchResult {
  ok: boolean;
  reason?: string;
  checks: number;
  /** The latest measurement of each watch gate, for the rollout's status. */
  gates?: GateReport;
}

export interface ChildContract {
  gateRun: { input: GateRunInput; output: GateRunResult };
  watch: { input: WatchInput; output: WatchResult };
  /** A release member: the rollout orchestration in member mode. */
  rollout: { input: RolloutInput; output: RolloutResult };
}

export type ChildName = keyof ChildContract;

/** A child orchestration started, not yet awaited: its task (for `Task.any`/`Task.all`) and its typed result. */
export interface ChildRun<O> {
  task: Task;
  /** The child's output; read only once its task has completed. */
  result(): O;
}

/** Starts child orchestration `name` under `instanceId`; like `call`, the one place its output is typed. */
export function startChild<N extends ChildName>(
  context: OrchestrationContext,
  name: N,
  input: ChildContract[N]['input'],
  instanceId: string,
): ChildRun<ChildContract[N]['output']> {
  const task = context.df.callSubOrchestrator(Orchestrators[name], input, instanceId);
  return { task, result: () => task.result as ChildContract[N]['output'] };
}
