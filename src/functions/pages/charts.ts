import { esc } from './html';

/**
 * Charts drawn on the server as inline SVG: no script, no library, no CDN, and readable without colour
 * (every series is named in a legend and a table-like title). Inline SVG is part of the document, so the
 * page's CSP (default-src 'none') allows it.
 */

export interface TrafficSample {
  /** Epoch milliseconds. */
  at: number;
  traffic: { revisionName: string; weight: number }[];
}

/** Distinguishable for colour-blind viewers (Okabe–Ito), each with at least 3:1 contrast on white. */
const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#56B4E9', '#E69F00', '#000000'];

const W = 640;
const H = 200;
const pad = { left: 44, right: 12, top: 12, bottom: 28 };
const plotW = W - pad.left - pad.right;
const plotH = H - pad.top - pad.bottom;

const time = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function xScale(t0: number, t1: number): (t: number) => number {
  const span = Math.max(t1 - t0, 1);
  return (t) => pad.left + ((t - t0) / span) * plotW;
}

function axes(yTicks: { value: number; label: string; y: number }[], t0: number, t1: number): string {
  const ticks = yTicks
    .map(
      (t) =>
        `<line x1="${pad.left}" x2="${W - pad.right}" y1="${t.y.toFixed(1)}" y2="${t.y.toFixed(1)}" stroke="#d0d7de"/>` +
        `<text x="${pad.left - 6}" y="${(t.y + 4).toFixed(1)}" text-anchor="end">${esc(t.label)}</text>`,
    )
    .join('');
  return (
    ticks +
    `<text x="${pad.left}" y="${H - 8}">${esc(time(t0))}</text>` +
    `<text x="${W - pad.right}" y="${H - 8}" text-anchor="end">${esc(time(t1))} UTC</text>`
  );
}

/** Traffic per revision over time, as steps (a weight holds until the next write). */
export function trafficChart(samples: TrafficSample[], now: number): string {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  if (sorted.length === 0) return '<p class="muted">No traffic writes recorded yet.</p>';
  const revisions = [...new Set(sorted.flatMap((s) => s.traffic.map((t) => t.revisionName)))];
  const t0 = sorted[0]!.at;
  const t1 = Math.max(now, sorted[sorted.length - 1]!.at + 1000);
  const x = xScale(t0, t1);
  const y = (w: number): number => pad.top + plotH - (w / 100) * plotH;
  const series = revisions
    .map((rev, i) => {
      const points: string[] = [];
      let last: number | undefined;
      for (const s of sorted) {
        const w = s.traffic.find((t) => t.revisionName === rev)?.weight ?? 0;
        if (last !== undefined) points.push(`${x(s.at).toFixed(1)},${y(last).toFixed(1)}`);
        points.push(`${x(s.at).toFixed(1)},${y(w).toFixed(1)}`);
        last = w;
      }
      points.push(`${x(t1).toFixed(1)},${y(last ?? 0).toFixed(1)}`);
      const colour = palette[i % palette.length]!;
      const dash = i % 2 === 1 ? ' stroke-dasharray="6 3"' : '';
      return `<polyline fill="none" stroke="${colour}" stroke-width="2.5"${dash} points="${points.join(' ')}"><title>${esc(rev)}</title></polyline>`;
    })
    .join('');
  const legend = revisions
    .map((rev, i) => {
      const colour = palette[i % palette.length]!;
      const latest = sorted[sorted.length - 1]!.traffic.find((t) => t.revisionName === rev)?.weight ?? 0;
      return `<li><svg width="24" height="10" aria-hidden="true"><line x1="0" x2="24" y1="5" y2="5" stroke="${colour}" stroke-width="3"${i % 2 === 1 ? ' stroke-dasharray="6 3"' : ''}/></svg> <code>${esc(rev)}</code> now ${latest}%</li>`;
    })
    .join('');
  const ticks = [0, 25, 50, 75, 100].map((v) => ({ value: v, label: `${v}%`, y: y(v) }));
  const described = sorted
    .map((s) => `${time(s.at)}: ${s.traffic.map((t) => `${t.revisionName} ${t.weight}%`).join(', ')}`)
    .join('; ');
  return (
    `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="traffic-title traffic-desc">` +
    `<title id="traffic-title">Traffic per revision over time</title><desc id="traffic-desc">${esc(described)}</desc>` +
    axes(ticks, t0, t1) +
    series +
    `</svg><figcaption><ul class="legend">${legend}</ul></figcaption></figure>`
  );
}

export interface GateMeasurement {
  at: number;
  value: number;
  baseline?: number;
  verdict?: string;
}

/**
 * The threshold a success condition sets, when it is one comparison of `result` with a number or with
 * `baseline` (times a factor): `result <= 0.05`, `result <= baseline * 1.2`. Other conditions get none.
 */
export function thresholdOf(
  condition: string,
): { op: string; value?: number; baselineFactor?: number } | undefined {
  const m = /^\s*result\s*(<=|<|>=|>)\s*(.+?)\s*$/.exec(condition);
  if (!m) return undefined;
  const rhs = m[2]!;
  if (/^-?\d+(\.\d+)?$/.test(rhs)) return { op: m[1]!, value: Number(rhs) };
  const b = /^baseline(?:\s*\*\s*(\d+(?:\.\d+)?))?$/.exec(rhs);
  if (b) return { op: m[1]!, baselineFactor: b[1] ? Number(b[1]) : 1 };
  return undefined;
}

/** A gate's measurements as points, coloured and shaped by verdict, against its threshold. */
export function gateChart(name: string, condition: string, points: GateMeasurement[], now: number): string {
  const sorted = [...points].sort((a, b) => a.at - b.at);
  if (sorted.length === 0) return `<p class="muted">${esc(name)}: no measurement yet.</p>`;
  const threshold = thresholdOf(condition);
  const limitAt = (p: GateMeasurement): number | undefined =>
    threshold?.value ??
    (threshold?.baselineFactor !== undefined && p.baseline !== undefined
      ? p.baseline * threshold.baselineFactor
      : undefined);
  const limits = sorted.map(limitAt).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const values = sorted.map((p) => p.value).filter(Number.isFinite);
  const top = Math.max(...values, ...limits, 0) * 1.15 || 1;
  const t0 = sorted[0]!.at;
  const t1 = Math.max(now, sorted[sorted.length - 1]!.at + 1000);
  const x = xScale(t0, t1);
  const y = (v: number): number => pad.top + plotH - (Math.min(v, top) / top) * plotH;
  const fmt = (v: number): string => String(Math.round(v * 10000) / 10000);
  const ticks = [0, top / 2, top].map((v) => ({ value: v, label: fmt(v), y: y(v) }));
  const limitLine = sorted
    .map((p) => {
      const l = limitAt(p);
      return l === undefined ? undefined : `${x(p.at).toFixed(1)},${y(l).toFixed(1)}`;
    })
    .filter((s): s is string => s !== undefined);
  if (limitLine.length === 1) limitLine.push(`${x(t1).toFixed(1)},${limitLine[0]!.split(',')[1]!}`);
  const marks = sorted
    .map((p) => {
      const cx = x(p.at).toFixed(1);
      const cy = y(p.value).toFixed(1);
      const label = `${time(p.at)}: ${fmt(p.value)}${p.verdict ? ` (${p.verdict})` : ''}`;
      // Shape as well as colour: a circle passes, a cross fails, a square is anything else.
      if (p.verdict === 'fail' || p.verdict === 'failure') {
        return `<g stroke="#a40e26" stroke-width="2.5"><title>${esc(label)}</title><line x1="${Number(cx) - 5}" y1="${Number(cy) - 5}" x2="${Number(cx) + 5}" y2="${Number(cy) + 5}"/><line x1="${Number(cx) - 5}" y1="${Number(cy) + 5}" x2="${Number(cx) + 5}" y2="${Number(cy) - 5}"/></g>`;
      }
      if (p.verdict === 'pass' || p.verdict === 'success' || p.verdict === undefined) {
        return `<circle cx="${cx}" cy="${cy}" r="5" fill="#116329"><title>${esc(label)}</title></circle>`;
      }
      return `<rect x="${Number(cx) - 5}" y="${Number(cy) - 5}" width="10" height="10" fill="#6a4a00"><title>${esc(label)}</title></rect>`;
    })
    .join('');
  const id = `gate-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const described =
    sorted.map((p) => `${time(p.at)} ${fmt(p.value)}${p.verdict ? ` ${p.verdict}` : ''}`).join('; ') +
    (limits.length ? `; threshold ${threshold?.op} ${fmt(limits[limits.length - 1]!)}` : '');
  return (
    `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${id}-t ${id}-d">` +
    `<title id="${id}-t">${esc(name)}: measurements against ${esc(condition || 'no condition')}</title><desc id="${id}-d">${esc(described)}</desc>` +
    axes(ticks, t0, t1) +
    (limitLine.length
      ? `<polyline fill="none" stroke="#a40e26" stroke-width="1.5" stroke-dasharray="5 4" points="${limitLine.join(' ')}"><title>threshold</title></polyline>`
      : '') +
    marks +
    `</svg><figcaption><strong>${esc(name)}</strong> passes when <code>${esc(condition)}</code>; dashed line: the threshold; ● pass, ✕ fail, ■ inconclusive.</figcaption></figure>`
  );
}
