import type { RolloutView } from '../../services/rolloutView';
import { gateChart, trafficChart, type GateMeasurement, type TrafficSample } from './charts';
import { badge, esc, isoOrDash } from './html';
import {
  approvalSummary,
  changeSection,
  checksTable,
  gatesOf,
  gatesTable,
  timelineList,
  trafficTable,
} from './sections';

/** While anything runs, the page reloads itself this often (a meta refresh: the CSP allows no script). */
export const refreshSeconds = 5;

const link = (id: string): string => `/api/dashboard/rollouts/${encodeURIComponent(id)}`;

/** Running rollouts first (oldest start first: the longest waiting on top), then finished, newest first. */
export function orderForDashboard(views: RolloutView[]): RolloutView[] {
  const running = views.filter((v) => !v.done).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const done = views.filter((v) => v.done).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return [...running, ...done];
}

export function renderDashboardBody(
  views: RolloutView[],
  app: string | undefined,
): { title: string; body: string } {
  const ordered = orderForDashboard(views);
  const running = ordered.filter((v) => !v.done).length;
  const rows = ordered
    .map((v) => {
      const step = v.step ? `${v.step.index + 1}/${v.step.of} (${v.step.weight}%)` : '—';
      return (
        `<tr><td><a href="${esc(link(v.id))}"><code>${esc(v.id)}</code></a></td><td>${esc(v.app.name || '—')}</td>` +
        `<td>${badge(v.phase)}</td><td>${esc(step)}</td><td><code>${esc(v.image)}</code></td>` +
        `<td><time datetime="${esc(v.createdAt)}">${esc(isoOrDash(v.createdAt))}</time></td><td>${badge(v.approval.state)}</td></tr>`
      );
    })
    .join('');
  const table = rows
    ? `<table><caption>${running} running, ${ordered.length - running} finished</caption><thead><tr><th scope="col">Rollout</th><th scope="col">App</th>` +
      `<th scope="col">Phase</th><th scope="col">Step</th><th scope="col">Image</th><th scope="col">Started</th><th scope="col">Approval</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="muted">No rollouts${app ? ` for app ${esc(app)}` : ''} yet.</p>`;
  const filter =
    `<form method="get" action="/api/dashboard"><label for="app">Only this app</label>` +
    `<input type="text" id="app" name="app" maxlength="100" value="${esc(app ?? '')}"><button type="submit" class="approve">Filter</button></form>`;
  return {
    title: app ? `Greenlight rollouts: ${app}` : 'Greenlight rollouts',
    body: `<h1>Rollouts${app ? ` of ${esc(app)}` : ''}</h1>${filter}${table}`,
  };
}

/** What the dashboard knows of a rollout beyond its status: the audit trail, when there is one. */
export interface AuditFacts {
  entries: { at: string; kind: string; summary: string; actor: { name: string } }[];
  /** Why the audit could not be read, when it could not. */
  unavailable?: string;
}

/** One notification as a status may list it. */
interface NotificationLike {
  channel?: string;
  event?: string;
  kind?: string;
  outcome?: string;
  status?: string;
  at?: string;
  attempts?: number;
  detail?: string;
}

function notificationsSection(view: RolloutView): string {
  const raw = (view as unknown as { notifications?: unknown }).notifications;
  const list: NotificationLike[] = Array.isArray(raw)
    ? (raw as NotificationLike[])
    : raw && typeof raw === 'object' && Array.isArray((raw as { deliveries?: unknown }).deliveries)
      ? (raw as { deliveries: NotificationLike[] }).deliveries
      : [];
  if (list.length === 0) return '<p class="muted">No notifications recorded for this rollout.</p>';
  const rows = list
    .slice(-50)
    .map(
      (n) =>
        `<tr><td>${esc(isoOrDash(n.at))}</td><td>${esc(n.channel ?? '')}</td><td>${esc(n.event ?? n.kind ?? '')}</td>` +
        `<td>${badge(n.outcome ?? n.status)}</td><td>${esc(n.attempts)}</td><td>${esc(n.detail ?? '')}</td></tr>`,
    )
    .join('');
  return `<table><caption>Notifications</caption><thead><tr><th scope="col">At</th><th scope="col">Channel</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Attempts</th><th scope="col">Detail</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function auditSection(audit: AuditFacts): string {
  if (audit.unavailable)
    return `<p class="muted">The audit trail could not be read: ${esc(audit.unavailable)}</p>`;
  if (audit.entries.length === 0) return '<p class="muted">No audit entries for this rollout yet.</p>';
  const rows = audit.entries
    .map(
      (e) =>
        `<tr><td>${esc(isoOrDash(e.at))}</td><td><code>${esc(e.kind)}</code></td><td>${esc(e.actor.name)}</td><td>${esc(e.summary)}</td></tr>`,
    )
    .join('');
  return `<table><caption>Audit trail (newest first)</caption><thead><tr><th scope="col">At</th><th scope="col">Kind</th><th scope="col">Who</th><th scope="col">What</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const toNumber = (v: number | string | undefined): number | undefined =>
  typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : undefined;

/** A gate's measurements: its history when the status keeps one, else its latest value. */
export function measurementsOf(view: RolloutView): Map<string, GateMeasurement[]> {
  const out = new Map<string, GateMeasurement[]>();
  for (const g of gatesOf(view)) {
    const source = g.history?.length
      ? g.history
      : [{ at: g.at, value: g.value, baseline: g.baseline, verdict: g.verdict }];
    const points: GateMeasurement[] = [];
    for (const h of source) {
      const value = toNumber(h.value);
      const at = h.at ? Date.parse(h.at) : NaN;
      if (value === undefined || !Number.isFinite(value) || Number.isNaN(at)) continue;
      const baseline = toNumber(h.baseline);
      points.push({
        at,
        value,
        ...(baseline !== undefined ? { baseline } : {}),
        ...(h.verdict ? { verdict: h.verdict } : {}),
      });
    }
    out.set(g.name, points);
  }
  return out;
}

export function renderRolloutBody(args: {
  view: RolloutView;
  traffic: TrafficSample[];
  audit: AuditFacts;
  conditions: Record<string, string>;
  now: number;
}): { title: string; body: string } {
  const v = args.view;
  const step = v.step ? ` · step ${v.step.index + 1} of ${v.step.of} (${v.step.weight}%)` : '';
  const outcome = v.outcome
    ? `<div class="notice ${v.outcome === 'Succeeded' ? 'ok' : 'error'}" role="status"><p><strong>${esc(v.outcome)}</strong>${v.reason ? `: ${esc(v.reason)}` : ''}</p>` +
      (v.leftToDo?.length
        ? `<p>Left to do by hand:</p><ul>${v.leftToDo.map((t) => `<li>${esc(t)}</li>`).join('')}</ul>`
        : '') +
      `</div>`
    : '';
  const approvalLink =
    v.approval.state === 'pending' && v.approval.pageUrl
      ? `<p><a href="${esc(v.approval.pageUrl)}">Open the approval page</a></p>`
      : '';
  const gateCharts = [...measurementsOf(v).entries()]
    .map(([name, points]) => gateChart(name, args.conditions[name] ?? '', points, args.now))
    .join('');
  const body =
    `<p><a href="/api/dashboard">All rollouts</a></p>` +
    `<h1>${esc(v.app.name || v.id)}: ${badge(v.phase)}</h1>` +
    `<p class="muted">Rollout <code>${esc(v.id)}</code> · ${esc(v.strategy)} strategy${esc(step)} · started ${esc(isoOrDash(v.createdAt))} · updated ${esc(isoOrDash(v.lastUpdatedAt))}${v.done ? '' : ` · this page refreshes every ${refreshSeconds} s`}</p>` +
    outcome +
    changeSection(v) +
    `<h2>Traffic per revision</h2>${trafficChart(args.traffic, args.now)}${trafficTable(v)}` +
    `<h2>Gates</h2>${gateCharts}${gatesTable(v, args.conditions)}` +
    `<h2>Checks</h2>${checksTable(v)}` +
    `<h2>Approval</h2>${approvalSummary(v)}${approvalLink}` +
    `<h2>Timeline</h2>${timelineList(v)}` +
    `<h2>Notifications</h2>${notificationsSection(v)}` +
    `<h2>Audit</h2>${auditSection(args.audit)}`;
  return { title: `${v.app.name || v.id} ${v.phase}: ${v.id}`, body };
}
