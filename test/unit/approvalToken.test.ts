import { signApprovalToken, verifyApprovalToken } from '../../src/domain/approvalToken';
import { checkApprovalToken, createApprovalLinks } from '../../src/services/approvals';

const key = 'k'.repeat(40);
const now = Date.parse('2026-01-01T00:00:00Z');
const claims = { rolloutId: 'web-abc', decision: 'approve' as const, expiresAt: now + 60_000, nonce: 'n1' };

describe('approval tokens', () => {
  it('round-trips its claims', () => {
    const v = verifyApprovalToken(signApprovalToken(claims, key), key, { now, rolloutId: 'web-abc' });
    expect(v).toEqual({ ok: true, claims });
  });

  it.each([
    ['garbage', 'malformed'],
    ['a.b.c', 'malformed'],
    ['', 'malformed'],
  ])('%p is %s', (token, reason) => {
    expect(verifyApprovalToken(token, key, { now })).toMatchObject({ ok: false, reason });
  });

  it('a token signed with another key or altered does not verify', () => {
    const token = signApprovalToken(claims, key);
    expect(verifyApprovalToken(token, 'x'.repeat(40), { now })).toMatchObject({ reason: 'bad-signature' });
    const [payload, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...claims, decision: 'reject' })).toString('base64url');
    expect(verifyApprovalToken(`${forged}.${sig}`, key, { now })).toMatchObject({ reason: 'bad-signature' });
    expect(verifyApprovalToken(`${payload}.${sig.slice(1)}`, key, { now })).toMatchObject({
      reason: 'bad-signature',
    });
  });

  it('binds the rollout, the decision and the expiry', () => {
    const token = signApprovalToken(claims, key);
    expect(verifyApprovalToken(token, key, { now, rolloutId: 'other' })).toMatchObject({
      reason: 'wrong-rollout',
    });
    expect(verifyApprovalToken(token, key, { now, decision: 'reject' })).toMatchObject({
      reason: 'wrong-decision',
    });
    expect(verifyApprovalToken(token, key, { now: now + 60_000 })).toMatchObject({ reason: 'expired' });
  });

  it('maps each failure to an HTTP status an operator understands', () => {
    const token = signApprovalToken(claims, key);
    expect(checkApprovalToken(key, undefined, 'web-abc', now)).toMatchObject({ ok: false, status: 400 });
    expect(checkApprovalToken(key, 'bad', 'web-abc', now)).toMatchObject({ ok: false, status: 400 });
    expect(checkApprovalToken(key, token, 'other', now)).toMatchObject({ ok: false, status: 403 });
    expect(checkApprovalToken(key, token, 'web-abc', now + 61_000)).toMatchObject({ ok: false, status: 410 });
    expect(checkApprovalToken(key, token, 'web-abc', now)).toMatchObject({ ok: true, decision: 'approve' });
  });

  it('links carry decision-bound tokens sharing one nonce', () => {
    const links = createApprovalLinks('https://gl.example', key, 'web-abc', now + 1000);
    const approve = new URL(links.approveUrl).searchParams.get('token') ?? '';
    const reject = new URL(links.rejectUrl).searchParams.get('token') ?? '';
    const a = verifyApprovalToken(approve, key, { now, decision: 'approve' });
    const r = verifyApprovalToken(reject, key, { now, decision: 'reject' });
    expect(a.ok && r.ok && a.claims.nonce === r.claims.nonce).toBe(true);
    expect(links.pageUrl.startsWith('https://gl.example/api/approvals/web-abc?token=')).toBe(true);
  });
});
