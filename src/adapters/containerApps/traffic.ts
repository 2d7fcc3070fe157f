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

/** `properties.configuration.targetLabel` of an app's raw JSON (Labels revision mode), if it has one. */
export function targetLabelOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const v = (JSON.parse(body) as { properties?: { configuration?: { targetLabel?: unknown } } }).properties
      ?.configuration?.targetLabel;
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    return undefined;
  }
}
