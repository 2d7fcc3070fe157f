import type { RolloutView } from '../services/rolloutView';
import { bar, clock, dateTime, padEnd, span, table, type Paint } from './format';

export interface RenderOptions {
  paint: Paint;
  /** Now, for relative times (expiry, age). */
  now: number;
  /** Show only the last N timeline entries (a live view that must fit the terminal). */
  timelineLimit?: number;
}

type Verdict = string;

function verdict(paint: Paint, v: Verdict): string {
  if (v === 'pass') return paint('green', `✓ ${v}`);
  if (v === 'fail') return paint('red', `✗ ${v}`);
  return paint('yellow', `… ${v}`);
}

function phaseStyle(phase: string): Parameters<Paint>[0] {
  if (phase === 'Succeeded') return ['bold', 'green'];
  if (phase === 'RolledBack' || phase === 'RollingBack') return ['bold', 'yellow'];
  if (phase === 'RollbackFailed' || phase === 'Crashed' || phase === 'Terminated') return ['bold', 'red'];
  if (phase === 'WaitingApproval') return ['bold', 'magenta'];
  return ['bold', 'cyan'];
}

const label = (paint: Paint, s: string): string => paint('dim', padEnd(s, 10));

function num(n: number | 'Infinity' | '-Infinity' | undefined): string {
  if (n === undefined) return '—';
  if (typeof n === 'string') return n === 'Infinity' ? '+Inf' : '-Inf';
  return Number.isInteger(n) ? String(n) : n.toPrecision(4).replace(/\.?0+$/, '');
}

/** A gate's latest measurements, oldest first, as one line: `0.01✓ 0.02✓ err 0.3✗`. */
function gateHistory(h: RolloutView['gates'][number]['history']): string {
  if (!h || h.length === 0) return '';
  const mark = { success: '✓', failure: '✗', inconclusive: '?', error: '!' } as const;
  return `last ${h.length}: ${h.map((m) => (m.error !== undefined ? 'err!' : `${num(m.value)}${mark[m.verdict]}`)).join(' ')}`;
}

/**
 * A rollout as a person reads it: phase and step, traffic per revision as bars, every check with its
 * last value and verdict, the approval, the timeline and the outcome. Pure: the same view renders the
 * same lines, so a live view redraws only when something changed.
 */
export function renderStatus(v: RolloutView, o: RenderOptions): string[] {
  const { paint } = o;
  const lines: string[] = [];
  const row = (name: string, text: string): void => void lines.push(`${label(paint, name)}${text}`);
  const more = (text: string): void => void lines.push(`${' '.repeat(10)}${text}`);

  lines.push(`${paint('bold', v.app.name)}  ${v.image}  ${paint('dim', `(${v.strategy} strategy)`)}`);
  row('rollout', v.id);
  const step = v.step ? `  step ${v.step.index + 1}/${v.step.of} at ${v.step.weight}%` : '';
  const age = span(o.now - Date.parse(v.createdAt));
  row(
    'phase',
    `${paint(phaseStyle(v.phase), v.phase)}${step}  ${paint('dim', `started ${age} ago, updated ${clock(v.lastUpdatedAt)}`)}`,
  );

  const traffic = v.traffic ?? [];
  if (traffic.length > 0) {
    const named = table(
      traffic.map((t) => {
        const role = t.revisionName === v.green ? 'green' : v.blue.includes(t.revisionName) ? 'blue' : '';
        const colour = role === 'green' ? 'green' : role === 'blue' ? 'blue' : 'white';
        return [
          t.revisionName,
          paint(colour, bar(t.weight, 24)),
          `${String(t.weight).padStart(3)}%`,
          [role, t.label ? `label ${t.label}` : ''].filter(Boolean).join(', '),
        ];
      }),
    );
    named.forEach((l, i) => (i === 0 ? row('traffic', l) : more(l)));
  } else {
    row('revisions', `blue ${v.blue.join(', ') || '—'}  green ${v.green ?? '—'}`);
  }
  if (v.flags) {
    // Flag strategy: production work goes wholly to the revision in `prod` mode, so its bar is full.
    row('flags', `epoch ${v.flags.epoch}  active ${v.flags.active ?? '—'}`);
    const revisions = table(
      Object.entries(v.flags.revisions).map(([rev, f]) => [
        rev,
        paint(rev === v.green ? 'green' : 'blue', bar(f.mode === 'prod' ? 100 : 0, 24)),
        `${f.mode}/${f.binding}`,
        rev === v.green ? 'green' : v.blue.includes(rev) ? 'blue' : '',
      ]),
    );
    revisions.forEach(more);
  }

  const c = v.checks;
  if (c.readiness)
    row('readiness', `${verdict(paint, c.readiness.ok ? 'pass' : 'fail')}  ${c.readiness.message}`);
  if (c.smoke) {
    const results = c.smoke.results.map((r) => [
      verdict(paint, r.ok ? 'pass' : 'fail'),
      r.name,
      r.status === undefined ? '—' : String(r.status),
      r.latencyMs === undefined ? '' : `${r.latencyMs} ms`,
      r.ok ? '' : r.message,
    ]);
    const body = table(results);
    row('smoke', `${c.smoke.passed ? 'passed' : paint('red', 'failed')} against ${c.smoke.url}`);
    body.forEach(more);
  }
  if (c.mock) {
    const m = c.mock;
    const facts = [
      `${m.records} records`,
      `${m.malformed} malformed`,
      ...(m.lag !== undefined ? [`lag ${m.lag}`] : []),
      ...(m.errors !== undefined ? [`${m.errors} errors`] : []),
      ...(m.holdsLease !== undefined ? [m.holdsLease ? 'holds its lease' : 'no lease'] : []),
    ].join(', ');
    row('mock', `${verdict(paint, m.verdict)}  ${facts}  ${paint('dim', clock(m.at))}`);
    if (m.verdict !== 'pass') more(m.message);
  }
  if (c.flip) row('flip', `${verdict(paint, c.flip.ok ? 'pass' : 'fail')}  ${c.flip.message}`);
  if (v.gates.length > 0) {
    const gates = table(
      v.gates.map((g) => [
        verdict(paint, g.verdict),
        g.dryRun ? `${g.name} (dry run)` : g.name,
        `value ${num(g.value)}`,
        g.baseline === undefined ? '' : `baseline ${num(g.baseline)}`,
        g.at === undefined ? '' : paint('dim', clock(g.at)),
        g.message,
      ]),
    );
    gates.forEach((l, i) => {
      if (i === 0) row('gates', l);
      else more(l);
      const history = gateHistory(v.gates[i]?.history);
      if (history) more(`  ${paint('dim', history)}`);
    });
  }

  const a = v.approval;
  if (a.state !== 'notRequired') {
    const who = a.decidedBy ? ` by ${a.decidedBy}${a.decidedAt ? ` at ${clock(a.decidedAt)}` : ''}` : '';
    const expires = a.expiresAt
      ? `  expires ${dateTime(a.expiresAt)} (${Date.parse(a.expiresAt) > o.now ? `in ${span(Date.parse(a.expiresAt) - o.now)}` : 'expired'})`
      : '';
    const state = a.state === 'pending' ? paint(['bold', 'magenta'], a.state) : a.state;
    row('approval', `${state}${who}${expires}${a.comment ? `  “${a.comment}”` : ''}`);
    if (a.pageUrl) more(paint('underline', a.pageUrl));
  }

  const entries = v.timeline;
  const shown = o.timelineLimit !== undefined ? entries.slice(-Math.max(1, o.timelineLimit)) : entries;
  const hidden = entries.length - shown.length;
  shown.forEach((t, i) => {
    const text = `${paint('dim', clock(t.at))} ${t.phase}${t.note ? `  ${paint('dim', t.note)}` : ''}`;
    if (i === 0) row('timeline', hidden > 0 ? paint('dim', `… ${hidden} earlier`) : text);
    if (i > 0 || hidden > 0) more(text);
  });

  if (v.outcome || v.reason) {
    row(
      'outcome',
      `${v.outcome ? paint(phaseStyle(v.outcome), v.outcome) : ''}${v.reason ? `  ${v.reason}` : ''}`,
    );
  }
  if (v.leftToDo?.length) {
    row('left to do', paint('red', 'a person must finish these:'));
    for (const t of v.leftToDo) more(`- ${t}`);
  }
  return lines;
}

/** `list`: one row per rollout, newest first. */
export function renderList(views: RolloutView[], o: RenderOptions): string[] {
  if (views.length === 0) return ['no rollouts'];
  const rows = views.map((v) => [
    v.id,
    v.app.name,
    o.paint(phaseStyle(v.phase), v.phase),
    v.step ? `${v.step.index + 1}/${v.step.of} ${v.step.weight}%` : '—',
    v.image,
    `${span(o.now - Date.parse(v.createdAt))} ago`,
  ]);
  return table([
    ['ROLLOUT', 'APP', 'PHASE', 'STEP', 'IMAGE', 'STARTED'].map((h) => o.paint('dim', h)),
    ...rows,
  ]);
}
