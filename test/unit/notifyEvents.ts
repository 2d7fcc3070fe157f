import type { NotificationEvent, NotificationKind } from '../../src/domain/notify';
import { notificationKinds } from '../../src/domain/notify';

/** One event of each kind about the same rollout, as the orchestrator would raise them. */
export function sampleEvent(
  kind: NotificationKind,
  overrides: Partial<NotificationEvent> = {},
): NotificationEvent {
  const base = {
    id: `7-${kind}`,
    rolloutId: 'web-20261203-a1b2c3',
    policy: 'web',
    app: 'web',
    at: '2026-12-03T14:00:00.000Z',
    image: { from: 'contoso.azurecr.io/web:v1', to: 'contoso.azurecr.io/web:v2' },
    revision: { from: 'web--v1abc', to: 'web--v2def' },
    links: {
      dashboard: 'https://greenlight.example.net/api/dashboard/rollouts/web-20261203-a1b2c3',
      approvalPage: 'https://greenlight.example.net/api/approvals/web-20261203-a1b2c3?token=abc.def',
    },
  };
  const specific = ((): NotificationEvent => {
    switch (kind) {
      case 'started':
        return { ...base, kind, strategy: 'traffic' };
      case 'waitingApproval':
      case 'approvalReminder':
        return {
          ...base,
          kind,
          expiresAt: '2026-12-04T14:00:00.000Z',
          approvers: ['alice@contoso.com', 'release-managers'],
          onTimeout: 'rollback',
        };
      case 'approved':
      case 'rejected':
        return { ...base, kind, by: 'alice@contoso.com', comment: 'looks good' };
      case 'timedOut':
        return { ...base, kind, onTimeout: 'rollback' };
      case 'stepAdvanced':
        return { ...base, kind, step: 2, steps: 3, weight: 50 };
      case 'gateFailed':
      case 'gateInconclusive':
        return {
          ...base,
          kind,
          gate: 'error-rate',
          phase: 'eachStep',
          condition: 'result <= 0.01',
          values: [
            { value: 0.004, verdict: 'successful' },
            { value: 0.031, verdict: 'failed' },
          ],
          message: 'failed (1) > failureLimit (0)',
        };
      case 'promoted':
        return { ...base, kind, weight: 100 };
      case 'succeeded':
        return { ...base, kind, durationMs: 754_000 };
      case 'rolledBack':
        return { ...base, kind, reason: "gate 'error-rate' failed: failed (1) > failureLimit (0)" };
      case 'rollbackFailed':
        return {
          ...base,
          kind,
          reason: 'ARM answered 409 three times while restoring traffic.',
          leftToDo: ['set traffic to web--v1abc: 100%', 'deactivate revision web--v2def'],
        };
      case 'undoWindowClosing':
        return { ...base, kind, closesAt: '2026-12-03T15:00:00.000Z' };
      case 'undone':
        return { ...base, kind, by: 'bob@contoso.com', reason: 'customer reports' };
      case 'releaseIncomplete':
        return { ...base, kind, key: 'v1.5', missing: ['worker'], closedAt: '2026-12-03T14:30:00.000Z' };
    }
  })();
  return { ...specific, ...overrides } as NotificationEvent;
}

export const everyEvent = (): NotificationEvent[] => notificationKinds.map((k) => sampleEvent(k));

/** An event far over every channel's size limit: thousands of gate values and a huge message. */
export function hugeEvent(): NotificationEvent {
  return sampleEvent('gateFailed', {
    message: `measurement failed: ${'x'.repeat(100_000)}`,
    values: Array.from({ length: 5000 }, (_, i) => ({
      value: i / 1000,
      verdict: i % 2 ? 'failed' : 'successful',
    })),
  } as Partial<NotificationEvent>);
}
