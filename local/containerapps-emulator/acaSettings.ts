import { badRequest } from './armError';
import type { WireConfiguration, WireTemplate, WireTrafficWeight } from './wire';

/**
 * Container Apps settings that change how a blue-green behaves, as the ACA documentation describes them:
 * - revision modes Single, Multiple and Labels; Labels needs `targetLabel`, the label a new revision gets,
 *   and shuts down revisions no label or weight refers to (learn.microsoft.com: deployment labels);
 * - session affinity (`ingress.stickySessions.affinity`: sticky | none), supported only in Single revision
 *   mode with HTTP ingress (learn.microsoft.com: sticky sessions). The documentation does not say that ARM
 *   refuses it otherwise, so the emulator accepts it and reports whether it is in effect;
 * - `minReplicas: 0`: a revision with no request for `scale.cooldownPeriod` seconds (default 300) has no
 *   replica, and the next request waits for a cold start;
 * - internal ingress (`external: false`): reachable only from inside the environment;
 * - `maxInactiveRevisions` (default 100): beyond it, the oldest inactive revisions are dropped.
 */
export type RevisionsMode = 'Single' | 'Multiple' | 'Labels';

export const defaultMaxInactiveRevisions = 100;
export const defaultCooldownSeconds = 300;
/**
 * Header a caller inside the environment sends to reach an internal app (Azure resolves the internal
 * FQDN only inside the environment's network; the emulator has one network, so the header stands in).
 */
export const inEnvironmentHeader = 'x-emulator-in-environment';

/**
 * The environment's default domain in the emulator. On ACA an app's ingress FQDN is
 * `<app>.<domain>` (internal: `<app>.internal.<domain>`), a revision's `<app>--<suffix>.<domain>` and a
 * label's `<app>---<label>.<domain>` (learn.microsoft.com: revisions, deployment labels). The emulator has
 * no DNS: names under this domain are reached through its environment gateway (see `gatewayTarget`).
 */
export const defaultEnvironmentDomain = 'greenlight-env.westeurope.azurecontainerapps.localhost';

/** What a host name under the environment domain names: the app, one of its revisions, or a label. */
export interface EnvironmentHost {
  app: string;
  internal: boolean;
  revision?: string;
  label?: string;
}

/** Reads `<app>[---<label>|--<suffix>][.internal].<domain>`; undefined for a name outside the domain. */
export function parseEnvironmentHost(host: string, domain: string): EnvironmentHost | undefined {
  const h = host.toLowerCase();
  const tail = `.${domain.toLowerCase()}`;
  if (!h.endsWith(tail)) return undefined;
  let name = h.slice(0, -tail.length);
  const internal = name.endsWith('.internal');
  if (internal) name = name.slice(0, -'.internal'.length);
  if (name === '' || name.includes('.')) return undefined;
  const labelAt = name.indexOf('---');
  if (labelAt > 0) return { app: name.slice(0, labelAt), internal, label: name.slice(labelAt + 3) };
  const revAt = name.indexOf('--');
  if (revAt > 0) return { app: name.slice(0, revAt), internal, revision: name };
  return { app: name, internal };
}

/** The FQDN of `name` (an app, `<app>--<suffix>` or `<app>---<label>`) for an app internal or not. */
export function environmentFqdn(name: string, internal: boolean, domain: string): string {
  return `${name}${internal ? '.internal' : ''}.${domain}`;
}

export function checkRevisionsMode(mode: string | undefined): RevisionsMode {
  const m = (mode ?? 'Single').toLowerCase();
  if (m === 'single') return 'Single';
  if (m === 'multiple') return 'Multiple';
  if (m === 'labels') return 'Labels';
  throw badRequest(
    'ContainerAppInvalidActiveRevisionsMode',
    `activeRevisionsMode must be 'Single', 'Multiple' or 'Labels'; got '${mode}'.`,
  );
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function targetLabelOf(configuration: WireConfiguration | undefined): string | undefined {
  const v = record(configuration)?.targetLabel;
  return typeof v === 'string' ? v : undefined;
}

export function affinityOf(configuration: WireConfiguration | undefined): string | undefined {
  const v = record(record(configuration?.ingress)?.stickySessions)?.affinity;
  return typeof v === 'string' ? v : undefined;
}

export function maxInactiveOf(configuration: WireConfiguration | undefined): number {
  const v = record(configuration)?.maxInactiveRevisions;
  return typeof v === 'number' ? v : defaultMaxInactiveRevisions;
}

/** Checks the settings above in a write's configuration; throws ARM's 400 naming the property. */
export function checkConfiguration(configuration: WireConfiguration | undefined, mode: RevisionsMode): void {
  const affinity = affinityOf(configuration);
  const sticky = record(configuration?.ingress)?.stickySessions;
  if (
    sticky !== undefined &&
    (affinity === undefined || !['sticky', 'none'].includes(affinity.toLowerCase()))
  ) {
    throw badRequest(
      'ContainerAppInvalidStickySessions',
      `properties.configuration.ingress.stickySessions.affinity must be 'sticky' or 'none'; got '${String(affinity)}'.`,
    );
  }
  const max = record(configuration)?.maxInactiveRevisions;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0)) {
    throw badRequest(
      'ContainerAppInvalidMaxInactiveRevisions',
      `properties.configuration.maxInactiveRevisions must be a whole number of at least 0; got ${JSON.stringify(max)}.`,
    );
  }
  if (mode === 'Labels' && !targetLabelOf(configuration)) {
    throw badRequest(
      'ContainerAppTargetLabelRequired',
      'properties.configuration.targetLabel is required in Labels revision mode: the label a new revision is given.',
    );
  }
}

/** Whether session affinity takes effect: Single revision mode and HTTP ingress only. */
export function affinityInEffect(configuration: WireConfiguration | undefined, mode: RevisionsMode): boolean {
  return (
    affinityOf(configuration)?.toLowerCase() === 'sticky' &&
    mode === 'Single' &&
    (configuration?.ingress?.transport ?? 'auto').toLowerCase() !== 'tcp'
  );
}

/** Labels mode: the target label moves to the new revision (a 0% entry when the label had none). */
export function withTargetLabel(
  traffic: WireTrafficWeight[],
  label: string,
  revisionName: string,
): WireTrafficWeight[] {
  const out = traffic.map((t) => ({ ...t }));
  const entry = out.find((t) => t.label === label);
  if (entry) {
    delete entry.latestRevision;
    entry.revisionName = revisionName;
    return out;
  }
  return [...out, { revisionName, weight: 0, label }];
}

/** A template whose revisions scale to zero: minReplicas set to 0 (ACA's default when unset; see README). */
export function scalesToZero(template: WireTemplate): boolean {
  return template.scale?.minReplicas === 0;
}

export function cooldownMs(template: WireTemplate): number {
  const v = record(template.scale)?.cooldownPeriod;
  return (typeof v === 'number' ? v : defaultCooldownSeconds) * 1000;
}

/** The inactive revisions ACA drops beyond the limit: the oldest first, never one traffic still names. */
export function inactiveToDrop<R extends { name: string; active: boolean; createdAt: number }>(
  revisions: R[],
  limit: number,
  referenced: Set<string>,
): R[] {
  const inactive = revisions.filter((r) => !r.active).sort((a, b) => a.createdAt - b.createdAt);
  const over = inactive.length - limit;
  return over > 0 ? inactive.filter((r) => !referenced.has(r.name)).slice(0, over) : [];
}
