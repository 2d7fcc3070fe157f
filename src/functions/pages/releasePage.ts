import type { ReleaseView } from '../../services/releaseView';
import type { RolloutView } from '../../services/rolloutView';
import { decisionForm, standingNotice, type ViewerStanding } from './approvalPage';
import { badge, esc, isoOrDash } from './html';
import { checksTable, gatesTable } from './sections';

/** One member as the release's approval page shows it: its rollout, and blue's image when known. */
export interface ReleaseMemberFacts {
  app: string;
  rollout?: RolloutView;
  blueImage?: string;
  /** Gate name → its success condition, from the member's plan. */
  conditions: Record<string, string>;
}

/** The member's checks in one cell: smoke, mock, pre-promotion gates; a word for each verdict. */
function validationCell(v: RolloutView | undefined): string {
  if (!v) return '<span class="muted">not started</span>';
  const parts: string[] = [];
  if (v.checks.readiness) parts.push(`ready ${badge(v.checks.readiness.ok ? 'pass' : 'fail')}`);
  if (v.checks.smoke) parts.push(`smoke ${badge(v.checks.smoke.passed ? 'pass' : 'fail')}`);
  if (v.checks.mock) parts.push(`mock ${badge(v.checks.mock.verdict)}`);
  for (const g of v.gates ?? []) parts.push(`${esc(g.name)} ${badge(g.verdict)}`);
  return parts.length ? parts.join(' · ') : '<span class="muted">no results yet</span>';
}

/** Each member's before → after image, phase and validation results, in promotion order. */
export function releaseMembersTable(release: ReleaseView, members: ReleaseMemberFacts[]): string {
  const rows = release.members
    .map((m) => {
      const facts = members.find((f) => f.app === m.app);
      const v = facts?.rollout ?? m.rollout;
      const after = v?.image ?? m.image ?? '—';
      return (
        `<tr><th scope="row">${esc(m.app)}</th>` +
        `<td><code>${esc(facts?.blueImage ?? 'not known')}</code> → <code>${esc(after)}</code></td>` +
        `<td>${badge(v?.phase ?? m.phase ?? 'pending')}${m.promoted ? ' promoted' : ''}</td>` +
        `<td>${validationCell(v)}</td></tr>`
      );
    })
    .join('');
  return (
    `<table><caption>Members, in promotion order (${esc(release.order ?? 'sequence')})</caption>` +
    `<thead><tr><th scope="col">Member</th><th scope="col">Before → after</th><th scope="col">Phase</th><th scope="col">Validation</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/** The release's confirmation page: one decision for every member. A GET never decides. */
export function renderReleaseApprovalBody(a: {
  release: ReleaseView;
  members: ReleaseMemberFacts[];
  tokens: { approve: string; reject: string };
  expiresAt: number;
  action: string;
  approvers: string[];
  standing: ViewerStanding;
}): { title: string; body: string } {
  const r = a.release;
  const pending = r.phase === 'WaitingApproval' && !r.done;
  const head =
    `<h1>Promote release ${esc(r.name)}?</h1>` +
    `<p class="muted">Release <code>${esc(r.id)}</code> · ${esc(r.members.length)} apps · phase <strong>${esc(r.phase)}</strong> · link expires <time datetime="${esc(new Date(a.expiresAt).toISOString())}">${esc(isoOrDash(a.expiresAt))}</time></p>` +
    `<p>Approving promotes every member in order; if any member fails, every member is restored (promoted ones first, in reverse order).</p>`;
  const decide = !pending
    ? `<div class="notice" role="status"><p>This release is not waiting for approval (it is <strong>${esc(r.phase)}</strong>); nothing to decide.</p></div>`
    : a.standing.may
      ? standingNotice(a.standing, a.approvers) +
        decisionForm(a.action, 'approve', a.tokens.approve) +
        decisionForm(a.action, 'reject', a.tokens.reject)
      : standingNotice(a.standing, a.approvers);
  const who = a.approvers.length
    ? `<p>Who may approve: ${a.approvers.map((x) => `<code>${esc(x)}</code>`).join(', ')}</p>`
    : '<p>Who may approve: anyone holding this link (the release policy names no approvers).</p>';
  const details = a.members
    .map(
      (m) =>
        `<h3>${esc(m.app)}</h3>` +
        (m.rollout
          ? `${checksTable(m.rollout)}${gatesTable(m.rollout, m.conditions)}`
          : '<p class="muted">Not started yet.</p>'),
    )
    .join('');
  const body =
    head +
    releaseMembersTable(r, a.members) +
    `<h2>Decision</h2>${who}${decide}` +
    `<h2>Validation by member</h2>${details}`;
  return { title: `Approve release ${r.name}: ${r.id}`, body };
}

/**
 * The dashboard's page of one release: what replaces what in each member, the approval, what is left to
 * do by hand, and the timeline. No approval link: the dashboard is for watching, the link is for deciding.
 */
export function renderReleaseBody(
  release: ReleaseView,
  members: ReleaseMemberFacts[],
): { title: string; body: string } {
  const r = release;
  const a = r.approval;
  const approval = a
    ? `<p>state ${badge(a.state)}${a.expiresAt ? ` · expires ${esc(isoOrDash(a.expiresAt))}` : ''}${a.by ? ` · by ${esc(a.by)}` : ''}${a.at ? ` at ${esc(isoOrDash(a.at))}` : ''}${a.comment ? ` · comment “${esc(a.comment)}”` : ''}</p>`
    : '<p class="muted">Not asked yet.</p>';
  const left = r.leftToDo?.length
    ? `<div class="notice" role="alert"><h2>Left to do by hand</h2><ul>${r.leftToDo.map((x) => `<li>${esc(x)}</li>`).join('')}</ul></div>`
    : '';
  const queued = r.queuedBehind?.length
    ? `<p>Waiting for ${r.queuedBehind.map((q) => `<code>${esc(q.app)}</code> (held by <code>${esc(q.holder)}</code>)`).join(', ')}</p>`
    : '';
  const links = r.members
    .map(
      (m) =>
        `<li><a href="/api/dashboard/rollouts/${encodeURIComponent(m.rolloutId)}">${esc(m.app)}</a>: rollout <code>${esc(m.rolloutId)}</code></li>`,
    )
    .join('');
  const timeline = r.timeline
    .map(
      (t) =>
        `<li><time datetime="${esc(t.at)}">${esc(isoOrDash(t.at))}</time> ${t.phase ? `<strong>${esc(t.phase)}</strong>` : ''}${t.note ? ` ${t.phase ? '— ' : ''}${esc(t.note)}` : ''}</li>`,
    )
    .join('');
  const body =
    `<p><a href="/api/dashboard">All rollouts and releases</a></p>` +
    `<h1>Release ${esc(r.name)}</h1>` +
    `<p class="muted"><code>${esc(r.id)}</code> · ${esc(r.members.length)} apps · ${esc(r.order ?? 'sequence')}</p>` +
    `<p>${badge(r.outcome ?? r.phase)}${r.reason ? ` ${esc(r.reason)}` : ''}</p>` +
    left +
    queued +
    releaseMembersTable(r, members) +
    `<h2>Approval</h2>${approval}` +
    `<h2>Member rollouts</h2><ul>${links}</ul>` +
    `<h2>Timeline</h2><ol class="timeline">${timeline}</ol>`;
  return { title: `Release ${r.name}: ${r.id}`, body };
}

/** The dashboard's list of releases, running first, each with its members' phases. */
export function releasesSection(releases: ReleaseView[]): string {
  if (releases.length === 0) return '';
  const rows = releases
    .map(
      (r) =>
        `<tr><td><a href="/api/dashboard/releases/${encodeURIComponent(r.id)}"><code>${esc(r.id)}</code></a></td><td>${esc(r.name)}</td><td>${badge(r.outcome ?? r.phase)}</td>` +
        `<td>${r.members
          .map(
            (m) =>
              `<a href="/api/dashboard/rollouts/${encodeURIComponent(m.rolloutId)}">${esc(m.app)}</a> ${badge(m.phase ?? 'pending')}${m.promoted ? ' promoted' : ''}`,
          )
          .join('<br>')}</td><td>${esc(isoOrDash(r.createdAt))}</td></tr>`,
    )
    .join('');
  return (
    `<h2>Releases</h2><table><caption>Coordinated releases, running first</caption>` +
    `<thead><tr><th scope="col">Release</th><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">Members</th><th scope="col">Started</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}
