import { createHash } from 'node:crypto';
import { imageFromParts, type ParsedImage } from './image';

/** An ACR push, from either Event Grid schema or CloudEvents 1.0. */
export interface ImagePush {
  /** Absent when the event has none: such pushes are deduplicated by content, briefly (`pushKey`). */
  eventId?: string;
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
  const eventId = str(e.id);
  const id = eventId ?? '(no id)';
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
      ...(eventId !== undefined ? { eventId } : {}),
      ...optional('eventTime', str(e.eventTime) ?? str(e.time)),
      registry: host.toLowerCase(),
      repository,
      ...optional('tag', str(target?.tag)),
      ...optional('digest', str(target?.digest)),
    },
  };
}

/** `/subscriptions/.../registries/myacr` → `myacr.azurecr.io` */
function registryFromResourceId(id: string | undefined): string | undefined {
  const m = id ? /\/registries\/([^/]+)$/i.exec(id) : null;
  return m?.[1] ? `${m[1].toLowerCase()}.azurecr.io` : undefined;
}

function optional<K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
}

/** The image a push names, parsed once into the value the rollout request carries. */
export function pushedImage(push: ImagePush): ParsedImage {
  return imageFromParts(push);
}

/** How long an event without an id is remembered by its content: a retried delivery, not a later push. */
export const idlessEventWindowSeconds = 10 * 60;

/**
 * The key a delivery is remembered by: its id, or, for an event without one, its content (registry,
 * repository, tag, digest, time), so only a redelivery of the same push is a duplicate.
 */
export function pushKey(push: ImagePush): { key: string; ttlSeconds?: number } {
  if (push.eventId !== undefined) return { key: push.eventId };
  const content = [push.registry, push.repository, push.tag ?? '', push.digest ?? '', push.eventTime ?? ''];
  const hash = createHash('sha256').update(content.join('|')).digest('hex').slice(0, 32);
  return { key: `content:${hash}`, ttlSeconds: idlessEventWindowSeconds };
}
