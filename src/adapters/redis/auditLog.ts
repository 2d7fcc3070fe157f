import type { Redis } from 'ioredis';
import {
  afterCursor,
  decodeAuditCursor,
  encodeAuditCursor,
  newestFirst,
  type AuditCursor,
} from '../../domain/audit/cursor';
import { auditEntrySchema, validAuditEntry, type AuditEntry } from '../../domain/audit/entry';
import type { AuditLog, AuditPage, AuditQuery } from '../../domain/ports/audit';
import { LuaScript } from '../../protocol/luaScript';

/**
 * Appends once per id, in one step: the id's marker (SET NX with a TTL) decides, then the entry goes to
 * its app's stream (capped near MAXLEN, and trimmed by MINID when a retention time is set) and the app
 * joins the index of apps (scored by its latest append) that queries over every app read.
 * Retention is measured back from the new entry's own position (Redis's clock), so hosts' clocks do not
 * matter. KEYS: marker, app stream, apps index. ARGV: marker TTL ms, maxlen, retention ms (0: none),
 * entry, app key.
 */
const appendScript =
  new LuaScript(`if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return false end
local position = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[4])
local ms = tonumber(string.match(position, '^(%d+)'))
if ARGV[3] ~= '0' then redis.call('XTRIM', KEYS[2], 'MINID', tostring(ms - tonumber(ARGV[3]))) end
redis.call('ZADD', KEYS[3], ms, ARGV[5])
return position`);

export interface RedisAuditLogOptions {
  /** Entries kept per app, approximately (Redis trims whole stream nodes: a few more may stay). */
  maxEntriesPerApp: number;
  /** Entries older than this are trimmed on the app's next append; none when absent. */
  retentionMs?: number;
  /**
   * How long an id is remembered, so a retried action appends once: longer than any retry (activity
   * retries, Event Grid's 24 h of redelivery). Default 7 days.
   */
  idTtlMs?: number;
}

/** Streams read per round while filling a page (a rollout filter may skip many entries). */
const batchFloor = 100;

/**
 * The audit trail in Redis: one stream per app (`<prefix>audit:app:<appKey>`), a sorted set of the apps
 * (`<prefix>audit:apps`) and one short-lived marker per entry id (`<prefix>audit:id:<id>`).
 */
export class RedisAuditLog implements AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: RedisAuditLogOptions,
  ) {}

  private streamKey(app: string): string {
    return `${this.prefix}audit:app:${app}`;
  }

  async append(entry: AuditEntry): Promise<boolean> {
    const valid = validAuditEntry(entry);
    const position = await appendScript.run(
      this.redis,
      [`${this.prefix}audit:id:${valid.id}`, this.streamKey(valid.app.key), `${this.prefix}audit:apps`],
      [
        this.opts.idTtlMs ?? 7 * 86_400_000,
        this.opts.maxEntriesPerApp,
        this.opts.retentionMs ?? 0,
        JSON.stringify(valid),
        valid.app.key,
      ],
    );
    return typeof position === 'string';
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    if (!Number.isInteger(q.limit) || q.limit < 1) {
      throw new Error(`[InvalidRequest] limit must be a whole number of 1 or more; got ${q.limit}`);
    }
    const cursor = q.cursor === undefined ? undefined : decodeAuditCursor(q.cursor);
    if (q.cursor !== undefined && !cursor) {
      throw new Error('[InvalidRequest] cursor is not one a page of the audit trail handed out');
    }
    const apps = q.app ? [q.app] : await this.redis.zrevrange(`${this.prefix}audit:apps`, 0, -1);
    const since = q.since ? String(q.since.getTime()) : '-';
    // Each app's newest `limit + 1` matches after the cursor; merged, the newest `limit` make the page.
    const found = (await Promise.all(apps.map((app) => this.newest(app, q, cursor, since)))).flat();
    found.sort(newestFirst);
    const page = found.slice(0, q.limit);
    const last = page.at(-1);
    const more = found.length > q.limit && last;
    return {
      entries: page.map((f) => f.entry),
      ...(more ? { next: encodeAuditCursor({ position: last.position, app: last.app }) } : {}),
    };
  }

  /** Up to `limit + 1` of one app's entries matching `q`, newest first, after the cursor. */
  private async newest(
    app: string,
    q: AuditQuery,
    cursor: AuditCursor | undefined,
    since: string,
  ): Promise<(AuditCursor & { entry: AuditEntry })[]> {
    const key = this.streamKey(app);
    const out: (AuditCursor & { entry: AuditEntry })[] = [];
    // Inclusive start at the cursor's position: another app's entry may share it (ties go by app key).
    let end = cursor ? cursor.position : '+';
    const batch = Math.max(batchFloor, q.limit + 1);
    for (;;) {
      const rows = await this.redis.xrevrange(key, end, since, 'COUNT', batch);
      for (const [position, fields] of rows) {
        const at = { position, app };
        if (!afterCursor(at, cursor)) continue;
        const entry = parseEntry(fields);
        if (!entry || (q.rolloutId && entry.rolloutId !== q.rolloutId)) continue;
        out.push({ ...at, entry });
        if (out.length > q.limit) return out;
      }
      const oldest = rows.at(-1)?.[0];
      if (rows.length < batch || !oldest) return out;
      end = `(${oldest}`;
    }
  }
}

/** An entry as stored; one that no longer fits the model (written by a newer version) is skipped. */
function parseEntry(fields: string[]): AuditEntry | undefined {
  const i = fields.indexOf('e');
  const raw = i >= 0 ? fields[i + 1] : undefined;
  if (!raw) return undefined;
  try {
    const parsed = auditEntrySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
