import { formatDuration } from '../duration';
import { severityOf, type GateValue, type NotificationEvent, type Severity } from './events';

export interface Fact {
  name: string;
  value: string;
}

export interface LinkAction {
  title: string;
  url: string;
  /** The action a person is asked to take (rendered as the primary button). */
  primary?: boolean;
}

/**
 * What a person reads, independent of the channel: a title, one or two sentences, facts and links.
 * Formatters render this; the size fitting works on it too, dropping facts before anything else.
 */
export interface NotificationView {
  title: string;
  severity: Severity;
  summary: string;
  facts: Fact[];
  /** Steps a person must take (rollback failed); rendered as a list. */
  todo: string[];
  actions: LinkAction[];
  /** A short line for previews and screen readers (Slack's `text`, the Teams card's fallbackText). */
  fallback: string;
}

/** An http(s) URL, or undefined: anything else would not open from a chat client. */
export function linkUrl(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

export function describe(event: NotificationEvent): NotificationView {
  const { title, summary, facts = [], todo = [] } = specifics(event);
  const approvalPage = linkUrl(event.links?.approvalPage);
  const dashboard = linkUrl(event.links?.dashboard);
  const actions: LinkAction[] = [];
  if (approvalPage && (event.kind === 'waitingApproval' || event.kind === 'approvalReminder')) {
    actions.push({ title: 'Review and decide', url: approvalPage, primary: true });
  }
  if (dashboard) actions.push({ title: 'Open dashboard', url: dashboard });
  const common: Fact[] = [
    { name: 'App', value: event.app },
    { name: 'Image', value: event.image.from ? `${event.image.from} → ${event.image.to}` : event.image.to },
  ];
  if (event.revision?.to) {
    common.push({
      name: 'Revision',
      value: event.revision.from ? `${event.revision.from} → ${event.revision.to}` : event.revision.to,
    });
  }
  const trailer: Fact[] = [
    { name: 'Policy', value: event.policy },
    { name: 'Rollout', value: event.rolloutId },
    { name: 'At', value: event.at },
  ];
  return {
    title,
    severity: severityOf(event),
    summary,
    facts: [...facts, ...common, ...trailer],
    todo,
    actions,
    fallback: `${title} (${event.app})`,
  };
}

interface Specifics {
  title: string;
  summary: string;
  facts?: Fact[];
  todo?: string[];
}

function specifics(event: NotificationEvent): Specifics {
  switch (event.kind) {
    case 'started':
      return {
        title: `Rollout started: ${event.app}`,
        summary: `Deploying ${event.image.to}${event.strategy ? ` with the ${event.strategy} strategy` : ''}.`,
      };
    case 'waitingApproval':
    case 'approvalReminder':
      return {
        title:
          event.kind === 'waitingApproval'
            ? `Approval needed: ${event.app}`
            : `Approval still needed: ${event.app}`,
        summary: `${event.reason ?? 'Green passed its checks and waits for a decision.'} Without one by ${event.expiresAt}, it will ${event.onTimeout === 'promote' ? 'be promoted' : 'be rolled back'}.`,
        facts: [
          { name: 'Expires', value: event.expiresAt },
          {
            name: 'Who may approve',
            value: event.approvers.length > 0 ? event.approvers.join(', ') : 'anyone signed in with the link',
          },
          { name: 'On timeout', value: event.onTimeout },
        ],
      };
    case 'approved':
    case 'rejected':
      return {
        title: `${event.kind === 'approved' ? 'Approved' : 'Rejected'} by ${event.by}: ${event.app}`,
        summary:
          event.kind === 'approved'
            ? 'Promotion goes ahead.'
            : 'Green will be rolled back; production stays as it was.',
        facts: [
          { name: 'By', value: event.by },
          ...(event.comment ? [{ name: 'Comment', value: event.comment }] : []),
        ],
      };
    case 'timedOut':
      return {
        title: `Approval timed out: ${event.app}`,
        summary: `Nobody decided in time; by policy the rollout ${event.onTimeout === 'promote' ? 'promotes' : 'rolls back'}.`,
        facts: [
          { name: 'By', value: 'timeout' },
          { name: 'On timeout', value: event.onTimeout },
        ],
      };
    case 'stepAdvanced': {
      const from = event.fromWeight !== undefined ? `${event.fromWeight}% → ` : '';
      if (event.via === 'flag') {
        return {
          title: `Production flag flipped to green: ${event.app}`,
          summary: 'Green is now the revision processing production; blue stands by.',
          facts: [{ name: 'Processing', value: `${from}${event.weight}% green` }],
        };
      }
      return {
        title: `Traffic step ${event.step} of ${event.steps}: ${event.weight}% to green (${event.app})`,
        summary: `Green now serves ${event.weight}% of production traffic${event.fromWeight !== undefined ? ` (was ${event.fromWeight}%)` : ''}.`,
        facts: [
          { name: 'Weight', value: `${from}${event.weight}%` },
          { name: 'Step', value: `${event.step} of ${event.steps}` },
        ],
      };
    }
    case 'gateFailed':
    case 'gateInconclusive':
      return {
        title: `Gate ${event.kind === 'gateFailed' ? 'failed' : 'inconclusive'}: ${event.gate} (${event.app})`,
        summary: event.message,
        facts: [
          { name: 'Gate', value: event.gate },
          ...(event.phase ? [{ name: 'Phase', value: event.phase }] : []),
          ...(event.condition ? [{ name: 'Condition', value: event.condition }] : []),
          ...(event.limits ? [{ name: 'Limits', value: event.limits }] : []),
          { name: 'Values', value: gateValues(event.values) },
        ],
      };
    case 'promoted':
      return {
        title: `Promoted: ${event.app}`,
        summary: `Green serves production${event.weight !== undefined ? ` (${event.weight}%)` : ''}; the watch continues.`,
      };
    case 'succeeded':
      return {
        title: `Rollout succeeded: ${event.app}`,
        summary: `${event.image.to} is live${event.durationMs !== undefined ? ` after ${formatDuration(event.durationMs)}` : ''}.`,
      };
    case 'rolledBack':
      return {
        title: `Rolled back: ${event.app}`,
        summary: `Production was restored to what it was before the rollout. Why: ${event.reason}`,
        facts: [{ name: 'Why', value: event.reason }],
      };
    case 'rollbackFailed':
      return {
        title: `ROLLBACK FAILED: ${event.app}: action needed`,
        summary: `Greenlight could not restore production by itself. ${event.reason} A person must finish the steps below.`,
        facts: [{ name: 'Why', value: event.reason }],
        todo: event.leftToDo.length > 0 ? event.leftToDo : ['inspect the app: the steps left are unknown'],
      };
    case 'undoWindowClosing':
      return {
        title: `Undo window closing: ${event.app}`,
        summary: `This rollout can be undone until ${event.closesAt}; after that the previous revision is cleaned up.`,
        facts: [
          { name: 'Closes', value: event.closesAt },
          ...(event.command ? [{ name: 'Afterwards, roll back with', value: event.command }] : []),
        ],
      };
    case 'releaseIncomplete':
      return {
        title: `Release not started: ${event.policy} (${event.app})`,
        summary: `The pushes gathered under ${event.key} lack an image for ${event.missing.join(', ')} when the window closed at ${event.closedAt}; nothing was deployed. Push the missing images (a new window opens) or start the release with POST /api/releases.`,
        facts: [
          { name: 'Key', value: event.key },
          { name: 'Missing', value: event.missing.join(', ') },
          { name: 'Closed', value: event.closedAt },
        ],
      };
    case 'undone':
      return {
        title: `Undone by ${event.by}: ${event.app}`,
        summary: `Production is back on the previous image.${event.reason ? ` Why: ${event.reason}` : ''}`,
        facts: [{ name: 'By', value: event.by }],
      };
  }
}

/** `0.012 (failed), 0.004 (successful)`: each measurement with its verdict, newest last. */
function gateValues(values: GateValue[]): string {
  if (values.length === 0) return 'no measurements';
  return values
    .map(
      (v) =>
        `${v.value === null ? 'no data' : String(v.value)}${v.baseline !== undefined ? ` vs blue ${String(v.baseline)}` : ''} (${v.verdict})`,
    )
    .join(', ');
}
