import type { TrafficWeight } from '@azure/arm-appcontainers';
import { trafficShapeProblems } from '../../domain/rollout/traffic';
import type { RevisionInfo, TrafficEntry } from '../../domain/ports/containerApps';

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
