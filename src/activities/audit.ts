import { auditApp, auditLogLine, rolloutAuditEntry } from '../domain/audit';
import type { RolloutPorts } from '../domain/ports';
import type { ActivityHandlers } from './contract';

export function auditActivities({ audit }: RolloutPorts): Pick<ActivityHandlers, 'appendAudit'> {
  return {
    /**
     * Records one of the orchestration's writes or compensations in the audit trail and the Functions
     * log. Idempotent: the entry's id comes from the rollout, kind and step, so a retry appends nothing.
     */
    appendAudit: async (input, invocation) => {
      const entry = rolloutAuditEntry(input, auditApp(input.app));
      const appended = await audit.append(entry);
      if (appended) invocation.log?.(auditLogLine(entry));
      return { id: entry.id, appended };
    },
  };
}
