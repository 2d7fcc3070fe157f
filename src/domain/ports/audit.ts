import type { AuditEntry } from '../audit/entry';

export type { AuditEntry };

export interface AuditQuery {
  /** An app key (`subscriptionId/resourceGroup/name`, lower case); every app when absent. */
  app?: string;
  rolloutId?: string;
  /** Only entries appended at or after this instant. */
  since?: Date;
  /** Page size, 1 or more. */
  limit: number;
  /** Where the previous page ended (its `next`); opaque. */
  cursor?: string;
}

export interface AuditPage {
  /** Newest first. */
  entries: AuditEntry[];
  /** The cursor of the next (older) page, when there may be one. */
  next?: string;
}

/** The audit trail: append-only, bounded per app, queried newest first. */
export interface AuditLog {
  /**
   * Appends an entry unless one with its id was already appended (a retried action): true when it was
   * appended now. Throws for an entry that does not fit the model.
   */
  append(entry: AuditEntry): Promise<boolean>;
  query(q: AuditQuery): Promise<AuditPage>;
}
