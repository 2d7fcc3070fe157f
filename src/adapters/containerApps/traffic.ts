import type { TrafficWeight } from '@azure/arm-appcontainers';
import type { RevisionInfo, TrafficEntry } from './port';

const labelPattern = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/;

/** Why `label` is not a valid ACA traffic label (it becomes part of a host name), or undefined. */
export function labelProblem(label: string): string | undefined {
  return labelPattern.test(label) && !label.includes('--')
    ? undefined
    : `label '${label}' must be lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit`;
}

/** ARM traffic with `latestRevision: true` resolved to `latestName`; labels kept, order kept. */
export function normalizeTraffic(
  raw: TrafficWeight[] | undefined,
  latestName: string | undefined,
): TrafficEntry[] {
  return (raw ?? []).map((t) => ({
    revisionName: (t.latestRevision ? latestName : t.revisionName) ?? '',
    weight: t.weight ?? 0,
    ...(t.label ? { label: t.label } : {}),
  }));
}

export function hasLatestRevisionEntry(raw: TrafficWeight[] | undefined): boolean {
  return (raw ?? []).some((t) => t.latestRevision === true);
}

export function toWireTraffic(entries: TrafficEntry[]): TrafficWeight[] {
  return entries.map((t) => ({
    revisionName: t.revisionName,
    weight: t.weight,
    ...(t.label ? { label: t.label } : {}),
  }));
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

function key(t: TrafficEntry): string {
  return `${t.revisionName}\u0000${t.weight}\u0000${t.label ?? ''}`;
}

/** Same entries regardless of order. */
export function sameTraffic(a: TrafficEntry[], b: TrafficEntry[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.map(key).sort();
  const y = b.map(key).sort();
  return x.every((k, i) => k === y[i]);
}
