import { isRestError, type RestError } from '@azure/arm-appcontainers';
import { GreenlightError, type GreenlightErrorCode, isGreenlightError } from '../../domain/errors';
import type { GateProviderKind } from '../../domain/gates/types';
import { isDeadlineExceeded } from './sdk';

/** Who was asked what, and what an operator can do about refusals, for actionable messages. */
export interface ProviderCall {
  provider: GateProviderKind;
  /** The service, e.g. `Log Analytics` or `Prometheus at https://...`. */
  service: string;
  /** What was asked, e.g. `the gate's query on workspace 'abc'`. */
  what: string;
  /** How to fix a 401/403. */
  authHint: string;
  /** How to fix a 404. */
  notFoundHint?: string;
}

/** Network failures, throttling and 5xx answers: transient, worth retrying, and not the caller's mistake. */
export const unavailableCode: GreenlightErrorCode = 'ProviderUnavailable';

/** A service's answer, flattened and cut short for an error message. */
export function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat || 'empty answer';
}

/** The message and its inner errors' messages (Log Analytics puts the useful text in `innererror`). */
function serviceMessage(e: RestError): string {
  const messages = [e.message];
  let inner: unknown = (e.details as { error?: unknown } | undefined)?.error;
  for (let depth = 0; depth < 5 && inner && typeof inner === 'object'; depth++) {
    const { message, innererror } = inner as { message?: unknown; innererror?: unknown };
    if (typeof message === 'string' && message !== '' && !messages.some((m) => m.includes(message))) {
      messages.push(message);
    }
    inner = innererror;
  }
  return messages.join(': ');
}

/** A typed error for a service's answer (`status` undefined: no answer at all). */
export function providerError(
  call: ProviderCall,
  status: number | undefined,
  serviceCode: string | undefined,
  message: string,
  cause?: unknown,
): GreenlightError {
  const said = `(${[status, serviceCode].filter((x) => x !== undefined && x !== '').join(' ') || 'no answer'}): ${message}`;
  const details = { provider: call.provider, status, serviceCode, serviceMessage: message };
  const options = cause === undefined ? undefined : { cause };
  if (status === 401 || status === 403) {
    return new GreenlightError(
      'InvalidConfiguration',
      `${call.service} refused ${call.what} ${said}. ${call.authHint}`,
      details,
      options,
    );
  }
  if (status === 404) {
    return new GreenlightError(
      'NotFound',
      `${call.service} found nothing for ${call.what} ${said}${call.notFoundHint ? `. ${call.notFoundHint}` : ''}`,
      details,
      options,
    );
  }
  if (status === undefined || status === 408 || status === 429 || status >= 500) {
    return new GreenlightError(
      unavailableCode,
      `${call.service} unavailable for ${call.what} ${said}`,
      details,
      options,
    );
  }
  return new GreenlightError(
    'InvalidRequest',
    `${call.service} rejected ${call.what} ${said}`,
    details,
    options,
  );
}

export function timeoutError(call: ProviderCall, timeoutMs: number, cause?: unknown): GreenlightError {
  return new GreenlightError(
    'Timeout',
    `${call.service} did not answer ${call.what} within ${timeoutMs} ms`,
    { provider: call.provider, timeoutMs },
    cause === undefined ? undefined : { cause },
  );
}

/** Any failure of an SDK call as a typed error; typed errors pass through. */
export function toProviderError(e: unknown, call: ProviderCall): GreenlightError {
  if (isGreenlightError(e)) return e;
  if (isDeadlineExceeded(e)) return timeoutError(call, e.timeoutMs, e);
  if (isRestError(e)) return providerError(call, e.statusCode, e.code, serviceMessage(e), e);
  const message = e instanceof Error ? e.message : String(e);
  return providerError(
    call,
    undefined,
    e instanceof Error ? (e as { code?: string }).code : undefined,
    message,
    e,
  );
}
