import { isRestError } from '@azure/arm-appcontainers';
import { GreenlightError, isGreenlightError } from '../../domain/errors';
import type { AppRef } from '../../domain/ports/containerApps';
import { retryAfterNote } from '../../domain/retryAfter';
import { retryAfterMs } from './pacing';

/** What was being done, for messages: `PATCH app 'web'`. */
export interface ArmCall {
  verb: string;
  what: string;
  app: AppRef;
}

const lroFailure = /^The long-running operation has failed\.?\s*(?:([^.\s]+)\.\s*)?([\s\S]*)$/;

/**
 * Turns an SDK failure into a typed error that says what ARM said: NotFound (404), ArmThrottled (429 after
 * the client's retries), ArmUnavailable (5xx or connection errors after retries), ArmError (any other
 * refusal, with ARM's code, message and status in the message and in `details`).
 */
export function toGreenlightError(e: unknown, call: ArmCall): GreenlightError {
  if (isGreenlightError(e)) return e;
  const operation = `${call.verb} ${call.what}`;
  const base = { operation, subscriptionId: call.app.subscriptionId, resourceGroup: call.app.resourceGroup };
  if (isRestError(e)) {
    const status = e.statusCode;
    const armCode = e.code;
    const armMessage = e.message;
    const details = { ...base, status, armCode, armMessage };
    // What ARM asked to wait travels in the message: only the message crosses the durable boundary.
    const asked = e.response ? retryAfterMs(e.response) : undefined;
    const said = `(${[status, armCode].filter((x) => x !== undefined).join(' ')}): ${armMessage}${asked !== undefined ? ` ${retryAfterNote(asked)}` : ''}`;
    if (status === 404) {
      return new GreenlightError(
        'NotFound',
        `${call.what} not found in resource group '${call.app.resourceGroup}' ${said}`,
        details,
        { cause: e },
      );
    }
    if (status === 429) {
      return new GreenlightError(
        'ArmThrottled',
        `ARM kept throttling ${operation} after retries ${said}`,
        details,
        {
          cause: e,
        },
      );
    }
    if (status === undefined || status >= 500 || status === 408) {
      return new GreenlightError(
        'ArmUnavailable',
        `ARM unavailable for ${operation} after retries ${said}`,
        details,
        {
          cause: e,
        },
      );
    }
    return new GreenlightError('ArmError', `ARM rejected ${operation} ${said}`, details, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  const m = lroFailure.exec(message);
  if (m) {
    const armCode = m[1];
    const armMessage = m[2]?.trim() ?? '';
    return new GreenlightError(
      'ArmError',
      `ARM operation ${operation} failed${armCode ? ` (${armCode})` : ''}: ${armMessage || 'no details'}`,
      { ...base, armCode, armMessage },
      { cause: e },
    );
  }
  return new GreenlightError('Internal', `${operation} failed: ${message}`, base, { cause: e });
}
