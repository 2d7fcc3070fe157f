import type { RolloutView } from '../../services/rolloutView';
import { badge, esc, isoOrDash } from './html';

/**
 * Parts of a rollout both pages show: what replaces what, the checks with their values and verdicts,
 * the gates, the timeline. Read from the rollout's status as the API serves it.
 */

/** A gate result as the status carries it; read loosely so older statuses still render. */
export interface GateLike {
  name: string;
  verdict?: string;
  message?: string;
  value?: number | string;
  baseline?: number | string;
  at?: string;
  history?: { at?: string; value?: number | string; baseline?: number | string; verdict?: string }[];
}

export function gatesOf(view: RolloutView): GateLike[] {
  return view.gates ?? [];
}

const number = (v: number | string | undefined): string =>
  v === undefined ? '—' : typeof v === 'number' ? String(Math.round(v * 10000) / 10000) : v;

/** Blue's and green's revisions and images; `blueImage` when it could be looked up. */
export function changeSection(view: RolloutView, blueImage?: string): string {
  const blue = view.blue.length ? view.blue.join(', ') : 'none';
  return (
    `<div class="change" aria-label="What replaces what">` +
    `<div><strong>Before (blue)</strong><br>revision <code>${esc(blue)}</code><br>image <code>${esc(blueImage ?? 'not known')}</code></div>` +
    `<div class="arrow" aria-hidden="true">→</div>` +
    `<div><strong>After (green)</strong><br>revision <code>${esc(view.green ?? 'not created yet')}</code><br>image <code>${esc(view.image)}</code></div>` +
    `</div>`
  );
}

export function trafficTable(view: RolloutView): string {
  const rows = (view.traffic ?? [])
    .map(
      (t) =>
        `<tr><td><code>${esc(t.revisionName)}</code></td><td>${esc(t.weight)}%</td><td>${esc(t.label ?? '')}</td></tr>`,
    )
    .join('');
  return rows
    ? `<table><caption>Traffic now</caption><thead><tr><th scope="col">Revision</th><th scope="col">Weight</th><th scope="col">Label</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="muted">No traffic recorded yet.</p>';
}

/** Readiness, smoke, mock and flip results with their values and verdicts. */
export function checksTable(view: RolloutView): string {
  const rows: string[] = [];
  const c = view.checks;
  if (c.readiness) {
    rows.push(
      `<tr><th scope="row">Readiness</th><td>${badge(c.readiness.ok ? 'pass' : 'fail')}</td><td>${esc(c.readiness.message)}</td></tr>`,
    );
  }
  if (c.smoke) {
    for (const r of c.smoke.results) {
      const value = [
        r.status !== undefined ? `HTTP ${r.status}` : '',
        r.latencyMs !== undefined ? `${r.latencyMs} ms` : '',
      ]
        .filter(Boolean)
        .join(', ');
      rows.push(
        `<tr><th scope="row">Smoke: ${esc(r.name)}</th><td>${badge(r.ok ? 'pass' : 'fail')}</td><td>${esc(value ? `${value}: ${r.message}` : r.message)}</td></tr>`,
      );
    }
  }
  if (c.mock) {
    const m = c.mock as unknown as { passed?: boolean; ok?: boolean; message?: string };
    const passed = m.passed ?? m.ok;
    rows.push(
      `<tr><th scope="row">Mock validation</th><td>${badge(passed === undefined ? undefined : passed ? 'pass' : 'fail')}</td><td>${esc(m.message ?? '')}</td></tr>`,
    );
  }
  if (c.flip) {
    rows.push(
      `<tr><th scope="row">Flag flip</th><td>${badge(c.flip.ok ? 'pass' : 'fail')}</td><td>${esc(c.flip.message)}</td></tr>`,
    );
  }
  if (rows.length === 0) return '<p class="muted">No checks have run yet.</p>';
  return `<table><caption>Checks</caption><thead><tr><th scope="col">Check</th><th scope="col">Verdict</th><th scope="col">Result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Gates with their latest value, baseline, condition (from the plan) and verdict. */
export function gatesTable(view: RolloutView, conditions: Record<string, string> = {}): string {
  const gates = gatesOf(view);
  if (gates.length === 0) return '<p class="muted">No gate has been measured yet.</p>';
  const rows = gates
    .map(
      (g) =>
        `<tr><th scope="row">${esc(g.name)}</th><td>${badge(g.verdict)}</td><td>${esc(number(g.value))}</td><td>${esc(number(g.baseline))}</td>` +
        `<td><code>${esc(conditions[g.name] ?? '')}</code></td><td>${esc(g.message ?? '')}</td></tr>`,
    )
    .join('');
  return (
    `<table><caption>Gates</caption><thead><tr><th scope="col">Gate</th><th scope="col">Verdict</th><th scope="col">Value</th>` +
    `<th scope="col">Baseline</th><th scope="col">Passes when</th><th scope="col">Message</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

export function timelineList(view: RolloutView): string {
  const items = view.timeline
    .map(
      (t) =>
        `<li><time datetime="${esc(t.at)}">${esc(isoOrDash(t.at))}</time> <strong>${esc(t.phase)}</strong>${t.note ? ` — ${esc(t.note)}` : ''}</li>`,
    )
    .join('');
  return `<ol class="timeline">${items}</ol>`;
}

export function approvalSummary(view: RolloutView): string {
  const a = view.approval;
  const parts = [`state ${badge(a.state)}`];
  if (a.expiresAt) parts.push(`expires ${esc(isoOrDash(a.expiresAt))}`);
  if (a.decidedBy) parts.push(`by ${esc(a.decidedBy)}`);
  if (a.decidedAt) parts.push(`at ${esc(isoOrDash(a.decidedAt))}`);
  if (a.comment) parts.push(`comment “${esc(a.comment)}”`);
  return `<p>${parts.join(' · ')}</p>`;
}
