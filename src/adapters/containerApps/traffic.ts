// ARM's traffic shape on the wire and ours: the conversion both ways (the rules are in domain/rollout/traffic).
import type { TrafficWeight } from '@azure/arm-appcontainers';
import type { TrafficEntry } from '../../domain/ports/containerApps';

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
