import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { AppRef, RevisionInfo } from '../adapters/containerApps/port';
import { assessFlip, type FlipObservation } from '../domain/flag/validation';
import { assessReadiness } from '../domain/rollout/readiness';
import type {
  FlagStrategyPlan,
  GateReport,
  GateSpec,
  SmokeCheck,
  SmokeReport,
} from '../domain/rollout/types';
import { Activities, Events, Orchestrators } from '../names';
import { stepRetry } from './retry';

export interface WatchInput {
  rolloutId: string;
  app: AppRef;
  green: string;
  blue: string;
  fqdn?: string;
  smoke: SmokeCheck[];
  gates: GateSpec[];
  intervalMs: number;
  /** Epoch ms at which the watch window ends. */
  until: number;
  /** Checks done in earlier generations. */
  iteration: number;
  /** Flag strategy: green must keep the production lease at this epoch. */
  flag?: { strategy: FlagStrategyPlan; epoch: number };
}

export interface WatchResult {
  ok: boolean;
  reason?: string;
  checks: number;
}

/** Checks per generation before continue-as-new: keeps history bounded however long the window is. */
export const checksPerGeneration = 10;

/**
 * Post-promotion watch: re-checks green's health, smoke checks and watch gates every interval until the
 * window closes. Returns a failure instead of throwing, so the parent decides on rollback.
 */
export const rolloutWatchOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, WatchResult | undefined, unknown> {
  const input = context.df.getInput<WatchInput>();
  const abort = context.df.waitForExternalEvent(Events.abort);
  let checks = input.iteration;
  for (let i = 0; i < checksPerGeneration; i++) {
    const now = context.df.currentUtcDateTime.getTime();
    if (now >= input.until) return { ok: true, checks };
    const timer = context.df.createTimer(new Date(Math.min(now + input.intervalMs, input.until)));
    const winner = yield context.df.Task.any([timer, abort]);
    if (winner === abort) {
      return { ok: false, reason: 'aborted by an operator', checks };
    }
    checks++;
    const rev = (yield context.df.callActivityWithRetry(Activities.getRevision, stepRetry, {
      app: input.app,
      revisionName: input.green,
    })) as RevisionInfo;
    const readiness = assessReadiness(rev);
    if (readiness.state !== 'ready') return { ok: false, reason: readiness.message, checks };
    if (input.flag) {
      const obs = (yield context.df.callActivityWithRetry(Activities.observeFlip, stepRetry, {
        app: input.app,
        strategy: input.flag.strategy,
        rolloutId: input.rolloutId,
      })) as FlipObservation;
      const flip = assessFlip({ active: input.green, epoch: input.flag.epoch }, obs);
      if (flip.verdict !== 'pass') return { ok: false, reason: flip.message, checks };
    }
    if (input.smoke.length > 0) {
      const report = (yield context.df.callActivityWithRetry(Activities.runSmokeChecks, stepRetry, {
        fqdn: rev.fqdn ?? input.fqdn,
        checks: input.smoke,
      })) as SmokeReport;
      if (!report.passed) {
        const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
        return { ok: false, reason: `smoke checks failed on ${input.green}: ${failed.join('; ')}`, checks };
      }
    }
    if (input.gates.length > 0) {
      const report = (yield context.df.callActivityWithRetry(Activities.evaluateGates, stepRetry, {
        rolloutId: input.rolloutId,
        app: input.app,
        phase: 'watch',
        gates: input.gates,
        green: input.green,
        blue: input.blue,
      })) as GateReport;
      if (report.verdict === 'fail') {
        const failed = report.results
          .filter((r) => r.verdict === 'fail')
          .map((r) => `${r.name}: ${r.message}`);
        return { ok: false, reason: `watch gates failed: ${failed.join('; ')}`, checks };
      }
    }
  }
  context.df.continueAsNew({ ...input, iteration: checks });
  return undefined;
};

df.app.orchestration(Orchestrators.watch, rolloutWatchOrchestrator);
