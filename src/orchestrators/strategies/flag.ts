import type { Task } from 'durable-functions';
import { errorMessage } from '../../domain/errors';
import type { ControlRecord } from '../../domain/flag/control';
import { assessFlip, assessMock } from '../../domain/flag/validation';
import type { Undo } from '../saga';
import { heaviestRevision } from '../../domain/rollout/traffic';
import type { FlagActivityInput, FlagStrategyPlan } from '../../domain/rollout/types';
import { afterFinalise, beforeProductionChange } from '../changeControl';
import { notify } from '../notify';
import { pollUntil } from '../poll';
import { undoAttempt } from '../retry';
import type { RolloutRun } from '../run';
import { deactivate, deployGreen, nameGreen } from '../steps';
import { firstLine, StopRollout } from '../stop';
import { immediately, type Step, type Strategy } from './strategy';

/** First look at a flip soon after it; the backoff takes it from there. */
const flipPollMs = 1_000;

/**
 * Blue-green by runtime flag, for workloads without HTTP ingress: green validates in mock mode against the
 * temporary Redis, then one fenced flip of the control record makes it the only revision processing.
 */
export function flagStrategy(run: RolloutRun, plan: FlagStrategyPlan): Strategy {
  /** What every flag activity is given. */
  const flag: FlagActivityInput = { app: run.app, strategy: plan, rolloutId: run.input.rolloutId };
  /** The control record as the rollout found it: the rollback point of a flag rollout. */
  let snapshot: ControlRecord | undefined;
  /** The epoch the control record is at, as this rollout last set it. */
  let epoch = 0;

  /**
   * Waits until `active` holds the production lease at `atEpoch`, has written since, and nobody else
   * processes. Plain timers, not abortable waits: a flip is never left half-verified, and compensation
   * (which also verifies) must not be cut short by an abort.
   */
  function verifyFlip(active: string, atEpoch: number, what: 'flip' | 'flip back'): Step {
    return pollUntil(run.context, {
      timeoutMs: plan.flipDeadlineMs,
      intervalMs: flipPollMs,
      look: function* () {
        const check = assessFlip({ active, epoch: atEpoch }, yield* run.call('observeFlip', flag));
        run.recorder.setFlip({ name: what, ok: check.verdict === 'pass', message: check.message });
        return check.verdict === 'pass'
          ? { state: 'done', value: undefined }
          : { state: check.verdict === 'fail' ? 'failed' : 'pending', message: check.message };
      },
      pause: (ms) => timer(run, ms),
      failed: (message) => `${what} to ${active} not confirmed: ${message}`,
      timedOut: (message) =>
        `${what} to ${active} not confirmed within ${plan.flipDeadlineMs / 1000}s: ${message}`,
    });
  }

  const dropMockOutputs = (revision: string): Undo => ({
    what: `delete ${revision}'s keys on the temporary Redis`,
    run: () => run.call('dropMockOutputs', { ...flag, revision }, undoAttempt),
  });

  const strategy: Strategy = {
    *snapshot(found) {
      // The control record, not traffic, says who processes: it is the rollback point of a flag rollout.
      const candidate = found.latestReadyRevisionName ?? heaviestRevision(found.traffic);
      if (!candidate) throw new StopRollout(`app '${run.app.name}' has no ready revision to keep processing`);
      const record = yield* run.call('snapshotFlags', { ...flag, blue: candidate });
      snapshot = record;
      run.recorder.setFlags(record);
      if (!record.active) {
        throw new StopRollout(
          `the control record of '${run.app.name}' names no active revision: set one before rolling out (nothing processes production now)`,
        );
      }
      epoch = record.epoch;
      run.recorder.setBlue([record.active]);
      return record.active;
    },

    *deploy() {
      // Runs as: flags back (blue processes, green stops), then green off, then its temporary keys gone.
      const named = nameGreen(run);
      run.saga.add(dropMockOutputs(named), deactivate(run, named), strategy.restore());
      const green = yield* deployGreen(run);
      // Green starts in standby (no entry); mock mode points it at the temporary Redis only.
      const record = yield* run.call('setRevisionFlags', {
        ...flag,
        revision: green,
        mode: 'mock',
        expectEpoch: epoch,
      });
      run.recorder.setFlags(record);
      return green;
    },

    /** Looks at what green wrote to the temporary Redis until it passes, fails or runs out of time. */
    validate(green) {
      return pollUntil(run.context, {
        timeoutMs: plan.mock.deadlineMs,
        intervalMs: run.plan.readiness.pollIntervalMs,
        look: function* () {
          const observed = yield* run.call('observeMock', { ...flag, revision: green });
          const report = assessMock(plan.mock, observed, run.context.df.currentUtcDateTime.toISOString());
          run.recorder.setMock(report);
          return report.verdict === 'pass'
            ? { state: 'done', value: undefined }
            : { state: report.verdict === 'fail' ? 'failed' : 'pending', message: report.message };
        },
        pause: (ms) => run.signals.wait(ms, { promotable: false }),
        failed: (message) => `mock validation failed on ${green}: ${message}`,
        timedOut: (message) =>
          `mock validation did not pass within ${plan.mock.deadlineMs / 1000}s on ${green}: ${message}`,
      });
    },

    *promote(green) {
      // One fenced flip: epoch + 1, green prod/prod, blue standby. The restore undo is the flip back.
      yield* beforeProductionChange(run, 'flip');
      const flipped = yield* run.call('flipFlags', { ...flag, to: green, expectEpoch: epoch });
      epoch = flipped.epoch;
      run.recorder.setFlags(flipped);
      yield* verifyFlip(green, epoch, 'flip');
      // The flag's one step: green went from processing nothing to processing all of production.
      yield* notify(run, 'stepAdvanced', { step: 1, steps: 1, weight: 100, fromWeight: 0, via: 'flag' });
    },

    watchCheck: () => ({ strategy: plan, epoch }),

    finalise: () => immediately(undefined),

    *tidy(green) {
      const left = yield* afterFinalise(run);
      try {
        yield* run.call('dropMockOutputs', { ...flag, revision: green });
        return left;
      } catch (e) {
        return [...left, `delete ${green}'s keys on the temporary Redis: ${firstLine(errorMessage(e))}`];
      }
    },

    restore: () => {
      const back = snapshot;
      return {
        what: `restore the control record (active ${back?.active ?? 'none'}) and see it process`,
        *run() {
          if (!back) return;
          const restored = yield* run.call('restoreFlags', { ...flag, snapshot: back }, undoAttempt);
          run.recorder.setFlags(restored);
          // Symmetric to the flip: blue must be seen processing again, not just told to.
          if (back.active) yield* verifyFlip(back.active, restored.epoch, 'flip back');
        },
      };
    },

    summary: (green) => `${green} is the only revision processing production (epoch ${epoch})`,
  };
  return strategy;
}

/** A plain durable timer: not cut short by an abort. */
function* timer(run: RolloutRun, ms: number): Generator<Task, void, unknown> {
  yield run.context.df.createTimer(new Date(run.now() + ms));
}
