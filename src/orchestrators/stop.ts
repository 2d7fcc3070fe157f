import { errorMessage } from '../domain/errors';

/** Thrown inside the orchestrator to stop the forward path; caught once and turned into a rollback. */
export class StopRollout extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Why the forward path stopped: the reason given, or the failed step's error. */
export function stopReason(e: unknown): string {
  return e instanceof StopRollout ? e.reason : `step failed: ${firstLine(errorMessage(e))}`;
}

export function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? s;
}
