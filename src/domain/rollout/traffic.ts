import type { TrafficEntry } from '../../adapters/containerApps/port';

/**
 * Traffic for one promotion step: green gets `greenWeight`, the rest is spread over the baseline's
 * weighted entries in proportion to their baseline weights (largest remainder, so integers summing to
 * 100). Zero-weight baseline entries that carry a label are kept; at 100 the baseline keeps only labels.
 */
export function stepTraffic(baseline: TrafficEntry[], green: string, greenWeight: number): TrafficEntry[] {
  const w = Math.max(0, Math.min(100, Math.round(greenWeight)));
  const others = baseline.filter((t) => t.revisionName !== green);
  const weighted = others.filter((t) => t.weight > 0);
  const total = weighted.reduce((n, t) => n + t.weight, 0);
  const rest = 100 - w;
  const shares = weighted.map((t, i) => {
    const exact = total > 0 ? (t.weight / total) * rest : 0;
    return { i, floor: Math.floor(exact), frac: exact - Math.floor(exact) };
  });
  let left = rest - shares.reduce((n, s) => n + s.floor, 0);
  // Largest remainder first; ties go to the earlier entry, so the result is deterministic.
  for (const s of [...shares].sort((a, b) => b.frac - a.frac || a.i - b.i)) {
    if (left <= 0) break;
    s.floor += 1;
    left -= 1;
  }
  const out: TrafficEntry[] = [];
  weighted.forEach((t, i) => {
    const weight = shares[i]?.floor ?? 0;
    if (weight > 0 || t.label) out.push({ ...t, weight });
  });
  for (const t of others) if (t.weight === 0 && t.label) out.push({ ...t });
  // A baseline with no weighted entry (cannot happen with ACA ingress) still yields a valid 100.
  if (total === 0 && rest > 0) return [{ revisionName: green, weight: 100 }, ...out];
  if (w > 0 || baseline.some((t) => t.revisionName === green && t.label)) {
    out.push({ revisionName: green, weight: w });
  }
  return out;
}

/**
 * Points `label` at `revisionName`: the label moves off any other entry; it lands on the revision's
 * unlabelled entry when there is one, else on a new 0% entry.
 */
export function withLabel(entries: TrafficEntry[], label: string, revisionName: string): TrafficEntry[] {
  const out: TrafficEntry[] = entries.map((t) => {
    if (t.label !== label) return { ...t };
    const { label: _dropped, ...rest } = t;
    return rest;
  });
  const target = out.find((t) => t.revisionName === revisionName && t.label === undefined);
  if (target) target.label = label;
  else out.push({ revisionName, weight: 0, label });
  // Unlabelled 0% entries add nothing: ACA drops them, so drop them here too and compare like for like.
  return out.filter((t) => t.weight > 0 || t.label !== undefined);
}

/** The invariant every traffic change keeps: whole weights summing to 100, no revision listed twice unlabelled. */
export function trafficProblems(entries: TrafficEntry[]): string[] {
  const problems: string[] = [];
  const sum = entries.reduce((n, t) => n + t.weight, 0);
  if (sum !== 100) problems.push(`weights sum to ${sum}, not 100`);
  for (const t of entries) {
    if (!Number.isInteger(t.weight) || t.weight < 0 || t.weight > 100) {
      problems.push(`${t.revisionName}: weight ${t.weight} is not a whole number from 0 to 100`);
    }
  }
  const labels = entries.flatMap((t) => (t.label ? [t.label] : []));
  for (const l of new Set(labels)) {
    if (labels.filter((x) => x === l).length > 1) problems.push(`label '${l}' is used more than once`);
  }
  return problems;
}
