import { errorMessage } from '../errors';
import type { DeliveryOutcome, NotifyPorts, WebhookResponse } from '../ports/notify';
import { channelWants, type NotificationChannel } from './channels';
import { signWebhook, webhookKey } from './cloudEvent';
import type { NotificationEvent } from './events';
import { formatFor, type FormattedMessage } from './format';

export interface DeliveryInput {
  event: NotificationEvent;
  channel: NotificationChannel;
  /** Everything (rate-limit waits, attempts, backoff) ends within this; default 30 s. */
  budgetMs?: number;
}

export const deliveryDefaults = {
  budgetMs: 30_000,
  /** One attempt waits at most this long for an answer. */
  attemptTimeoutMs: 10_000,
  /** A try needs at least this much budget left to be worth starting. */
  minAttemptMs: 250,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  /** How long a delivery is remembered against replays (longer than any rollout). */
  keepMs: 7 * 24 * 3_600_000,
} as const;

/** The idempotency key of one notification on one channel (the ledger adds its own prefix). */
export function deliveryKey(
  event: Pick<NotificationEvent, 'rolloutId' | 'id'>,
  channel: { name: string },
): string {
  return `${event.rolloutId}:${event.id}:${channel.name}`;
}

/**
 * Delivers one event to one channel and says what happened; never throws, so a channel that is down is a
 * `failed` outcome in the rollout's status, not a failed rollout. Bounded: it returns within `budgetMs`
 * (plus the ledger's round trips). Retries network errors, 408, 429 and 5xx with exponential backoff and
 * full jitter, waiting what `Retry-After` asks when it fits the budget; other answers fail at once. A
 * delivery recorded by an earlier run of the same (rollout, event, channel) is returned, not sent again.
 */
export async function deliverNotification(
  ports: NotifyPorts,
  input: DeliveryInput,
): Promise<DeliveryOutcome> {
  const { channel } = input;
  const dashboard = input.event.links?.dashboard ?? ports.dashboardLink?.(input.event);
  const event: NotificationEvent = dashboard
    ? { ...input.event, links: { ...input.event.links, dashboard } }
    : input.event;
  const { clock } = ports;
  const started = clock.now();
  const budgetMs = input.budgetMs ?? deliveryDefaults.budgetMs;
  const deadline = started + budgetMs;
  const secrets: string[] = [];
  let truncated = false;
  const finish = (
    o: Pick<DeliveryOutcome, 'status' | 'attempts'> & Partial<DeliveryOutcome>,
  ): DeliveryOutcome => {
    const outcome: DeliveryOutcome = {
      channel: channel.name,
      kind: channel.kind,
      eventId: event.id,
      event: event.kind,
      truncated,
      ...o,
      ...(o.reason !== undefined ? { reason: redact(o.reason, secrets) } : {}),
      durationMs: Math.max(0, clock.now() - started),
      at: new Date(clock.now()).toISOString(),
    };
    ports.log?.(logLine(event, outcome));
    return outcome;
  };

  const target = readTarget(ports, channel);
  if (!target.ok) return finish({ status: 'failed', attempts: 0, reason: target.reason });
  secrets.push(...target.secrets);

  let message: FormattedMessage;
  try {
    message = formatFor(channel, event);
    truncated = message.truncated;
  } catch (e) {
    return finish({ status: 'failed', attempts: 0, reason: `cannot format the message: ${errorMessage(e)}` });
  }

  const key = deliveryKey(event, channel);
  let ledgerNote: string | undefined;
  try {
    const claim = await ports.ledger.claim(key, budgetMs + 10_000);
    if (claim.state === 'delivered') {
      const outcome = { ...claim.outcome, replayed: true };
      ports.log?.(logLine(event, outcome));
      return outcome;
    }
    if (claim.state === 'inFlight') {
      return finish({
        status: 'skipped',
        attempts: 0,
        reason: 'another run is delivering this notification now',
      });
    }
  } catch (e) {
    // Losing a notification (a failed rollback!) is worse than a rare duplicate: send anyway, and say so.
    ledgerNote = `sent without an idempotency record (${redact(errorMessage(e), secrets)})`;
  }

  const result = await attempts(ports, channel, target, message, deadline);
  if (result.delivered) {
    const outcome = finish({
      status: 'delivered',
      attempts: result.attempts,
      httpStatus: result.httpStatus,
      ...(ledgerNote ? { reason: ledgerNote } : {}),
    });
    if (!ledgerNote) {
      await ports.ledger.delivered(key, outcome, deliveryDefaults.keepMs).catch((e: unknown) => {
        ports.log?.(
          `notification ${event.kind} ${channel.name}: could not record the delivery (${redact(errorMessage(e), secrets)})`,
        );
      });
    }
    return outcome;
  }
  if (!ledgerNote) await ports.ledger.release(key).catch(() => undefined);
  return finish({
    status: 'failed',
    attempts: result.attempts,
    reason: result.reason,
    ...(result.httpStatus !== undefined ? { httpStatus: result.httpStatus } : {}),
  });
}

/** Delivers the event to every channel that asked for its kind, in parallel; one outcome per channel. */
export async function deliverToChannels(
  ports: NotifyPorts,
  event: NotificationEvent,
  channels: NotificationChannel[],
  budgetMs?: number,
): Promise<DeliveryOutcome[]> {
  const wanted = channels.filter((c) => channelWants(c, event.kind));
  return Promise.all(
    wanted.map((channel) =>
      deliverNotification(ports, { event, channel, ...(budgetMs ? { budgetMs } : {}) }),
    ),
  );
}

type Target = { ok: true; url: string; secret?: string; secrets: string[] } | { ok: false; reason: string };

function readTarget(ports: NotifyPorts, channel: NotificationChannel): Target {
  const url = ports.settings.get(channel.urlSetting)?.trim();
  if (!url) {
    return {
      ok: false,
      reason: `app setting ${channel.urlSetting} is not set: set it to the ${channel.kind} webhook URL (a Key Vault reference in Azure)`,
    };
  }
  const secrets = secretParts(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: `app setting ${channel.urlSetting} does not hold a URL` };
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
    return {
      ok: false,
      reason: `app setting ${channel.urlSetting} must hold an https URL (http only to 127.0.0.1 or localhost)`,
    };
  }
  if (channel.kind !== 'webhook') return { ok: true, url, secrets };
  const secretSetting = channel.secretSetting ?? '';
  const secret = ports.settings.get(secretSetting)?.trim();
  if (!secret) {
    return { ok: false, reason: `app setting ${secretSetting} (the signing secret) is not set` };
  }
  secrets.push(secret, secret.replace(/^whsec_/, ''));
  if (!webhookKey(secret)) {
    return {
      ok: false,
      reason: `app setting ${secretSetting} must hold whsec_ followed by base64 of at least 16 bytes (e.g. whsec_$(openssl rand -base64 32))`,
    };
  }
  return { ok: true, url, secret, secrets };
}

type AttemptResult =
  | { delivered: true; attempts: number; httpStatus: number }
  | { delivered: false; attempts: number; reason: string; httpStatus?: number };

async function attempts(
  ports: NotifyPorts,
  channel: NotificationChannel,
  target: Extract<Target, { ok: true }>,
  message: FormattedMessage,
  deadline: number,
): Promise<AttemptResult> {
  const { clock } = ports;
  const d = deliveryDefaults;
  let count = 0;
  let httpStatus: number | undefined;
  let reason = 'the delivery budget was spent before the first try';
  for (;;) {
    const left = deadline - clock.now();
    if (left < d.minAttemptMs) return { delivered: false, attempts: count, reason, httpStatus };
    if (!(await ports.rateLimiter.acquire(channel.name, channel.ratePerSecond, left - d.minAttemptMs))) {
      return {
        delivered: false,
        attempts: count,
        reason: `${count > 0 ? `${reason}; then ` : ''}no rate-limit slot (${channel.ratePerSecond}/s) freed up within the delivery budget`,
        httpStatus,
      };
    }
    count++;
    const headers: Record<string, string> = {
      'content-type': message.contentType,
      'user-agent': 'Greenlight-Notifications',
    };
    if (target.secret !== undefined) {
      Object.assign(
        headers,
        signWebhook(target.secret, message.messageId, Math.floor(clock.now() / 1000), message.body),
      );
    }
    let response: WebhookResponse | undefined;
    try {
      response = await ports.poster.post({
        url: target.url,
        headers,
        body: message.body,
        timeoutMs: Math.max(1, Math.min(d.attemptTimeoutMs, deadline - clock.now())),
      });
    } catch (e) {
      reason = `no answer (${redact(networkReason(e), target.secrets)})`;
    }
    let delay = backoff(count, clock.random());
    if (response) {
      httpStatus = response.status;
      if (response.status >= 200 && response.status < 300) {
        return { delivered: true, attempts: count, httpStatus: response.status };
      }
      const text = oneLine(redact(response.bodyPrefix, target.secrets)).trim();
      const detail = text ? `: ${text.slice(0, 200)}` : '';
      reason = `HTTP ${response.status}${detail}`;
      const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
      if (!retryable) return { delivered: false, attempts: count, reason, httpStatus };
      const asked = retryAfterMs(response.retryAfter, clock.now());
      if (asked !== undefined) delay = asked;
      // Teams counts requests per second: without Retry-After, a 429 waits for the next window at least.
      else if (response.status === 429) delay = Math.max(delay, 1000);
    }
    if (clock.now() + delay > deadline - d.minAttemptMs) {
      return {
        delivered: false,
        attempts: count,
        reason: `${reason}; gave up after ${count} attempt(s): the next try (in ${Math.ceil(delay / 1000)} s) would pass the delivery budget`,
        httpStatus,
      };
    }
    await clock.sleep(delay);
  }
}

/** Full-jitter exponential backoff: random in [100 ms, min(max, base * 2^(n-1))]. */
function backoff(attempt: number, random: number): number {
  const cap = Math.min(deliveryDefaults.maxDelayMs, deliveryDefaults.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(100, Math.round(random * cap));
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds from now. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The kind of network failure, from the error's code: messages may carry the host or URL. */
function networkReason(e: unknown): string {
  const err = e as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timed out';
  const code = err?.cause?.code ?? err?.code ?? err?.cause?.name ?? err?.name;
  return typeof code === 'string' ? code : 'network error';
}

/** Pieces of a webhook URL that carry its secret: the whole URL, its path and its query. */
function secretParts(url: string): string[] {
  const parts = [url];
  try {
    const u = new URL(url);
    if (u.pathname.length > 1) parts.push(u.pathname);
    if (u.search.length > 1) parts.push(u.search.slice(1));
    for (const value of u.searchParams.values()) if (value.length >= 8) parts.push(value);
  } catch {
    // not a URL: the whole text is the secret
  }
  return parts;
}

/**
 * Replaces every secret (and the start of one cut off at the end of a clipped text) with `***`. Runs
 * before any clipping of its own, so a secret is never left half-shown.
 */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  const usable = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const s of usable) out = out.split(s).join('***');
  for (const s of usable) {
    for (let n = Math.min(s.length - 1, out.length); n >= 4; n--) {
      if (out.endsWith(s.slice(0, n))) {
        out = `${out.slice(0, out.length - n)}***`;
        break;
      }
    }
  }
  return out;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

function logLine(event: NotificationEvent, o: DeliveryOutcome): string {
  const what = `notification ${event.kind} of rollout ${event.rolloutId} to ${o.channel}`;
  if (o.replayed) return `${what}: already delivered, not sent again`;
  return `${what}: ${o.status} after ${o.attempts} attempt(s) in ${o.durationMs} ms${o.reason ? ` (${o.reason})` : ''}`;
}
