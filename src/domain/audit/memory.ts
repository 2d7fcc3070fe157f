import type { AuditLog, AuditPage, AuditQuery } from '../ports/audit';
import { afterCursor, decodeAuditCursor, encodeAuditCursor, newestFirst, type AuditCursor } from './cursor';
import { validAuditEntry, type AuditEntry } from './entry';

/**
 * The audit log in memory, for tests and scenario runs: the same semantics as the Redis one (ids append
 * once, bounded per app, newest first by append position, the same cursors), none of the durability.
 */
export class InMemoryAuditLog implements AuditLog {
  private readonly streams = new Map<string, { position: string; entry: AuditEntry }[]>();
  private readonly seen = new Set<string>();
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly opts: { maxEntriesPerApp?: number; now?: () => number } = {}) {}

  async append(entry: AuditEntry): Promise<boolean> {
    const valid = validAuditEntry(entry);
    if (this.seen.has(valid.id)) return false;
    this.seen.add(valid.id);
    const ms = Math.max(this.opts.now?.() ?? Date.now(), this.lastMs);
    this.seq = ms === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = ms;
    const stream = this.streams.get(valid.app.key) ?? [];
    stream.push({ position: `${ms}-${this.seq}`, entry: valid });
    const max = this.opts.maxEntriesPerApp ?? 10_000;
    if (stream.length > max) stream.splice(0, stream.length - max);
    this.streams.set(valid.app.key, stream);
    return true;
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    const cursor = q.cursor ? decodeAuditCursor(q.cursor) : undefined;
    const apps = q.app ? [q.app] : [...this.streams.keys()];
    const since = q.since?.getTime();
    const all = apps
      .flatMap((app) => (this.streams.get(app) ?? []).map((s) => ({ ...s, app })))
      .filter((s) => since === undefined || Number(s.position.split('-')[0]) >= since)
      .filter((s) => !q.rolloutId || s.entry.rolloutId === q.rolloutId)
      .filter((s) => afterCursor(s, cursor))
      .sort((a, b) => newestFirst(a, b));
    const page = all.slice(0, q.limit);
    const last = page.at(-1);
    const next: AuditCursor | undefined =
      all.length > q.limit && last ? { position: last.position, app: last.app } : undefined;
    return { entries: page.map((s) => s.entry), ...(next ? { next: encodeAuditCursor(next) } : {}) };
  }
}
