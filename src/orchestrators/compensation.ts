import type { Task } from 'durable-functions';
import { errorCode, errorMessage, type GreenlightErrorCode } from '../domain/errors';
import { retryAfterIn } from '../domain/retryAfter';
import type { RolloutRun } from './run';
import type { Undo, UndoRunner } from './saga';
import { recordAudit, nextAuditNumber } from './audit';
import { firstLine } from './stop';

/** How long and how often the undos of a rollback are retried. */
export interface CompensationPolicy {
  /** From the start of the rollback: after this, an undo that still fails is left to do. */
  retryForMs: number;
  firstIntervalMs: number;
  maxIntervalMs: number;
}

export const defaultCompensation: CompensationPolicy = {
  retryForMs: 3_600_000,
  firstIntervalMs: 5_000,
  maxIntervalMs: 300_000,
};

/** Errors that waiting cannot fix: the undo itself is wrong for what it finds, so it is not retried. */
const permanent: ReadonlySet<GreenlightErrorCode> = new Set([
  'InvalidTraffic',
  'InvalidRequest',
  'InvalidConfiguration',
  'InvalidPolicy',
]);

export function compensationPolicy(run: RolloutRun): CompensationPolicy {
  const p = run.plan.rollback;
  return p
    ? { ...defaultCompensation, retryForMs: p.retryForMs, maxIntervalMs: p.maxIntervalMs }
    : defaultCompensation;
}

/** The wait before attempt `attempt + 1`: doubling from the first interval, capped. */
export function backoffMs(policy: CompensationPolicy, attempt: number): number {
  return Math.min(policy.maxIntervalMs, policy.firstIntervalMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * How the saga runs each undo of one rollback: retried on durable timers until it succeeds or the bound
 * (`retryForMs` from the rollback's start) has passed, so a rollback outlasts an ARM incident instead of
 * giving up in a minute. The wait between attempts backs off, and is at least what the service asked for
 * (Retry-After, carried in the error's message). The rollout stays in its phase meanwhile, its status
 * naming the undo, the attempts and the next try. Past the bound, each remaining undo gets one attempt;
 * what still fails is left to do. Nothing here moves production towards green: the forward path has
 * stopped, and undos only restore.
 */
export function persistently(run: RolloutRun): UndoRunner {
  const policy = compensationPolicy(run);
  const until = run.now() + policy.retryForMs;
  return (undo) => persist(run, undo, policy, until);
}

function* persist(
  run: RolloutRun,
  undo: Undo,
  policy: CompensationPolicy,
  until: number,
): Generator<Task, void, unknown> {
  const retryUntil = new Date(until).toISOString();
  for (let attempt = 1; ; attempt++) {
    try {
      yield* undo.run();
      if (attempt > 1) run.recorder.setRollback(undefined);
      yield* recordAudit(run, { kind: 'compensation.ran', step: undoStep(run, undo), outcome: 'succeeded' });
      return;
    } catch (e) {
      const lastError = firstLine(errorMessage(e));
      const now = run.now();
      const code = errorCode(e);
      const delay = Math.max(backoffMs(policy, attempt), retryAfterIn(lastError) ?? 0);
      const waitingCannotFix = code !== undefined && permanent.has(code);
      if (waitingCannotFix || now + delay > until) {
        run.recorder.setRollback({ step: undo.what, attempts: attempt, lastError, retryUntil });
        const tried = attempt === 1 ? 'tried once' : `tried ${attempt} times`;
        yield* recordAudit(run, {
          kind: 'compensation.ran',
          step: undoStep(run, undo),
          outcome: 'failed',
          message: lastError,
        });
        throw new Error(
          waitingCannotFix
            ? `${lastError} (${tried}: not retried, waiting cannot fix ${code})`
            : `${lastError} (${tried}, retried until ${retryUntil})`,
        );
      }
      const nextRetryAt = new Date(now + delay).toISOString();
      run.recorder.setRollback({ step: undo.what, attempts: attempt, nextRetryAt, lastError, retryUntil });
      yield run.context.df.createTimer(new Date(now + delay));
    }
  }
}

/** Names one undo in the audit trail: numbered in the run, so each undo is one entry across replays. */
function undoStep(run: RolloutRun, undo: Undo): string {
  return `undo:${nextAuditNumber(run)}:${undo.what}`.slice(0, 200);
}
