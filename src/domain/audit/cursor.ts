/**
 * Where a page of the trail ended: the position of its last entry (a Redis stream id, `ms-seq`) and
 * its app. Entries are ordered by position, then app key, both descending; the next page starts after.
 */
export interface AuditCursor {
  position: string;
  app: string;
}

const positionPattern = /^\d{1,20}-\d{1,20}$/;

export function encodeAuditCursor(c: AuditCursor): string {
  return Buffer.from(`${c.position} ${c.app}`, 'utf8').toString('base64url');
}

/** The cursor a page handed out, or undefined for anything else (the route names it as bad input). */
export function decodeAuditCursor(text: string): AuditCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const space = decoded.indexOf(' ');
  if (space < 0) return undefined;
  const position = decoded.slice(0, space);
  const app = decoded.slice(space + 1);
  if (!positionPattern.test(position) || app.length === 0 || app.length > 300) return undefined;
  return { position, app };
}

/** Compares stream positions numerically (`ms-seq`); negative when a is older. */
export function comparePositions(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map((p) => BigInt(p));
  const [bm = 0n, bs = 0n] = b.split('-').map((p) => BigInt(p));
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** Newest first: by position, then by app key, both descending. Negative when a comes first. */
export function newestFirst(a: AuditCursor, b: AuditCursor): number {
  const byPosition = comparePositions(b.position, a.position);
  if (byPosition !== 0) return byPosition;
  return a.app === b.app ? 0 : a.app > b.app ? -1 : 1;
}

/** True when `entry` comes after the cursor in newest-first order (belongs to a later page). */
export function afterCursor(entry: AuditCursor, cursor: AuditCursor | undefined): boolean {
  return !cursor || newestFirst(cursor, entry) < 0;
}
