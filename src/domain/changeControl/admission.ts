import { blockersAt, nextOpening, openWindow, type Blocker } from './calendar';
import { scopeText, type EmergencyStop } from './emergencyStop';
import { overrideApplies, type Override } from './override';
import type { ChangeControlRules, ClosedAction } from './rules';

/**
 * The verdicts of change control, as pure functions of the time, the rules (the policy's and the
 * global ones) and what is engaged (emergency stops, an override). The orchestrator calls them with
 * `context.df.currentUtcDateTime`, so a replay decides the same; waiting is a durable timer to `until`.
 */

export interface ChangeControlContext {
  /** Emergency stops in force for this app (global and the app's own), as the store returned them. */
  stops?: EmergencyStop[];
  override?: Override;
  /** The rollout asking; an override bound to another rollout does not apply. */
  rolloutId?: string;
}

export interface Admission {
  /**
   * open: production is open, start. wait: start at `until` (the next opening). reject: refuse the
   * rollout. run-outside: start although production is closed, because the policy says `run` or an
   * override lets it; status and audit say so.
   */
  verdict: 'open' | 'wait' | 'reject' | 'run-outside';
  /** For wait: the next opening (ISO 8601). */
  until?: string;
  reason: string;
  /** The rule that decided: `open`, `policy.windows`, `global.freeze:holidays`, `emergencyStop:global`, `override` ... */
  rule: string;
  /** For run-outside by override: the override, to record. */
  override?: Override;
}

export interface ProductionGate {
  /** Whether the next production change (deploy, traffic, flip, retire) may happen now. */
  allowed: boolean;
  /** open and run-outside allow; pause holds until `until` (a window opens) or until a stop is lifted. */
  verdict: 'open' | 'run-outside' | 'pause';
  until?: string;
  reason: string;
  rule: string;
  override?: Override;
}

const layers = (policy?: ChangeControlRules, global?: ChangeControlRules): ChangeControlRules[] =>
  [global, policy].filter((r): r is ChangeControlRules => r !== undefined);

function ruleOf(b: Blocker): string {
  return b.kind === 'freeze' ? `${b.layer}.freeze:${b.freeze.name}` : `${b.layer}.windows`;
}

function blockerText(b: Blocker): string {
  if (b.kind === 'freeze') {
    return `${b.layer} freeze '${b.freeze.name}' (${b.freeze.reason}) until ${new Date(b.freeze.end).toISOString()}`;
  }
  return `outside the ${b.layer} deploy windows (${b.windows.map((w) => w.text).join('; ')})`;
}

/** The policy decides what its rollouts do; without a change-control block of its own, the global rules do. */
function actionFor(b: Blocker, policy?: ChangeControlRules, global?: ChangeControlRules): ClosedAction {
  const rules = policy ?? global;
  if (!rules) return 'wait';
  return b.kind === 'freeze' ? rules.duringFreeze : rules.outsideWindows;
}

const severity: Record<ClosedAction, number> = { run: 0, wait: 1, reject: 2 };

function strictest(blockers: Blocker[], policy?: ChangeControlRules, global?: ChangeControlRules) {
  let action: ClosedAction = 'run';
  let decidedBy: Blocker | undefined;
  for (const b of blockers) {
    const a = actionFor(b, policy, global);
    if (decidedBy === undefined || severity[a] > severity[action]) {
      action = a;
      decidedBy = b;
    }
  }
  return { action, decidedBy: decidedBy ?? blockers[0] };
}

function stopText(stops: EmergencyStop[]): string {
  return stops
    .map((s) => `${scopeText(s.scope)} emergency stop by ${s.by} since ${s.since}: ${s.reason}`)
    .join('; ');
}

const stopRule = (stops: EmergencyStop[]) =>
  stops.some((s) => s.scope.kind === 'global') ? 'emergencyStop:global' : 'emergencyStop:app';

function openReason(now: number, all: ChangeControlRules[]): string {
  const open = all.map((r) => openWindow(r, now)).filter((w) => w !== undefined);
  return open.length > 0
    ? `inside the deploy window ${open.map((w) => w.text).join(' and ')}`
    : 'no deploy window or freeze applies';
}

/** Whether a new rollout may start now, must wait (until when), is refused, or runs outside the rules. */
export function admission(
  now: Date,
  policy: ChangeControlRules | undefined,
  global: ChangeControlRules | undefined,
  context: ChangeControlContext = {},
): Admission {
  const t = now.getTime();
  const stops = context.stops ?? [];
  if (stops.length > 0) {
    return {
      verdict: 'reject',
      reason: `production is stopped: ${stopText(stops)}; lift the stop to roll out (an override does not lift it)`,
      rule: stopRule(stops),
    };
  }
  const all = layers(policy, global);
  const blockers = blockersAt(t, all);
  if (blockers.length === 0) return { verdict: 'open', reason: openReason(t, all), rule: 'open' };
  const closed = blockers.map(blockerText).join('; ');
  if (context.override && overrideApplies(context.override, context.rolloutId)) {
    const o = context.override;
    return {
      verdict: 'run-outside',
      reason: `override by ${o.by} (${o.reason}) although production is closed: ${closed}`,
      rule: 'override',
      override: o,
    };
  }
  const { action, decidedBy } = strictest(blockers, policy, global);
  const rule = decidedBy ? ruleOf(decidedBy) : 'closed';
  if (action === 'reject') {
    return {
      verdict: 'reject',
      reason: `production is closed: ${closed}; the policy rejects rollouts then`,
      rule,
    };
  }
  if (action === 'run') {
    return {
      verdict: 'run-outside',
      reason: `production is closed (${closed}) and the policy says run`,
      rule,
    };
  }
  const opens = nextOpening(t, all);
  if (opens === undefined) {
    return {
      verdict: 'reject',
      reason: `production is closed (${closed}) and does not open within a year: check that the policy's and the global windows meet`,
      rule,
    };
  }
  const until = new Date(opens).toISOString();
  return { verdict: 'wait', until, reason: `production is closed: ${closed}; waiting until ${until}`, rule };
}

/**
 * Checked before every production change of a running rollout. Closed production pauses it (a rollout
 * already under way is never rejected halfway), unless the policy says run or an override applies; an
 * emergency stop pauses it until lifted, override or not.
 */
export function mayChangeProduction(
  now: Date,
  policy: ChangeControlRules | undefined,
  global: ChangeControlRules | undefined,
  context: ChangeControlContext = {},
): ProductionGate {
  const t = now.getTime();
  const stops = context.stops ?? [];
  if (stops.length > 0) {
    return {
      allowed: false,
      verdict: 'pause',
      reason: `paused before the next production change: ${stopText(stops)}; resumes when lifted, or abort to roll back`,
      rule: stopRule(stops),
    };
  }
  const all = layers(policy, global);
  const blockers = blockersAt(t, all);
  if (blockers.length === 0)
    return { allowed: true, verdict: 'open', reason: openReason(t, all), rule: 'open' };
  const closed = blockers.map(blockerText).join('; ');
  if (context.override && overrideApplies(context.override, context.rolloutId)) {
    const o = context.override;
    return {
      allowed: true,
      verdict: 'run-outside',
      reason: `override by ${o.by} (${o.reason}) although production is closed: ${closed}`,
      rule: 'override',
      override: o,
    };
  }
  const { action, decidedBy } = strictest(blockers, policy, global);
  const rule = decidedBy ? ruleOf(decidedBy) : 'closed';
  if (action === 'run') {
    return {
      allowed: true,
      verdict: 'run-outside',
      reason: `production is closed (${closed}) and the policy says run`,
      rule,
    };
  }
  const opens = nextOpening(t, all);
  return {
    allowed: false,
    verdict: 'pause',
    ...(opens !== undefined ? { until: new Date(opens).toISOString() } : {}),
    reason:
      opens !== undefined
        ? `paused before the next production change: ${closed}; resumes at ${new Date(opens).toISOString()}`
        : `paused before the next production change: ${closed}; production does not open within a year`,
    rule,
  };
}
