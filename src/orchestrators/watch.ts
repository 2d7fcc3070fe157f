import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { MeasurementVerdict } from '../domain/gates/assess';
import { gateReport, judgeGateRun, type GateRunResult } from '../domain/gates/report';
import { assessReadiness } from '../domain/rollout/readiness';
import { call, type WatchInput, type WatchResult } from '../activities/contract';
import { Events, Orchestrators } from '../names';
import { checkProduction, type ProductionLook } from './flagWatch';
import { stepRetry } from './retry';

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
  const verdicts: Record<string, MeasurementVerdict[]> = { ...input.gateVerdicts };
  const latest: Record<string, GateRunResult> = { ...input.latestGates };
  const look: ProductionLook = { ...(input.progress ? { progress: input.progress } : {}) };
  for (let i = 0; i < checksPerGeneration; i++) {
    const now = context.df.currentUtcDateTime.getTime();
    if (now >= input.until) {
      return {
        ok: true,
        checks,
        ...(Object.keys(latest).length ? { gates: gateReport(Object.values(latest)) } : {}),
      };
    }
    const timer = context.df.createTimer(new Date(Math.min(now + input.intervalMs, input.until)));
    const winner = yield context.df.Task.any([timer, abort]);
    if (winner === abort) {
      return { ok: false, reason: 'aborted by an operator', checks };
    }
    checks++;
    const rev = yield* call(
      context,
      'getRevision',
      {
        app: input.app,
        revisionName: input.green,
      },
      stepRetry,
    );
    const readiness = assessReadiness(rev);
    if (readiness.state !== 'ready') return { ok: false, reason: readiness.message, checks };
    // Flag strategy: green holds a live lease at the epoch and its production checkpoint advances.
    const production = yield* checkProduction(context, input, look);
    if (production) return { ok: false, reason: production, checks };
    if (input.smoke.length > 0) {
      const report = yield* call(
        context,
        'runSmokeChecks',
        {
          fqdn: rev.fqdn ?? input.fqdn,
          checks: input.smoke,
        },
        stepRetry,
      );
      if (!report.passed) {
        const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
        return { ok: false, reason: `smoke checks failed on ${input.green}: ${failed.join('; ')}`, checks };
      }
    }
    for (const gate of input.gates) {
      // One measurement per check, over the time since the last check.
      const m = yield* call(
        context,
        'measureGate',
        {
          app: input.app,
          gate: { ...gate, intervalMs: input.intervalMs },
          revision: input.green,
          baselineRevision: input.blue,
        },
        stepRetry,
      );
      const judged = judgeGateRun(gate, verdicts[gate.name] ?? [], m);
      latest[gate.name] = judged.result;
      // Production already runs on green: an inconclusive gate cannot pause, so only 'pass' lets it go.
      const bad =
        judged.state === 'fail' || (judged.state === 'inconclusive' && gate.onInconclusive !== 'pass');
      if (bad) {
        return {
          ok: false,
          reason: `watch gate ${gate.name} ${judged.state === 'fail' ? 'failed' : 'inconclusive'}: ${judged.result.message}`,
          checks,
          gates: gateReport(Object.values(latest)),
        };
      }
      verdicts[gate.name] = judged.state === 'running' ? judged.verdicts : [];
    }
  }
  // Done exactly at a generation's end: finish here rather than start an empty generation.
  if (context.df.currentUtcDateTime.getTime() >= input.until) {
    return {
      ok: true,
      checks,
      ...(Object.keys(latest).length ? { gates: gateReport(Object.values(latest)) } : {}),
    };
  }
  context.df.continueAsNew({
    ...input,
    iteration: checks,
    gateVerdicts: verdicts,
    latestGates: latest,
    ...(look.progress ? { progress: look.progress } : {}),
  });
  return undefined;
};

df.app.orchestration(Orchestrators.watch, rolloutWatchOrchestrator);
