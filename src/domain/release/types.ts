import type { AppRef } from '../ports/containerApps';
import type {
  ApprovalState,
  IgnoredEvent,
  RolloutInput,
  RolloutOutcome,
  RolloutTrigger,
} from '../rollout/types';

/**
 * Coordinated releases: several apps rolled out as one, behind one approval, all-or-nothing. The release
 * is a parent orchestration; each member is the ordinary rollout orchestration in member mode
 * (`RolloutInput.release` set), which does its own snapshot, validation, promotion and rollback.
 */

/** How members are promoted: one after another (each fully), or step i of every member before step i+1. */
export type ReleaseOrder = 'sequence' | 'lockstep';

/** What a new release of a name does to one of the same name still running. */
export type ReleaseConcurrency = 'supersede' | 'queue' | 'reject';

/** A `kind: Release` policy document as loaded and validated; durations in milliseconds. */
export interface ReleasePolicy {
  kind: 'Release';
  /** Unique among releases. */
  name: string;
  /** App policy names (the `name:` of app policies), in promotion order. */
  members: string[];
  order: ReleaseOrder;
  /** Release-level: members skip their own approval and bake. */
  approval: {
    required: boolean;
    timeout: number;
    onTimeout: 'rollback' | 'promote';
    approvers: string[];
  };
  /** Bake after approval (0: none). */
  bake: number;
  /** Members watch at least this long (absent: each its own watch). */
  watch?: { duration: number; interval: number };
  /** How pushes are gathered into one release (see `releaseGather`). */
  gather: {
    window: number;
    /** Regex whose capture group 1 of an image tag is the release key (absent: the whole tag). */
    tagKey?: string;
  };
  concurrency: ReleaseConcurrency;
  /** Absent: the smallest undo window among the members. */
  undoWindow?: number;
  /** While a member app is busy: how long the release waits (ms), and how often it looks first (ms). */
  queue: { timeout: number; pollInterval: number };
  /** Where it was loaded from (file#document[index]). */
  source: string;
}

/** What the release orchestration needs from the policy, frozen at start; durations in milliseconds. */
export interface ReleasePlan {
  name: string;
  order: ReleaseOrder;
  /** Member app policy names in promotion order. */
  members: string[];
  approval: {
    required: boolean;
    timeoutMs: number;
    onTimeout: 'rollback' | 'promote';
    approvers: string[];
  };
  bakeMs: number;
  /** The release's own watch (0: members watch only their own). */
  watch: { durationMs: number; intervalMs: number };
  undoWindowMs: number;
  concurrency: ReleaseConcurrency;
  /** While `Queued`: how often the member apps are looked at again, and how long before giving up. */
  queue: { pollIntervalMs: number; timeoutMs: number };
}

/** One member as the release starts it: its app policy name, its rollout instance id and rollout input. */
export interface ReleaseMemberInput {
  /** The app policy's name. */
  app: string;
  /** `memberRolloutId(releaseId, app)`. */
  rolloutId: string;
  /** Carries `release` (member mode). */
  input: RolloutInput;
}

export interface ReleaseInput {
  releaseId: string;
  plan: ReleasePlan;
  /** In promotion order. */
  members: ReleaseMemberInput[];
  trigger: RolloutTrigger;
  requestedAt: string;
  reason?: string;
}

/** Set on a member rollout's input: it reports to its parent and takes its commands. */
export interface ReleaseMembership {
  releaseId: string;
  /** The parent's instance id (the release id). */
  parentInstanceId: string;
  /** The member's app policy name. */
  app: string;
}

/** Where a release is. A closed set, like `RolloutPhase`. */
export type ReleasePhase =
  /** Waiting until no other rollout or release holds any member app. */
  | 'Queued'
  /** Members started: snapshot, deploy, ready. */
  | 'Deploying'
  /** Members validating (smoke, mock, pre-promotion gates); some may have reported validated. */
  | 'Validating'
  /** Every member validated: one approval for the whole release. */
  | 'WaitingApproval'
  /** Timed bake after approval. */
  | 'Baking'
  /** Members promoted in order (sequence) or step by step together (lockstep). */
  | 'Promoting'
  /** Every member promoted; members watch. */
  | 'Watching'
  /** Every member succeeded; the undo window is open until `undo.until`. */
  | 'Succeeded'
  /** Members restoring their snapshots: promoted ones one by one in reverse promotion order, then the rest. */
  | 'RollingBack'
  /** Every member restored its snapshot. */
  | 'RolledBack'
  /** Some member could not restore everything: `leftToDo` (and each member's) says what a person must do. */
  | 'RollbackFailed'
  /** Undone after success: every member restored its snapshot. */
  | 'Undone';

export const releaseTerminalPhases: readonly ReleasePhase[] = [
  'Succeeded',
  'RolledBack',
  'RollbackFailed',
  'Undone',
];

export type ReleaseOutcome = RolloutOutcome;

/** How far a member has come, as the parent knows it from the member's reports. */
export type MemberStage =
  'Starting' | 'Validated' | 'Promoting' | 'Promoted' | 'Watched' | 'Succeeded' | 'Finished';

export interface ReleaseMemberStatus {
  /** App policy name. */
  app: string;
  rolloutId: string;
  phase?: MemberStage;
  /** Took production traffic (or the production flag): restored first, in reverse promotion order. */
  promoted: boolean;
  /** Lockstep: the last step the member reported done (0-based). */
  step?: number;
  outcome?: RolloutOutcome;
  reason?: string;
  leftToDo?: string[];
}

export interface ReleaseApprovalStatus {
  state: ApprovalState;
  pageUrl?: string;
  expiresAt?: string;
  by?: string;
  at?: string;
  comment?: string;
}

export interface ReleaseTimelineEntry {
  at: string;
  phase?: ReleasePhase;
  note?: string;
}

/** The release orchestration's custom status: small and stable (bounded however many members). */
export interface ReleaseStatus {
  releaseId: string;
  name: string;
  order?: ReleaseOrder;
  phase: ReleasePhase;
  outcome?: ReleaseOutcome;
  reason?: string;
  /** In promotion order. */
  members: ReleaseMemberStatus[];
  approval?: ReleaseApprovalStatus;
  /** The latest 50 entries. */
  timeline: ReleaseTimelineEntry[];
  /** Everything a person must still do, member by member (`app: what`). */
  leftToDo?: string[];
  /** While Queued: which member apps are held, and by what. */
  queuedBehind?: { app: string; holder: string }[];
  /** Lockstep: the step being taken. */
  step?: { index: number; of: number };
  undo?: { state: 'open' | 'undoing' | 'undone' | 'closed'; until: string; by?: string; reason?: string };
  /** Malformed events into the release, the latest 10: recorded and ignored. */
  ignoredEvents?: IgnoredEvent[];
  updatedAt?: string;
}

export interface ReleaseResult {
  outcome: ReleaseOutcome;
  reason?: string;
  members: Pick<ReleaseMemberStatus, 'app' | 'rolloutId' | 'outcome' | 'reason' | 'leftToDo'>[];
  leftToDo?: string[];
}

// ---- Events between parent and members (payloads validated with src/domain/release/events.ts) ----

/** Parent → member (`releaseCommand`). Steps are 0-based indexes into the member's traffic steps. */
export type ReleaseCommand = { action: 'promote' } | { action: 'step'; step: number } | { action: 'finish' };

/** Member → parent (`memberReport`). */
export type MemberReport =
  | {
      kind: 'validated';
      app: string;
      rolloutId: string;
      green?: string;
      /** Why a person must approve (an inconclusive gate that pauses): the release then asks, whatever its policy. */
      approvalNeeded?: string[];
    }
  /** Sequence: the member took all production; lockstep: after its last step. */
  | { kind: 'promoted'; app: string; rolloutId: string }
  | { kind: 'stepDone'; app: string; rolloutId: string; step: number }
  | { kind: 'watched'; app: string; rolloutId: string }
  /** Entered Succeeded after `finish`: its undo window is open. */
  | { kind: 'succeeded'; app: string; rolloutId: string }
  /** The member's orchestration is ending (or ended by rollback/undo) with this outcome. */
  | {
      kind: 'finished';
      app: string;
      rolloutId: string;
      outcome: RolloutOutcome;
      reason?: string;
      leftToDo?: string[];
      /** Whether it had taken production before it stopped. */
      promoted: boolean;
    };

/** What the release raises on one member: a command, or the existing abort/undo. */
export type MemberSignal =
  | { rolloutId: string; event: 'releaseCommand'; payload: ReleaseCommand }
  | { rolloutId: string; event: 'abort' | 'undo'; payload: { by: string; reason?: string } };

/** A member app as the release holds it: its policy name and the Container App. */
export interface ReleaseApp {
  app: string;
  ref: AppRef;
  /** The member's rollout, recorded as the app's newest (an undo never restores over a newer rollout). */
  rolloutId?: string;
  image?: string;
  digest?: string;
}
