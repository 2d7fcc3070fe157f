import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Approval tokens: `base64url(claims).base64url(HMAC-SHA256(claims))`. Each token is bound to one
 * rollout and one decision and expires; single use is enforced by spending the nonce in the store.
 */
export interface ApprovalClaims {
  rolloutId: string;
  decision: 'approve' | 'reject';
  /** Epoch milliseconds. */
  expiresAt: number;
  nonce: string;
  approver?: string;
}

export type TokenFailure = 'malformed' | 'bad-signature' | 'expired' | 'wrong-rollout' | 'wrong-decision';

export type TokenVerification =
  { ok: true; claims: ApprovalClaims } | { ok: false; reason: TokenFailure; message: string };

const VERSION = 'v1';

function mac(payload: string, key: string): Buffer {
  return createHmac('sha256', key).update(`${VERSION}.${payload}`).digest();
}

export function signApprovalToken(claims: ApprovalClaims, key: string): string {
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${payload}.${mac(payload, key).toString('base64url')}`;
}

function parseClaims(payload: string): ApprovalClaims | undefined {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const c = data as Record<string, unknown>;
  if (
    typeof c.rolloutId !== 'string' ||
    (c.decision !== 'approve' && c.decision !== 'reject') ||
    typeof c.expiresAt !== 'number' ||
    typeof c.nonce !== 'string' ||
    (c.approver !== undefined && typeof c.approver !== 'string')
  ) {
    return undefined;
  }
  return {
    rolloutId: c.rolloutId,
    decision: c.decision,
    expiresAt: c.expiresAt,
    nonce: c.nonce,
    ...(typeof c.approver === 'string' ? { approver: c.approver } : {}),
  };
}

/** Checks signature first, so nothing about an unsigned token's content is trusted or echoed. */
export function verifyApprovalToken(
  token: string,
  key: string,
  expect: { now: number; rolloutId?: string; decision?: 'approve' | 'reject' },
): TokenVerification {
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1] || !/^[A-Za-z0-9_-]+$/.test(parts.join(''))) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'the token is not in the expected form; open the approval link exactly as it was given',
    };
  }
  const [payload, signature] = parts as [string, string];
  const given = Buffer.from(signature, 'base64url');
  const wanted = mac(payload, key);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return {
      ok: false,
      reason: 'bad-signature',
      message: 'the token signature does not verify: it was altered or signed with another key',
    };
  }
  const claims = parseClaims(payload);
  if (!claims) {
    return { ok: false, reason: 'malformed', message: 'the token carries no valid approval claims' };
  }
  if (expect.rolloutId !== undefined && claims.rolloutId !== expect.rolloutId) {
    return {
      ok: false,
      reason: 'wrong-rollout',
      message: `the token is for rollout '${claims.rolloutId}', not '${expect.rolloutId}'`,
    };
  }
  if (expect.decision !== undefined && claims.decision !== expect.decision) {
    return {
      ok: false,
      reason: 'wrong-decision',
      message: `the token allows '${claims.decision}', not '${expect.decision}'`,
    };
  }
  if (expect.now >= claims.expiresAt) {
    return {
      ok: false,
      reason: 'expired',
      message: `the approval link expired at ${new Date(claims.expiresAt).toISOString()}; ask for a new link from the rollout status`,
    };
  }
  return { ok: true, claims };
}
