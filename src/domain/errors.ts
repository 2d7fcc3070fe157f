/**
 * Typed errors. Activity errors cross the durable boundary as plain `Error(message)`, so every
 * message starts with its code in brackets (`[ArmConflict] ...`) and `errorCode(e)` reads it back;
 * never rely on `instanceof` across an activity.
 */
export type GreenlightErrorCode =
  | 'InvalidConfiguration'
  | 'InvalidPolicy'
  | 'InvalidRequest'
  | 'NotFound'
  | 'Conflict'
  | 'InvalidTraffic'
  | 'ArmError'
  | 'ArmThrottled'
  | 'ArmUnavailable'
  | 'RevisionFailed'
  | 'Timeout'
  | 'ApprovalTokenInvalid'
  | 'ControlPlaneConflict'
  | 'ProviderUnavailable'
  | 'StaleEpoch'
  | 'NonDeterminism'
  | 'Internal';

export class GreenlightError extends Error {
  override readonly name = 'GreenlightError';
  constructor(
    readonly code: GreenlightErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(`[${code}] ${message}`, options);
  }
}

/** Type guard by name, as the Azure SDK's `isRestError` does: works across module copies. */
export function isGreenlightError(e: unknown): e is GreenlightError {
  return e instanceof Error && e.name === 'GreenlightError' && 'code' in e;
}

const codePattern = /^\[([A-Za-z]+)\]/;

/** The code of an error, including one rebuilt from a message after crossing the durable boundary. */
export function errorCode(e: unknown): GreenlightErrorCode | undefined {
  if (isGreenlightError(e)) return e.code;
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  // Durable wraps failed activities as "<reason> \n <details>": the code is on the first line.
  const m = codePattern.exec(message.trimStart());
  return m ? (m[1] as GreenlightErrorCode) : undefined;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : JSON.stringify(e);
}
