import { createHmac } from 'node:crypto';
import type { NotificationEvent } from './events';
import { byteLength, clip, type Fitted } from './fit';
import type { NotificationView } from './view';

/** A generic receiver's body limit is unknown; 64 KB passes every common gateway and function host. */
export const webhookMaxBytes = 64 * 1024;
export const cloudEventTypePrefix = 'io.greenlight.rollout.';
export const cloudEventContentType = 'application/cloudevents+json; charset=utf-8';

/** A CloudEvents 1.0 event in structured JSON mode. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  /** Extension attribute: info, good, warning, danger or critical. */
  severity: string;
  data: Record<string, unknown>;
}

/**
 * The event as CloudEvents: `type` names the kind (`io.greenlight.rollout.waitingApproval`), `source` the
 * app, `subject` the rollout; `data` holds the event's own fields plus the title and summary people read.
 */
export function cloudEvent(event: NotificationEvent, view: NotificationView): CloudEvent {
  const { id: _id, at: _at, ...fields } = event;
  return {
    specversion: '1.0',
    id: messageId(event),
    source: `/greenlight/apps/${encodeURIComponent(event.app)}`,
    type: `${cloudEventTypePrefix}${event.kind}`,
    subject: event.rolloutId,
    time: event.at,
    datacontenttype: 'application/json',
    severity: view.severity,
    data: { ...fields, title: view.title, summary: view.summary },
  };
}

/**
 * Unique per app (the CloudEvents source) and the same on every retry: receivers deduplicate on it, as the
 * Standard Webhooks `webhook-id` header.
 */
export function messageId(event: Pick<NotificationEvent, 'rolloutId' | 'id'>): string {
  return `${event.rolloutId}/${event.id}`;
}

/** The CloudEvent as JSON within the limit: long strings are clipped, then long lists keep their newest items. */
export function formatCloudEvent(event: NotificationEvent, view: NotificationView): Fitted<CloudEvent> {
  const full = cloudEvent(event, view);
  let body = JSON.stringify(full);
  if (byteLength(body) <= webhookMaxBytes) return { payload: full, body, truncated: false };
  for (const [maxString, maxItems] of [
    [2000, 100],
    [500, 20],
    [200, 5],
  ] as const) {
    const data = shrink(full.data, maxString, maxItems) as Record<string, unknown>;
    const payload = { ...full, data: { ...data, truncated: true } };
    body = JSON.stringify(payload);
    if (byteLength(body) <= webhookMaxBytes) return { payload, body, truncated: true };
  }
  throw new Error(`the CloudEvent does not fit in ${webhookMaxBytes} bytes even shrunk`);
}

function shrink(value: unknown, maxString: number, maxItems: number): unknown {
  if (typeof value === 'string') return clip(value, maxString);
  if (Array.isArray(value)) return value.slice(-maxItems).map((v) => shrink(v, maxString, maxItems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrink(v, maxString, maxItems)]));
  }
  return value;
}

/**
 * Standard Webhooks signing (standardwebhooks.com), so receivers can verify with its libraries in any
 * language: `webhook-signature: v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>`, where the key
 * is the secret's base64 after an optional `whsec_` prefix and the timestamp is Unix seconds. The id and
 * timestamp are signed with the body, so a captured request cannot be replayed under another id or later
 * than the receiver's tolerance (5 minutes in the libraries).
 */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const key = webhookKey(secret);
  if (!key) throw new Error('the signing secret must be base64, optionally prefixed with whsec_');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}

/** The HMAC key of a `whsec_...` or plain base64 secret; undefined when it is not base64 or too short. */
export function webhookKey(secret: string): Buffer | undefined {
  const text = secret.trim().replace(/^whsec_/, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length >= 16 ? key : undefined;
}
