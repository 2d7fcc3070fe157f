/** An ACR push, from either Event Grid schema or CloudEvents 1.0. */
export interface ImagePush {
  eventId: string;
  eventTime?: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export type ParsedPush = { kind: 'push'; push: ImagePush } | { kind: 'ignored'; reason: string };

const pushType = 'Microsoft.ContainerRegistry.ImagePushed';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Reads an ImagePushed event. Anything else is `ignored` with a reason a person can act on; it is never
 * an error, because Event Grid would retry an error until it dead-letters.
 */
export function parseImagePushed(event: unknown): ParsedPush {
  const e = obj(event);
  if (!e) return { kind: 'ignored', reason: 'event is not a JSON object' };
  const type = str(e.eventType) ?? str(e.type);
  const id = str(e.id) ?? '(no id)';
  if (type !== pushType)
    return { kind: 'ignored', reason: `event ${id} has type '${type ?? 'none'}', not ${pushType}` };
  const data = obj(e.data);
  const target = obj(data?.target);
  const repository = str(target?.repository);
  if (!repository) return { kind: 'ignored', reason: `event ${id}: data.target.repository is missing` };
  const request = obj(data?.request);
  // The registry host is in the request; the topic/source (registry resource id) is the fallback.
  const host = str(request?.host) ?? registryFromResourceId(str(e.topic) ?? str(e.source));
  if (!host)
    return { kind: 'ignored', reason: `event ${id}: no registry host in data.request.host or topic` };
  return {
    kind: 'push',
    push: {
      eventId: id,
      eventTime: str(e.eventTime) ?? str(e.time),
      registry: host.toLowerCase(),
      repository,
      tag: str(target?.tag),
      digest: str(target?.digest),
    },
  };
}

/** `/subscriptions/.../registries/myacr` → `myacr.azurecr.io` */
function registryFromResourceId(id: string | undefined): string | undefined {
  const m = id ? /\/registries\/([^/]+)$/i.exec(id) : null;
  return m?.[1] ? `${m[1].toLowerCase()}.azurecr.io` : undefined;
}
