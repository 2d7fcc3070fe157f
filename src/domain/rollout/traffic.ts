import type { RevisionInfo, TrafficEntry } from '../ports/containerApps';

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

/** Takes `label` off every entry; an entry left with neither weight nor label goes (ACA drops it too). */
export function withoutLabel(entries: TrafficEntry[], label: string): TrafficEntry[] {
  return entries
    .map((t): TrafficEntry => {
      if (t.label !== label) return { ...t };
      const { label: _dropped, ...rest } = t;
      return rest;
    })
    .filter((t) => t.weight > 0 || t.label !== undefined);
}

/**
 * Points `label` at `revisionName`: the label moves off any other entry; it lands on the revision's
 * unlabelled entry when there is one, else on a new 0% entry.
 */
export function withLabel(entries: TrafficEntry[], label: string, revisionName: string): TrafficEntry[] {
  const out = withoutLabel(entries, label);
  const target = out.find((t) => t.revisionName === revisionName && t.label === undefined);
  if (target) target.label = label;
  else out.push({ revisionName, weight: 0, label });
  return out;
}

const labelPattern = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/;

/** Why `label` is not a valid ACA traffic label (it becomes part of a host name), or undefined. */
export function labelProblem(label: string): string | undefined {
  return labelPattern.test(label) && !label.includes('--')
    ? undefined
    : `label '${label}' must be lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit`;
}

/** Problems visible without ARM: weights, names, labels. */
export function trafficShapeProblems(entries: TrafficEntry[]): string[] {
  const problems: string[] = [];
  if (!Array.isArray(entries) || entries.length === 0) return ['traffic must hold at least one entry'];
  const labels = new Set<string>();
  let sum = 0;
  entries.forEach((t, i) => {
    const at = `traffic[${i}]`;
    if (typeof t.revisionName !== 'string' || t.revisionName === '') {
      problems.push(`${at}.revisionName is required`);
    }
    if (!Number.isInteger(t.weight) || t.weight < 0 || t.weight > 100) {
      problems.push(`${at}.weight must be a whole number from 0 to 100; got ${JSON.stringify(t.weight)}`);
    } else sum += t.weight;
    if (t.label !== undefined) {
      const problem = labelProblem(t.label);
      if (problem) problems.push(`${at}: ${problem}`);
      if (labels.has(t.label)) problems.push(`${at}: label '${t.label}' is already used by another entry`);
      labels.add(t.label);
    }
  });
  if (sum !== 100 && problems.every((p) => !p.includes('.weight'))) {
    problems.push(
      `weights must sum to 100; got ${sum} (${entries.map((t) => `${t.revisionName}=${t.weight}`).join(', ')})`,
    );
  }
  return problems;
}

/** The revision with the largest share of traffic (the first of equals), if any has weight. */
export function heaviestRevision(traffic: TrafficEntry[]): string | undefined {
  let best: TrafficEntry | undefined;
  for (const t of traffic) if (t.weight > 0 && (!best || t.weight > best.weight)) best = t;
  return best?.revisionName;
}

/** Traffic as an operator reads it: `web--a=90(blue), web--b=10`. */
export function describeTraffic(traffic: TrafficEntry[]): string {
  return traffic.map((t) => `${t.revisionName}=${t.weight}${t.label ? `(${t.label})` : ''}`).join(', ');
}

/**
 * Problems against the app's revisions: every entry names a known revision, and a revision that gets weight
 * is active. A 0% entry may name an inactive revision: ACA keeps such entries after a deactivation, and a
 * snapshot holding one must restore exactly.
 */
export function trafficProblems(
  entries: TrafficEntry[],
  revisions: Pick<RevisionInfo, 'name' | 'active'>[],
): string[] {
  const problems = trafficShapeProblems(entries);
  const byName = new Map(revisions.map((r) => [r.name, r]));
  entries.forEach((t, i) => {
    const rev = byName.get(t.revisionName);
    if (!t.revisionName) return;
    if (!rev) problems.push(`traffic[${i}]: revision '${t.revisionName}' does not exist`);
    else if (!rev.active && t.weight > 0) {
      problems.push(
        `traffic[${i}]: revision '${t.revisionName}' is inactive and cannot take ${t.weight}%; activate it first`,
      );
    }
  });
  return problems;
}

function entryKey(t: TrafficEntry): string {
  return `${t.revisionName}\u0000${t.weight}\u0000${t.label ?? ''}`;
}

/** Same entries regardless of order. */
export function sameTraffic(a: TrafficEntry[], b: TrafficEntry[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(entryKey).sort();
  const y = b.map(entryKey).sort();
  return x.every((k, i) => k === y[i]);
}
