import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import {
  closeRun,
  nextMeasurementDelay,
  recordWatchMeasurement,
  startRun,
  watchAccumulates,
  type GateRunProgress,
} from '../domain/gates/assess';
import { gateReport, type GateRunView } from '../domain/gates/report';
import type { GateSpec } from '../domain/rollout/types';
import { assessReadiness } from '../domain/rollout/readiness';
import { call, type WatchInput, type WatchResult } from '../activities/contract';
import { Orchestrators } from '../names';
import { checkProduction, type ProductionLook } from './flagWatch';
import { stepRetry } from './retry';
import { Signals } from './signals';

/** Wake-ups (checks and quick retries) per generation before continue-as-new: keeps history bounded. */
export const checksPerGeneration = 10;

/**
 * Post-promotion watch: re-checks green's health, smoke checks and watch gates every interval until the
 * window closes. Each gate's run is carried from check to check: accumulating (the default, as Argo's
 * background analysis) its limits count over the whole watch; otherwise each run of `count` that passes
 * starts the next afresh. A gate whose provider failed is measured again after its errorInterval, between
 * checks, so a dead provider is given up within consecutiveErrorLimit × errorInterval. Returns a failure
 * instead of throwing, so the parent decides on rollback.
 */
export const rolloutWatchOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, WatchResult | undefined, unknown> {
  const input = context.df.getInput<WatchInput>();
  // Every waiter made is read (see Signals): an abort cannot land on a waiter nobody looks at again.
  const signals = new Signals(context);
  const now = () => context.df.currentUtcDateTime.getTime();
  let checks = input.iteration;
  const runs: Record<string, GateRunProgress> = { ...input.gateRuns };
  for (const g of input.gates) runs[g.name] ??= startRun(g, { open: watchAccumulates(g) });
  const retryAt: Record<string, number> = { ...input.gateRetryAt };
  let nextCheckAt = input.nextCheckAt ?? now() + input.intervalMs;
  const look: ProductionLook = { ...(input.progress ? { progress: input.progress } : {}) };
  const report = () => (input.gates.length > 0 ? { gates: gateReport(viewOf(input.gates, runs)) } : {});

  for (let i = 0; i < checksPerGeneration; i++) {
    if (now() >= input.until) return closeWatch(input.gates, runs, checks);
    const wake = Math.min(nextCheckAt, input.until, ...Object.values(retryAt));
    const timer = context.df.createTimer(new Date(wake));
    const winner = yield context.df.Task.any([timer, signals.abort]);
    // The watch's instance id can be guessed: a malformed abort raised into it changes nothing.
    if (signals.aborted()) return { ok: false, reason: 'aborted by an operator', checks, ...report() };
    if (winner !== timer) {
      timer.cancel();
      continue;
    }
    const at = now();
    const fullCheck = at >= nextCheckAt || at >= input.until;
    let due = input.gates;
    if (fullCheck) {
      checks++;
      nextCheckAt = at + input.intervalMs;
      const failed = yield* checkGreen(context, input, look);
      if (failed) return { ok: false, reason: failed, checks, ...report() };
    } else {
      // A quick retry of the gates whose provider failed; the others wait for the next check.
      due = input.gates.filter((g) => (retryAt[g.name] ?? Infinity) <= at);
    }
    for (const gate of due) {
      delete retryAt[gate.name];
      if (runs[gate.name]!.phase !== 'running') continue;
      // One measurement per check, over the time since the last check.
      const spec = { ...gate, intervalMs: input.intervalMs };
      const m = yield* call(
        context,
        'measureGate',
        { app: input.app, gate: spec, revision: input.green, baselineRevision: input.blue },
        stepRetry,
      );
      const run = recordWatchMeasurement(gate, runs[gate.name]!, m);
      runs[gate.name] = run;
      if (isBad(gate, run)) {
        return {
          ok: false,
          reason: `watch gate ${gate.name} ${run.phase === 'fail' ? 'failed' : 'inconclusive'}: ${run.message}`,
          checks,
          ...report(),
        };
      }
      const last = run.history.at(-1);
      if (run.phase === 'running' && last?.verdict === 'error') {
        retryAt[gate.name] = at + nextMeasurementDelay(spec, last);
      }
    }
  }
  // Done exactly at a generation's end: finish here rather than start an empty generation.
  if (now() >= input.until) return closeWatch(input.gates, runs, checks);
  context.df.continueAsNew({
    ...input,
    iteration: checks,
    gateRuns: runs,
    nextCheckAt,
    gateRetryAt: retryAt,
    ...(look.progress ? { progress: look.progress } : {}),
  } satisfies WatchInput);
  return undefined;
};

/** Green's own health at a check: ready, holding production (flag strategy), passing its smoke checks. */
function* checkGreen(
  context: OrchestrationContext,
  input: WatchInput,
  look: ProductionLook,
): Generator<Task, string | undefined, unknown> {
  const rev = yield* call(context, 'getRevision', { app: input.app, revisionName: input.green }, stepRetry);
  const readiness = assessReadiness(rev);
  if (readiness.state !== 'ready') return readiness.message;
  // Flag strategy: green holds a live lease at the epoch and its production checkpoint advances.
  const production = yield* checkProduction(context, input, look);
  if (production) return production;
  if (input.smoke.length > 0) {
    const report = yield* call(
      context,
      'runSmokeChecks',
      { ...input.smokeTarget, fqdn: input.smokeTarget?.fqdn ?? rev.fqdn ?? input.fqdn, checks: input.smoke },
      stepRetry,
    );
    if (!report.passed) {
      const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
      return `smoke checks failed on ${input.green}: ${failed.join('; ')}`;
    }
  }
  return undefined;
}

/**
 * Whether a gate's run ends the watch: it failed, or was inconclusive where its gate does not let that
 * pass (production already runs on green: an inconclusive gate cannot pause). Dry-run gates never do.
 */
function isBad(gate: GateSpec, run: GateRunProgress): boolean {
  if (gate.dryRun) return false;
  return run.phase === 'fail' || (run.phase === 'inconclusive' && gate.onInconclusive !== 'pass');
}

/**
 * The window closed: each gate's run is ended (`closeRun`: pass if anything succeeded). A deciding run
 * that measured but never succeeded fails the watch as an inconclusive run would; one that never got a
 * measurement (the window shorter than the provider's first answer) has nothing to judge.
 */
function closeWatch(
  gates: readonly GateSpec[],
  runs: Record<string, GateRunProgress>,
  checks: number,
): WatchResult {
  for (const g of gates) runs[g.name] = closeRun(runs[g.name]!);
  const gateFields = gates.length > 0 ? { gates: gateReport(viewOf(gates, runs)) } : {};
  const bad = gates.find((g) => isBad(g, runs[g.name]!) && runs[g.name]!.tally.taken > 0);
  if (bad) {
    const run = runs[bad.name]!;
    return {
      ok: false,
      reason: `watch gate ${bad.name} ${run.phase === 'fail' ? 'failed' : 'inconclusive'}: ${run.message}`,
      checks,
      ...gateFields,
    };
  }
  return { ok: true, checks, ...gateFields };
}

function viewOf(gates: readonly GateSpec[], runs: Record<string, GateRunProgress>): GateRunView[] {
  return gates.map((g) => ({ name: g.name, run: runs[g.name]! }));
}

df.app.orchestration(Orchestrators.watch, rolloutWatchOrchestrator);
