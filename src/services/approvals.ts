import { randomUUID } from 'node:crypto';
import { signApprovalToken, verifyApprovalToken } from '../domain/approvalToken';

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
