import type { HttpRequest, InvocationContext } from '@azure/functions';
import { services } from '../../composition';
import { auditLogLine, type AuditActor, type AuditEntry } from '../../domain/audit';
import { actorOf } from './request';

/**
 * Who made a key-protected call, as the audit trail names them: the platform's principal when the app
 * trusts it, else the calling key by fingerprint (never its value).
 */
export function callerActor(request: HttpRequest, trustClientPrincipal: boolean): AuditActor {
  const name = actorOf(request, trustClientPrincipal);
  const principal = trustClientPrincipal
    ? request.headers.get('x-ms-client-principal-name')?.trim().slice(0, 200)
    : undefined;
  return { kind: principal && principal === name ? 'principal' : 'key', name };
}

/**
 * Appends one entry to the audit trail and, the first time only, writes it to the Functions log as one
 * structured line (see `auditLogLine`). A failure to record is thrown: the caller's request fails and is
 * retried, rather than a decision going unrecorded.
 */
export async function recordAudit(context: InvocationContext, entry: AuditEntry): Promise<boolean> {
  const appended = await services().audit.append(entry);
  if (appended) context.log(auditLogLine(entry));
  return appended;
}
