/**
 * What Greenlight tells people about a rollout. A closed set of kinds, each with the facts a person needs
 * to act on it; every formatter (Teams, Slack, CloudEvents) renders the same event.
 */
export const notificationKinds = [
  /** A rollout began deploying a new image. */
  'started',
  /** Green passed its checks and waits for a person: carries the approval page, expiry and approvers. */
  'waitingApproval',
  /** The approval is still open and its expiry is near. */
  'approvalReminder',
  /** A person approved the promotion. */
  'approved',
  /** A person rejected the promotion. */
  'rejected',
  /** Nobody decided before the approval expired; the policy's onTimeout applied. */
  'timedOut',
  /** Traffic moved to the next step. */
  'stepAdvanced',
  /** A gate's measurements failed its condition. */
  'gateFailed',
  /** A gate could not decide (no data, too few samples, errors). */
  'gateInconclusive',
  /** Green took all production traffic (or the production flag). */
  'promoted',
  /** The rollout finished: green serves, watched and cleaned up. */
  'succeeded',
  /** The rollout restored the snapshot taken before it started. */
  'rolledBack',
  /** Rollback could not restore everything: a person must finish it (loud). */
  'rollbackFailed',
  /** The window in which a finished rollout can still be undone closes soon. */
  'undoWindowClosing',
  /** A person undid a finished rollout. */
  'undone',
  /** A release's gathering window closed before every member's image was pushed: nothing started. */
  'releaseIncomplete',
] as const;

export type NotificationKind = (typeof notificationKinds)[number];

export function isNotificationKind(value: unknown): value is NotificationKind {
  return typeof value === 'string' && (notificationKinds as readonly string[]).includes(value);
}

/** How urgent an event is; `critical` is rendered loud (Slack `@here`, Teams attention style). */
export type Severity = 'info' | 'good' | 'warning' | 'danger' | 'critical';

/** One measurement of a gate, as shown to people: the value as measured and its verdict. */
export interface GateValue {
  /** A number, or a word such as 'NaN', 'Infinity' or 'no data'. */
  value: number | string | null;
  /** Blue's value in the same window, when the condition compares against it. */
  baseline?: number | string;
  verdict: string;
  at?: string;
}

/** Facts every event carries: which rollout, of what, and where to look. */
export interface EventBase {
  /**
   * Unique per event within its rollout and the same on every replay (e.g. `${sequence}-${kind}` or
   * `context.df.newGuid`): with the rollout id and the channel, it keys the delivery's idempotency record.
   */
  id: string;
  rolloutId: string;
  /** The policy's name. */
  policy: string;
  /** The Container App's name. */
  app: string;
  /** When it happened, RFC 3339 (ISO 8601 UTC). */
  at: string;
  image: { from?: string; to: string };
  revision?: { from?: string; to?: string };
  /** Pages a person can open; only http(s) URLs are rendered as buttons. */
  links?: { dashboard?: string; approvalPage?: string };
}

export type NotificationEvent = EventBase &
  (
    | { kind: 'started'; strategy?: string }
    | {
        kind: 'waitingApproval' | 'approvalReminder';
        /** When the approval times out, RFC 3339. */
        expiresAt: string;
        /** Who may decide; empty means whoever holds the link and passes platform authentication. */
        approvers: string[];
        /** What happens at expiry. */
        onTimeout: 'rollback' | 'promote';
        /** Why approval is asked (e.g. a gate was inconclusive), when not just the policy. */
        reason?: string;
      }
    | { kind: 'approved' | 'rejected'; by: string; comment?: string }
    | { kind: 'timedOut'; onTimeout: 'rollback' | 'promote' }
    | {
        kind: 'stepAdvanced';
        /** 1-based: the step now in effect, of `steps`. */
        step: number;
        steps: number;
        /** Green's share of production now, and before this step (0 before the first). */
        weight: number;
        fromWeight?: number;
        /** How production moved: traffic weights, or the flag flip (one step, 0 → 100). */
        via?: 'traffic' | 'flag';
      }
    | {
        kind: 'gateFailed' | 'gateInconclusive';
        gate: string;
        phase?: string;
        /** The conditions measurements are judged by, e.g. `success: result < 0.05`. */
        condition?: string;
        /** The limits the run is judged by, e.g. `count 3, failureLimit 0, inconclusiveLimit 0`. */
        limits?: string;
        values: GateValue[];
        message: string;
      }
    | { kind: 'promoted'; weight?: number }
    | { kind: 'succeeded'; durationMs?: number }
    | { kind: 'rolledBack'; reason: string }
    | { kind: 'rollbackFailed'; reason: string; leftToDo: string[] }
    | {
        kind: 'undoWindowClosing';
        closesAt: string;
        /** What rolls the previous version out again once undo is no longer possible. */
        command?: string;
      }
    | { kind: 'undone'; by: string; reason?: string }
    | {
        kind: 'releaseIncomplete';
        /** The tag key the pushes were gathered under, and the members no image arrived for. */
        key: string;
        missing: string[];
        closedAt: string;
      }
  );

/** The event of one kind, for code that builds a particular event. */
export type EventOf<K extends NotificationKind> = Extract<NotificationEvent, { kind: K }>;

export function severityOf(event: NotificationEvent): Severity {
  switch (event.kind) {
    case 'approved':
    case 'promoted':
    case 'succeeded':
      return 'good';
    case 'waitingApproval':
    case 'approvalReminder':
    case 'rejected':
    case 'timedOut':
    case 'gateInconclusive':
    case 'rolledBack':
    case 'undone':
    case 'releaseIncomplete':
      return 'warning';
    case 'gateFailed':
      return 'danger';
    case 'rollbackFailed':
      return 'critical';
    default:
      return 'info';
  }
}
