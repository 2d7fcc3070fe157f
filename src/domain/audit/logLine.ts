import type { AuditEntry } from './entry';

/** Every audit line in the Functions log starts with this, then one JSON object. */
export const auditLogPrefix = 'greenlight.audit';

/**
 * One entry as one log line: `greenlight.audit {...}` with flat scalar fields, so an Application Insights
 * query reads it with `parse_json(substring(message, 17))` and projects fields without nesting.
 * `before`/`after` are JSON text (a field each); `details` become `detail_<name>` fields.
 */
export function auditLogLine(e: AuditEntry): string {
  const flat: Record<string, string | number | boolean | null> = {
    id: e.id,
    at: e.at,
    kind: e.kind,
    appKey: e.app.key,
    appName: e.app.name,
    rolloutId: e.rolloutId ?? null,
    actorKind: e.actor.kind,
    actorName: e.actor.name,
    summary: e.summary,
  };
  if ('outcome' in e) flat.outcome = e.outcome;
  if ('before' in e) flat.before = JSON.stringify(e.before);
  if ('after' in e) flat.after = JSON.stringify(e.after);
  for (const [k, v] of Object.entries(e.details ?? {})) flat[`detail_${k}`] = v;
  return `${auditLogPrefix} ${JSON.stringify(flat)}`;
}
