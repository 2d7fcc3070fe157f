import type { HttpRequest } from '@azure/functions';
import * as df from 'durable-functions';
import { z } from 'zod';
import { services } from '../composition';
import { decodeAuditCursor, releaseAuditApp, unknownApp } from '../domain/audit';
import { appKey } from '../domain/flag/control';
import { findPolicyByApp } from '../domain/policy';
import { guarded } from './http/guard';
import { json, problem } from './http/problem';

const rolloutIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

const auditQuery = z.object({
  app: z
    .string()
    .min(1, "give the app as its policy name, app name or subscriptionId/resourceGroup/name, or '-'")
    .max(300, 'must be at most 300 characters')
    .optional(),
  since: z
    .string()
    .refine(
      (s) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)),
      {
        message: 'must be an ISO 8601 instant such as 2026-03-02T09:00:00Z (or a date, 2026-03-02)',
      },
    )
    .optional(),
  rollout: z
    .string()
    .regex(rolloutIdPattern, "must be a rollout id: 1-100 letters, digits, '.', '_', ':' or '-'")
    .optional(),
  limit: z.coerce
    .number({ message: 'must be a whole number from 1 to 500' })
    .int('must be a whole number from 1 to 500')
    .min(1, 'must be a whole number from 1 to 500')
    .max(500, 'must be a whole number from 1 to 500')
    .default(50),
  cursor: z
    .string()
    .refine((c) => decodeAuditCursor(c) !== undefined, {
      message: "must be the 'next' cursor a previous page returned, unchanged",
    })
    .optional(),
  // The function key may travel in the query string.
  code: z.string().optional(),
});

const known = new Set(Object.keys(auditQuery.shape));

function badQuery(problems: { field: string; message: string }[]) {
  return problem({
    status: 400,
    type: 'invalid-query',
    title: 'Invalid query',
    detail: `${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}. Fix: GET /api/audit?app=<app>&since=<ISO 8601>&rollout=<id>&limit=<1-500>&cursor=<next>`,
    problems,
  });
}

/** GET /api/audit?app=&since=&rollout=&limit=&cursor=: the audit trail, newest first, a page at a time. */
async function listAudit(request: HttpRequest) {
  const given = [...request.query.entries()];
  const problems = given
    .filter(([k]) => !known.has(k))
    .map(([k]) => ({
      field: k.slice(0, 40),
      message: 'is not a parameter of this route (app, since, rollout, limit, cursor)',
    }));
  const repeated = [...new Set(given.map(([k]) => k))].filter((k) => request.query.getAll(k).length > 1);
  problems.push(...repeated.map((k) => ({ field: k.slice(0, 40), message: 'must be given once' })));
  const q = auditQuery.safeParse(Object.fromEntries(given));
  if (!q.success) {
    problems.push(
      ...q.error.issues.map((i) => ({ field: i.path.join('.') || '(query)', message: i.message })),
    );
  }
  if (problems.length > 0 || !q.success) return badQuery(problems);

  const s = services();
  let app: string | undefined;
  if (q.data.app !== undefined) {
    const text = q.data.app.trim();
    if (text === unknownApp.key) app = unknownApp.key;
    // A release's trail sits under `release:<name>`, whether or not its policy is still loaded.
    else if (/^release:[^\s]{1,200}$/.test(text)) app = releaseAuditApp(text.slice('release:'.length)).key;
    else {
      const policy = findPolicyByApp(await s.policies(), text);
      if (policy) app = appKey(policy.app);
      // An app whose policy is gone keeps its trail: its key still finds it.
      else if (/^[^/]+\/[^/]+\/[^/]+$/.test(text)) app = text.toLowerCase();
      else {
        const names = (await s.policies()).map((p) => p.name).join(', ') || 'none loaded';
        return badQuery([
          {
            field: 'app',
            message: `no policy names '${text.slice(0, 100)}'; give a policy name (${names}), an app name, subscriptionId/resourceGroup/name, release:<release name>, or '-' for triggers that named no known app`,
          },
        ]);
      }
    }
  }
  const page = await s.audit.query({
    limit: q.data.limit,
    ...(app !== undefined ? { app } : {}),
    ...(q.data.rollout ? { rolloutId: q.data.rollout } : {}),
    ...(q.data.since ? { since: new Date(q.data.since) } : {}),
    ...(q.data.cursor ? { cursor: q.data.cursor } : {}),
  });
  let nextUri: string | undefined;
  if (page.next) {
    const url = new URL(request.url);
    url.searchParams.delete('code');
    url.searchParams.set('cursor', page.next);
    nextUri = url.toString();
  }
  return json(200, {
    entries: page.entries,
    count: page.entries.length,
    ...(page.next ? { next: page.next, nextUri } : {}),
  });
}

df.app.client.http('listAudit', {
  route: 'audit',
  methods: ['GET'],
  authLevel: 'function',
  handler: guarded(listAudit),
});
