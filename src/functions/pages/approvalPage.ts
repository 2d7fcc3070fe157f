import type { RolloutView } from '../../services/rolloutView';
import { esc, isoOrDash } from './html';
import {
  approvalSummary,
  changeSection,
  checksTable,
  gatesTable,
  timelineList,
  trafficTable,
} from './sections';

/** Whether the viewer may decide, and if not, why and what to do about it. */
export type ViewerStanding =
  | { may: true; as: string }
  | { may: false; reason: 'not-signed-in'; signInUrl: string }
  | { may: false; reason: 'not-an-approver'; as: string; signInUrl: string }
  | { may: false; reason: 'sign-in-not-trusted' };

/**
 * Who the viewer is to this app: the platform's signed-in principal when the app trusts it, else the
 * approver the link was minted for. Anyone may decide when the policy names no approvers.
 */
export function viewerStanding(args: {
  principal: string | undefined;
  tokenApprover: string | undefined;
  approvers: string[];
  trustClientPrincipal: boolean;
  signInUrl: string;
}): ViewerStanding {
  const who = args.principal ?? args.tokenApprover;
  if (args.approvers.length === 0) return { may: true, as: who ?? 'approval link holder' };
  if (who && args.approvers.includes(who)) return { may: true, as: who };
  if (!args.trustClientPrincipal) return { may: false, reason: 'sign-in-not-trusted' };
  if (!args.principal) return { may: false, reason: 'not-signed-in', signInUrl: args.signInUrl };
  return { may: false, reason: 'not-an-approver', as: args.principal, signInUrl: args.signInUrl };
}

/** App Service authentication's sign-in, coming back to this very page. */
export function signInUrl(pathAndQuery: string): string {
  return `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(pathAndQuery)}`;
}

export function standingNotice(s: ViewerStanding, approvers: string[]): string {
  const list = approvers.map((a) => `<code>${esc(a)}</code>`).join(', ');
  if (s.may)
    return `<p>You decide as <strong>${esc(s.as)}</strong>; the decision is recorded with that name.</p>`;
  switch (s.reason) {
    case 'not-signed-in':
      return (
        `<div class="notice" role="status" id="standing"><p><strong>Sign in to decide.</strong> Only this app's approvers may approve or reject: ${list}.</p>` +
        `<p><a href="${esc(s.signInUrl)}">Sign in</a> as one of them; you come back to this page.</p></div>`
      );
    case 'not-an-approver':
      return (
        `<div class="notice" role="status" id="standing"><p><strong>You cannot decide this rollout.</strong> You are signed in as <strong>${esc(s.as)}</strong>, who is not among this app's approvers: ${list}.</p>` +
        `<p>Ask one of them, or <a href="${esc(s.signInUrl)}">sign in as another account</a>.</p></div>`
      );
    case 'sign-in-not-trusted':
      return (
        `<div class="notice" role="status" id="standing"><p><strong>No one can decide on this page yet.</strong> Only this app's approvers may decide (${list}), and this Function App does not know who you are: ` +
        `turn on App Service authentication and set <code>GREENLIGHT_TRUST_CLIENT_PRINCIPAL=true</code>, or promote with the API or <code>greenlight promote</code>.</p></div>`
      );
  }
}

export function decisionForm(action: string, decision: 'approve' | 'reject', token: string): string {
  const id = `comment-${decision}`;
  const label = decision === 'approve' ? 'Approve and promote' : 'Reject and roll back';
  return (
    `<form class="decide" method="post" action="${esc(action)}">` +
    `<input type="hidden" name="token" value="${esc(token)}"><input type="hidden" name="decision" value="${decision}">` +
    `<label for="${id}">Comment (optional, recorded with the decision)</label>` +
    `<input type="text" id="${id}" name="comment" maxlength="500">` +
    `<button type="submit" class="${decision}">${label}</button></form>`
  );
}

export interface ApprovalPageArgs {
  view: RolloutView;
  tokens: { approve: string; reject: string };
  expiresAt: number;
  /** Where the forms post (same origin). */
  action: string;
  approvers: string[];
  standing: ViewerStanding;
  blueImage?: string;
  /** Gate name → its success condition, from the plan. */
  conditions: Record<string, string>;
}

/** The confirmation page: a GET never decides (link unfurlers and scanners follow links). */
export function renderApprovalBody(a: ApprovalPageArgs): { title: string; body: string } {
  const v = a.view;
  const pending = v.phase === 'WaitingApproval' && !v.done;
  const head =
    `<h1>Promote ${esc(v.app.name)}?</h1>` +
    `<p class="muted">Rollout <code>${esc(v.id)}</code> · phase <strong>${esc(v.phase)}</strong> · link expires <time datetime="${esc(new Date(a.expiresAt).toISOString())}">${esc(isoOrDash(a.expiresAt))}</time></p>`;
  const decide = !pending
    ? `<div class="notice" role="status"><p>This rollout is not waiting for approval (it is <strong>${esc(v.phase)}</strong>); nothing to decide.</p></div>`
    : a.standing.may
      ? standingNotice(a.standing, a.approvers) +
        decisionForm(a.action, 'approve', a.tokens.approve) +
        decisionForm(a.action, 'reject', a.tokens.reject)
      : standingNotice(a.standing, a.approvers);
  const who = a.approvers.length
    ? `<p>Who may approve: ${a.approvers.map((x) => `<code>${esc(x)}</code>`).join(', ')}</p>`
    : '<p>Who may approve: anyone holding this link (the policy names no approvers).</p>';
  const body =
    head +
    changeSection(v, a.blueImage) +
    `<h2>Decision</h2>${who}${approvalSummary(v)}${decide}` +
    `<h2>Checks</h2>${checksTable(v)}` +
    `<h2>Gates</h2>${gatesTable(v, a.conditions)}` +
    `<h2>Traffic</h2>${trafficTable(v)}` +
    `<h2>Timeline</h2>${timelineList(v)}` +
    `<p><a href="/api/dashboard/rollouts/${encodeURIComponent(v.id)}">This rollout on the dashboard</a></p>`;
  return { title: `Approve ${v.app.name}: ${v.id}`, body };
}

/** After a decision: what was recorded and what happens next. */
export function renderResultBody(args: {
  rolloutId: string;
  decision: 'approve' | 'reject';
  approver: string;
  comment?: string;
  /** A release's decision: every member goes on, or every member rolls back. */
  release?: boolean;
}): { title: string; body: string } {
  const approved = args.decision === 'approve';
  const title = approved ? 'Approved' : 'Rejected';
  const what = args.release ? 'Release' : 'Rollout';
  const next = approved
    ? `${what} <code>${esc(args.rolloutId)}</code> goes on to promotion${args.release ? ', member by member' : ''}.`
    : `${what} <code>${esc(args.rolloutId)}</code> rolls back to what served before${args.release ? ', every member' : ''}.`;
  return {
    title,
    body:
      `<h1>${title}</h1><div class="notice ok" role="status"><p>${next}</p>` +
      `<p>Recorded ${approved ? 'approver' : 'by'}: <strong>${esc(args.approver)}</strong>${args.comment ? `, comment “${esc(args.comment)}”` : ''}.</p></div>` +
      (args.release
        ? '<p><a href="/api/dashboard">Follow the release on the dashboard</a></p>'
        : `<p><a href="/api/dashboard/rollouts/${encodeURIComponent(args.rolloutId)}">Follow the rollout on the dashboard</a></p>`),
  };
}
