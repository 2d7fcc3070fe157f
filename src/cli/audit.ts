import type { AuditEntry } from '../domain/audit/entry';
import type { GreenlightClient } from './client';
import { dateTime, table, type Paint } from './format';
import { parseSpan } from './options';
import { UsageError } from './target';

/** `--since`: a span back from now (`90m`, `2h`, `1d`, `PT1H`) or an instant (`2026-03-02T09:00:00Z`). */
export function sinceOption(value: string, now: number): string {
  const ms = parseSpan(value);
  if (ms !== undefined && ms > 0) return new Date(now - ms).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)))
    return new Date(value).toISOString();
  throw new UsageError(
    `--since must be a span back from now (30m, 2h, 1d, PT1H) or an ISO 8601 instant (2026-03-02T09:00:00Z); got '${value}'`,
  );
}

/** Reads up to `limit` entries, newest first, following the API's cursors page by page. */
export async function readAudit(
  client: GreenlightClient,
  q: { app?: string; since?: string; rollout?: string },
  limit: number,
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.audit({ ...q, limit: String(Math.min(500, limit - entries.length)), cursor });
    entries.push(...page.entries);
    cursor = page.next;
  } while (cursor && entries.length < limit);
  return entries;
}

function kindStyle(kind: string): Parameters<Paint>[0] {
  if (kind === 'admission.rejected' || kind === 'admission.invalid' || kind === 'approval.rejected')
    return 'yellow';
  if (kind === 'rollout.aborted' || kind === 'rollout.undone') return 'yellow';
  if (kind.startsWith('approval.') || kind === 'rollout.promoted') return 'magenta';
  if (kind === 'compensation.ran') return 'red';
  return 'cyan';
}

/** `audit`: one row per entry, newest first: when, what, which app and rollout, who, and the summary. */
export function renderAudit(entries: AuditEntry[], paint: Paint): string[] {
  if (entries.length === 0) return ['no audit entries'];
  return table([
    ['TIME', 'KIND', 'APP', 'ROLLOUT', 'BY', 'WHAT'].map((h) => paint('dim', h)),
    ...entries.map((e) => [
      dateTime(e.at),
      paint(kindStyle(e.kind), e.kind),
      e.app.name,
      e.rolloutId ?? '—',
      e.actor.name,
      e.summary,
    ]),
  ]);
}
