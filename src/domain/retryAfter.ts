/**
 * How long a service asked to wait before a retry, carried in an error's message: activity errors cross
 * the durable boundary as messages only, so the adapters write it there and the orchestrator reads it back.
 */
const note = /\(retry after (\d+) ms\)/;

/** The suffix an adapter adds to an error message when the service sent `Retry-After`. */
export function retryAfterNote(ms: number): string {
  return `(retry after ${Math.max(0, Math.round(ms))} ms)`;
}

/** The wait a message asks for, if it carries a `retryAfterNote`. */
export function retryAfterIn(message: string): number | undefined {
  const m = note.exec(message);
  return m ? Number(m[1]) : undefined;
}
