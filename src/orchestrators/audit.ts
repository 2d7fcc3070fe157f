import type { Task } from 'durable-functions';
import type { RolloutAuditRecord } from '../domain/audit/builders';
import { errorMessage } from '../domain/errors';
import { stepRetry } from './retry';
import type { RolloutRun } from './run';

type Facts<R> = R extends unknown ? Omit<R, 'rolloutId' | 'app' | 'at'> : never;

/** What a step records: the kind, a step name unique within the rollout, and the kind's own facts. */
export type AuditFacts = Facts<RolloutAuditRecord>;

const counters = new WeakMap<RolloutRun, number>();

/** The next number of this run's audited writes: steps named with it are the same on every replay. */
export function nextAuditNumber(run: RolloutRun): number {
  const n = (counters.get(run) ?? 0) + 1;
  counters.set(run, n);
  return n;
}

/**
 * Appends one entry to the audit trail, stamped with the orchestration's clock (a retry writes the same
 * entry, which the trail keeps once). A trail that cannot be written is noted in the status and does not
 * stop the rollout: the write it records has already happened.
 */
export function* recordAudit(run: RolloutRun, facts: AuditFacts): Generator<Task, void, unknown> {
  const record = {
    ...facts,
    step: facts.step.slice(0, 200),
    rolloutId: run.input.rolloutId,
    app: run.app,
    at: run.context.df.currentUtcDateTime.toISOString(),
  };
  try {
    yield* run.call('appendAudit', record, stepRetry);
  } catch (e) {
    run.recorder.note(`audit entry ${facts.kind} ${record.step} not written: ${errorMessage(e)}`);
  }
}
