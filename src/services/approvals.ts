import { randomUUID } from 'node:crypto';
import { signApprovalToken, verifyApprovalToken } from '../domain/approvalToken';
import type { RolloutStatus } from '../domain/rollout/types';

export interface ApprovalLinks {
  pageUrl: string;
  approveUrl: string;
  rejectUrl: string;
  expiresAt: number;
}

export function approvalPath(rolloutId: string): string {
  return `/api/approvals/${encodeURIComponent(rolloutId)}`;
}

/** Mints the decision-bound tokens for one approval request; both share a nonce, so one decision spends both. */
export function mintApprovalTokens(
  key: string,
  rolloutId: string,
  expiresAt: number,
  nonce: string = randomUUID(),
): { approve: string; reject: string } {
  return {
    approve: signApprovalToken({ rolloutId, decision: 'approve', expiresAt, nonce }, key),
    reject: signApprovalToken({ rolloutId, decision: 'reject', expiresAt, nonce }, key),
  };
}

export function createApprovalLinks(
  baseUrl: string,
  key: string,
  rolloutId: string,
  expiresAt: number,
): ApprovalLinks {
  const tokens = mintApprovalTokens(key, rolloutId, expiresAt);
  const url = (t: string): string => `${baseUrl}${approvalPath(rolloutId)}?token=${t}`;
  return {
    pageUrl: url(tokens.approve),
    approveUrl: url(tokens.approve),
    rejectUrl: url(tokens.reject),
    expiresAt,
  };
}

export type TokenCheck =
  | { ok: true; decision: 'approve' | 'reject'; nonce: string; expiresAt: number; approver?: string }
  | { ok: false; status: number; type: string; title: string; detail: string };

/** Verifies a token for this rollout and maps each failure to the HTTP reply it deserves. */
export function checkApprovalToken(
  key: string,
  token: string | null | undefined,
  rolloutId: string,
  now: number,
): TokenCheck {
  if (!token) {
    return {
      ok: false,
      status: 400,
      type: 'approval-token-missing',
      title: 'Approval token missing',
      detail: 'the request has no `token`: open the approval link from the rollout status exactly as given',
    };
  }
  const v = verifyApprovalToken(token, key, { now, rolloutId });
  if (v.ok) {
    return {
      ok: true,
      decision: v.claims.decision,
      nonce: v.claims.nonce,
      expiresAt: v.claims.expiresAt,
      approver: v.claims.approver,
    };
  }
  const map: Record<string, [number, string]> = {
    malformed: [400, 'Approval token malformed'],
    'bad-signature': [403, 'Approval token not valid'],
    'wrong-rollout': [403, 'Approval token is for another rollout'],
    'wrong-decision': [403, 'Approval token is for another decision'],
    expired: [410, 'Approval link expired'],
  };
  const [status, title] = map[v.reason] ?? [400, 'Approval token rejected'];
  return { ok: false, status, type: `approval-token-${v.reason}`, title, detail: v.message };
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/** The confirmation page: a GET never decides (link unfurlers and scanners follow links). */
export function renderApprovalPage(args: {
  rolloutId: string;
  status?: Omit<RolloutStatus, 'phase'> & { phase: string };
  tokens: { approve: string; reject: string };
  expiresAt: number;
  action: string;
}): string {
  const s = args.status;
  const facts: [string, string][] = [
    ['Rollout', args.rolloutId],
    ['App', s ? `${s.app.name} (${s.app.resourceGroup})` : 'unknown'],
    ['Image', s?.image ?? 'unknown'],
    ['Green revision', s?.green ?? '—'],
    ['Serving now', s?.traffic?.map((t) => `${t.revisionName} ${t.weight}%`).join(', ') ?? '—'],
    ['Smoke checks', s?.checks.smoke ? (s.checks.smoke.passed ? 'passed' : 'failed') : '—'],
    ['Phase', s?.phase ?? 'unknown'],
    ['Link expires', new Date(args.expiresAt).toISOString()],
  ];
  const rows = facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const form = (decision: 'approve' | 'reject', token: string, label: string): string =>
    `<form method="post" action="${esc(args.action)}"><input type="hidden" name="token" value="${esc(token)}">` +
    `<input type="hidden" name="decision" value="${decision}">` +
    `<label>Comment <input name="comment" maxlength="500"></label> <button type="submit" class="${decision}">${label}</button></form>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>Greenlight approval: ${esc(args.rolloutId)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}th{text-align:left;padding-right:1rem}
form{margin:1rem 0}button{padding:.5rem 1.2rem;font-size:1rem}.approve{background:#1a7f37;color:#fff}.reject{background:#cf222e;color:#fff}</style>
</head><body><h1>Promote this release?</h1><table>${rows}</table>
${form('approve', args.tokens.approve, 'Approve and promote')}${form('reject', args.tokens.reject, 'Reject and roll back')}
</body></html>`;
}

export function renderDecisionPage(title: string, message: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto"><h1>${esc(title)}</h1><p>${esc(message)}</p></body></html>`
  );
}
