import type { AppRef, TrafficEntry } from '../ports/containerApps';
import type { RevisionFlags } from '../flag/control';
import type { MockReport, MockSpec } from '../flag/validation';
import type { MeasurementVerdict } from '../gates/assess';
import type { GateQuery, MeasuredNumber } from '../gates/types';
import type { Admission, ProductionGate } from '../changeControl/admission';
import type { Override } from '../changeControl/override';
import type { ChangeControlRules } from '../changeControl/rules';
import type { GuardrailFinding } from '../guardrails/findings';
import type { GuardrailSettings } from '../guardrails/settings';
import type { NotificationChannel } from '../notify/channels';
import type { DeliveryOutcome } from '../ports/notify';
import type { ReleaseMembership } from '../release/types';
import type { RolloutPhase } from './phase';

/** One HTTP smoke check against green's own URL. */
export interface SmokeCheck {
  name: string;
  path: string;
  method: 'GET' | 'HEAD' | 'POST';
  expectStatus: number[];
  bodyContains?: string;
  latencyBudgetMs: number;
  retries: number;
}

/** A gate as the plan carries it: its query (see `GateQuery`), its timing and how runs are judged. */
export interface GateSpec extends GateQuery {
  name: string;
  intervalMs: number;
  count: number;
  successCondition: string;
  failureCondition?: string;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  minSampleSize?: number;
  /** Successes in a row that pass the run at once; 0 or absent: off. */
  consecutiveSuccessLimit?: number;
  /** Measured and shown, never deciding the rollout (waited for like the others). */
  dryRun?: boolean;
  /** After a provider error, the next try comes this soon (absent: 10 s, as Argo Rollouts). */
  errorIntervalMs?: number;
  /** Before a run's first measurement, so green can warm up (absent: none). */
  initialDelayMs?: number;
  /** Watch only: whether verdicts add up over the whole watch (absent: they do). */
  accumulate?: boolean;
  phases: GatePhase[];
  /** What an inconclusive run does: fail the rollout, let it pass, or wait for a person's approval. */
  onInconclusive: 'fail' | 'pass' | 'pause';
}

export type GatePhase = 'prePromotion' | 'eachStep' | 'watch';

export interface TrafficStrategyPlan {
  type: 'traffic';
  steps: number[];
  stepPauseMs: number;
  recheckSmokeEachStep: boolean;
}

/** Where the control plane and the two Redis bindings are, and what mock validation demands. */
export interface FlagStrategyPlan {
  type: 'flag';
  /** App settings (of Greenlight and of the workload) holding the production and temporary Redis URLs. */
  prodUrlSetting: string;
  tempUrlSetting: string;
  /** Key prefix shared with the workload agent. */
  keyPrefix: string;
  flipDeadlineMs: number;
  mock: MockSpec;
  /**
   * What the watch and the post-promotion guard check of production (absent in plans made before they
   * existed): the log whose checkpoint must advance, and the largest lag behind the source.
   */
  progress?: { log: string; maxLagFrames: number };
  /** How long the agents' production lease outlives a crashed holder (the policy's `strategy.leaseTtl`). */
  leaseTtlMs?: number;
  /** Post-promotion guard: while blue is still warm (until `cleanup.deactivateAfter`), a stall flips back. */
  guard?: { enabled: boolean };
}

/** What every flag-strategy activity is given: the app, the strategy, and the rollout (as the change's author). */
export interface FlagActivityInput {
  app: AppRef;
  strategy: FlagStrategyPlan;
  rolloutId: string;
}

/**
 * What the rollout orchestration needs from the policy, with durations in milliseconds. Built once
 * when the rollout is accepted and carried in the orchestration input, so a policy edited mid-rollout
 * cannot change a rollout already running (and replay stays deterministic).
 */
export interface RolloutPlan {
  policyName: string;
  app: AppRef;
  containerName?: string;
  strategy: TrafficStrategyPlan | FlagStrategyPlan;
  readiness: { timeoutMs: number; pollIntervalMs: number };
  smoke: SmokeCheck[];
  dependencies?: { path: string; expectStatus: number[] };
  gates: GateSpec[];
  /** `remindBeforeMs`: the lead of the approvalReminder (absent: a quarter of the timeout; 0: none). */
  approval: {
    required: boolean;
    timeoutMs: number;
    onTimeout: 'rollback' | 'promote';
    approvers: string[];
    remindBeforeMs?: number;
  };
  bakeMs: number;
  watch: { durationMs: number; intervalMs: number };
  /**
   * `undoWindowMs`: how long after Succeeded blue stays restorable and an undo is accepted (absent: the
   * cleanup delay). Blue is retired when both it and the cleanup delay have passed.
   */
  cleanup: {
    deactivateAfterMs: number;
    keepRevisions: number;
    undoWindowMs?: number;
    /** The lead of the undoWindowClosing notice (absent: a quarter of the window; 0: none). */
    remindBeforeUndoClosesMs?: number;
  };
  /** How long compensations are retried (absent in plans made before it: the defaults apply). */
  rollback?: { retryForMs: number; maxIntervalMs: number };
  /** The policy's deploy windows and freezes (absent: only the global rules apply). */
  changeControl?: ChangeControlRules;
  /** What the rollout does about risky Container Apps settings (absent in plans made before guardrails). */
  guardrails?: GuardrailSettings;
  /** Where events go: channels name app settings only, never a URL or secret (absent: nobody is told). */
  notifications?: NotificationChannel[];
}

export interface RolloutTrigger {
  kind: 'eventGrid' | 'http' | 'queue';
  eventId?: string;
  requestedBy?: string;
}

export interface RolloutInput {
  rolloutId: string;
  plan: RolloutPlan;
  image: string;
  digest?: string;
  revisionSuffix: string;
  trigger: RolloutTrigger;
  requestedAt: string;
  /** Change control as decided at admission: the verdict (a wait starts on a timer), global rules, override. */
  changeControl?: AdmittedChangeControl;
  /**
   * Member mode: the rollout is one member of a coordinated release. It skips its own approval and bake,
   * reports to the parent and promotes only on its command (see src/domain/release/types.ts).
   */
  release?: ReleaseMembership;
}

export interface AdmittedChangeControl {
  admission: Admission;
  /** The global rules in force when the rollout was admitted. */
  global?: ChangeControlRules;
  override?: Override;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  status?: number;
  latencyMs?: number;
  message: string;
}

export interface SmokeReport {
  passed: boolean;
  url: string;
  results: CheckResult[];
}

export type GateVerdict = 'pass' | 'fail' | 'inconclusive';

/** One of a gate's latest measurements as the status shows it (infinities as strings, see `MeasuredNumber`). */
export interface GateHistoryEntry {
  at?: string;
  value?: MeasuredNumber;
  baseline?: MeasuredNumber;
  sampleSize?: number;
  verdict: MeasurementVerdict;
  error?: string;
}

export interface GateReport {
  /** The deciding gates' worst verdict (dry-run gates never decide). */
  verdict: GateVerdict;
  results: {
    name: string;
    /**
     * The run's verdict; `running` while it measures, `stopped` when a sibling's failure ended the phase
     * before it finished.
     */
    verdict: GateVerdict | 'running' | 'stopped';
    message: string;
    /** The latest measurement. */
    value?: MeasuredNumber;
    baseline?: MeasuredNumber;
    at?: string;
    /** Measured and shown only. */
    dryRun?: boolean;
    /** The latest measurements, oldest first (at most 10, fewer when many gates share the status). */
    history?: GateHistoryEntry[];
  }[];
}

export interface ApprovalDecision {
  decision: 'approve' | 'reject';
  approver: string;
  comment?: string;
  decidedAt: string;
}

export interface ControlRequest {
  by: string;
  reason?: string;
}

export type ApprovalState =
  'notRequired' | 'upcoming' | 'pending' | 'approved' | 'rejected' | 'timedOut' | 'skipped';

export interface ApprovalStatus {
  state: ApprovalState;
  /** Confirmation page; present while pending. */
  pageUrl?: string;
  expiresAt?: string;
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
}

export interface TimelineEntry {
  phase: RolloutPhase;
  at: string;
  note?: string;
}

export type RolloutOutcome = 'Succeeded' | 'RolledBack' | 'RollbackFailed' | 'Undone';

/**
 * Undo after promotion: open from Succeeded until `until`; `command` rolls the previous image out again
 * (what to run once the window has closed or a newer rollout has started).
 */
export interface UndoStatus {
  state: 'open' | 'undoing' | 'undone' | 'closed';
  /** End of the window (ISO). */
  until: string;
  command: string;
  /** The image production ran before this rollout, when known. */
  previousImage?: string;
  /** Who undid it (or `guard`), why and when. */
  by?: string;
  reason?: string;
  at?: string;
  /** Why the window closed early (a newer rollout of the app started). */
  closedBecause?: string;
}

/** The orchestration's custom status: small (well under the 16 KB limit) and stable. */
export interface RolloutStatus {
  rolloutId: string;
  app: AppRef;
  image: string;
  strategy: 'traffic' | 'flag';
  phase: RolloutPhase;
  blue: string[];
  green?: string;
  step?: { index: number; of: number; weight: number };
  traffic?: TrafficEntry[];
  checks: { readiness?: CheckResult; smoke?: SmokeReport; mock?: MockReport; flip?: CheckResult };
  /** Flag strategy: the control record as Greenlight last set it. */
  flags?: { epoch: number; active: string | null; revisions: Record<string, RevisionFlags> };
  gates: GateReport['results'];
  approval: ApprovalStatus;
  timeline: TimelineEntry[];
  outcome?: RolloutOutcome;
  reason?: string;
  leftToDo?: string[];
  /** While rolling back: the undo being retried, its attempts and when it is tried next. */
  rollback?: RollbackProgress;
  /** Malformed external events, the latest 10: recorded and ignored, never acted on. */
  ignoredEvents?: IgnoredEvent[];
  /** Undo after promotion: present from Succeeded on. */
  undo?: UndoStatus;
  /** Change control: the admission verdict and the latest production-change check (pause, override). */
  changeControl?: ChangeControlStatus;
  /** Guardrail findings from the snapshot: each names the setting, what the rollout does and the fix. */
  guardrails?: GuardrailFinding[];
  /** What became of each notification on each channel, the latest 20 (names channels, never URLs). */
  notifications?: DeliveryOutcome[];
  updatedAt: string;
}

export interface RollbackProgress {
  /** The undo being retried, as `leftToDo` would name it. */
  step: string;
  attempts: number;
  /** When it is tried next; absent once it stopped retrying. */
  nextRetryAt?: string;
  lastError: string;
  /** The end of the retry bound (`rollback.retryFor` after the rollback began). */
  retryUntil: string;
}

export interface IgnoredEvent {
  name: string;
  at: string;
  problem: string;
}

export interface ChangeControlStatus {
  admission?: Pick<Admission, 'verdict' | 'until' | 'reason' | 'rule'>;
  /** The latest check before a production change that did not simply find production open. */
  gate?: Pick<ProductionGate, 'verdict' | 'until' | 'reason' | 'rule'> & { before: string; at: string };
  /** Overrides that let this rollout through, with who and why. */
  overrides?: Override[];
}

export interface RolloutResult {
  outcome: RolloutOutcome;
  reason?: string;
  green?: string;
  leftToDo?: string[];
}
