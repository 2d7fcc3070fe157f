import type { Task } from 'durable-functions';
import { startChild } from '../activities/contract';
import { combinePhaseRuns, startRun, type PhaseDecision } from '../domain/gates/assess';
import { gateReport, phaseRunOf, type GateRunResult, type GateRunView } from '../domain/gates/report';
import type { AppSnapshot, RevisionInfo } from '../domain/ports';
import { assessReadiness } from '../domain/rollout/readiness';
import type { GatePhase, GateSpec, RolloutResult } from '../domain/rollout/types';
import { errorMessage } from '../domain/errors';
import { gateRunInstanceId, watchInstanceId } from '../names';
import { greenScale, greenTargetLabel, smokeTarget } from './changeControl';
import { undoAttempt } from './retry';
import type { RolloutRun } from './run';
import type { Undo } from './saga';
import { gateEventFacts } from '../domain/notify/gate';
import { reminderAt } from '../domain/notify/reminders';
import { anyoneWants, notify } from './notify';
import { firstLine, StopRollout } from './stop';
import { anyOf } from './anyOf';
import { pollUntil } from './poll';
import type { Strategy } from './strategies/strategy';

// The steps both strategies share, in the order the rollout takes them.

/**
 * Multiple revision mode, so blue and green can be active together. Not undone on rollback: switching
 * back to Single would deactivate the restored blue's peers, and Multiple mode with the snapshot's exact
 * traffic serves exactly what was served before.
 */
export function* ensureMultipleRevisionMode(
  run: RolloutRun,
  snapshot: AppSnapshot,
): Generator<Task, void, unknown> {
  const mode = yield* run.call('ensureMultipleRevisionMode', run.app);
  if (mode.changed) run.recorder.note(`revision mode changed from ${snapshot.revisionMode} to Multiple`);
}

/** The name green will have (the suffix is deterministic), for the undos added before it exists. */
export function nameGreen(run: RolloutRun): string {
  return (run.green = `${run.app.name}--${run.input.revisionSuffix}`);
}

/** Deploys green from the new image; the strategy has added the undos first. */
export function* deployGreen(run: RolloutRun): Generator<Task, string, unknown> {
  const { input, plan } = run;
  const deployed = yield* run.call('deployGreen', {
    app: run.app,
    request: {
      image: input.image,
      revisionSuffix: input.revisionSuffix,
      containerName: plan.containerName,
      ...greenScale(run),
      ...greenTargetLabel(run),
    },
  });
  run.green = deployed.revisionName;
  run.recorder.setGreen(run.green);
  return run.green;
}

/** The undo of a deploy: green off (a deploy that never created it has nothing to undo). */
export function deactivate(run: RolloutRun, revisionName: string): Undo {
  return {
    what: `deactivate revision ${revisionName}`,
    run: () => run.call('deactivateRevision', { app: run.app, revisionName, missingOk: true }, undoAttempt),
  };
}

/** Provisioned, running and healthy; fails fast on a failed or degraded revision. */
export function* waitUntilReady(
  run: RolloutRun,
  revisionName: string,
): Generator<Task, RevisionInfo, unknown> {
  const { timeoutMs, pollIntervalMs } = run.plan.readiness;
  return yield* pollUntil(run.context, {
    timeoutMs,
    intervalMs: pollIntervalMs,
    look: function* () {
      const rev = yield* run.call('getRevision', { app: run.app, revisionName });
      const readiness = assessReadiness(rev);
      const ok = readiness.state === 'ready';
      run.recorder.setReadiness({
        name: 'readiness',
        ok,
        message: readiness.state === 'ready' ? `${revisionName} is ready` : readiness.message,
      });
      return readiness.state === 'ready' ? { state: 'done', value: rev } : readiness;
    },
    pause: (ms) => run.signals.wait(ms, { promotable: false }),
    failed: (message) => message,
    timedOut: (message) => `${revisionName} not ready within ${timeoutMs / 1000}s: ${message}`,
  });
}

/** Smoke checks (and the dependency check) against green's own URL. */
export function* smoke(run: RolloutRun, revision: RevisionInfo): Generator<Task, void, unknown> {
  const { plan } = run;
  if (plan.smoke.length === 0 && !plan.dependencies) return;
  const report = yield* run.call('runSmokeChecks', {
    ...smokeTarget(run, revision),
    checks: plan.smoke,
    dependencies: plan.dependencies,
  });
  run.recorder.setSmoke(report);
  if (!report.passed) {
    const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
    throw new StopRollout(`smoke checks failed on ${revision.name}: ${failed.join('; ')}`);
  }
}

/**
 * Runs the phase's gates, each as its own child instance, in parallel, and judges them as each finishes
 * (`combinePhaseRuns`): the first run that fails (or is inconclusive under `onInconclusive: fail`) stops
 * the phase at once, however long its siblings would still measure. Orchestrations cannot terminate
 * their children, so a stopped sibling is no longer waited for and its result is ignored: its instance
 * ends on its own after its remaining measurements, which change nothing. Dry-run gates are waited for
 * and shown, never deciding. Returns why a person must approve before promotion (inconclusive gates that
 * pause), if anyone must.
 */
export function* gates(
  run: RolloutRun,
  phase: GatePhase,
  green: string,
  blue: string,
): Generator<Task, string[], unknown> {
  const { context, input, recorder, signals } = run;
  const specs = run.plan.gates.filter((g) => g.phases.includes(phase));
  if (specs.length === 0) return [];
  const children = specs.map((gate) =>
    startChild(
      context,
      'gateRun',
      { rolloutId: input.rolloutId, app: run.app, phase, gate, green, blue },
      gateRunInstanceId(input.rolloutId, run.gateRuns++, gate.name),
    ),
  );
  const finished: (GateRunResult | undefined)[] = specs.map(() => undefined);
  const decide = () => combinePhaseRuns(specs.map((g, i) => phaseRunOf(g, finished[i])));
  let decision = decide();
  while (decision.action === 'wait') {
    const going = children.filter((_, i) => finished[i] === undefined).map((c) => c.task);
    // The gate runs still going were scheduled by an earlier wait: `anyOf` does not send them again.
    yield anyOf(context, [...going, signals.abort]);
    signals.throwIfAborted();
    children.forEach((c, i) => {
      if (finished[i] !== undefined || !c.task.isCompleted) return;
      // A gate run that failed outright (not a failed gate: its instance) stops the rollout with its error.
      if (c.task.isFaulted) throw c.task.result;
      finished[i] = c.result();
    });
    decision = decide();
    recorder.setGates(gateReport(phaseView(specs, finished, decision)));
  }
  yield* notifyGateVerdicts(run, phase, specs, finished);
  const failing =
    decision.decidedBy !== undefined ? specs.findIndex((g) => g.name === decision.decidedBy) : -1;
  const decider = failing >= 0 ? finished[failing] : undefined;
  const stopped = decision.stop.length > 0 ? `; stopped ${decision.stop.join(', ')}` : '';
  if (decision.action === 'rollback') {
    if (!decider) throw new StopRollout(`${phase} gates: ${decision.message}`);
    const why = decider.run.phase === 'fail' ? 'failed' : 'inconclusive';
    const inconclusive = decider.run.phase === 'fail' ? '' : 'inconclusive: ';
    throw new StopRollout(
      `${phase} gates ${why}: ${decider.name}: ${inconclusive}${decider.run.message}${stopped}`,
    );
  }
  const inconclusive = specs
    .map((g, i) => ({ g, r: finished[i] }))
    .filter(({ g, r }) => !g.dryRun && r?.run.phase === 'inconclusive');
  // A pause is only possible before promotion: during the steps an inconclusive run that would pause stops it.
  const pausing = inconclusive.filter(({ g }) => g.onInconclusive === 'pause');
  if (decision.action === 'askApproval' && phase !== 'prePromotion') {
    const { g, r } = pausing[0]!;
    throw new StopRollout(`${phase} gates inconclusive: ${g.name}: inconclusive: ${r!.run.message}`);
  }
  for (const { g, r } of inconclusive.filter(({ g }) => g.onInconclusive === 'pass')) {
    recorder.note(`gate ${g.name} inconclusive, passed by policy: ${r!.run.message}`);
  }
  specs.forEach((g, i) => {
    const r = finished[i];
    if (g.dryRun && r)
      recorder.note(`dry-run gate ${g.name} ${r.run.phase} (not deciding): ${r.run.message}`);
  });
  return decision.action === 'askApproval'
    ? pausing.map(({ g, r }) => `gate ${g.name} inconclusive: ${r!.run.message}`)
    : [];
}

/**
 * gateFailed / gateInconclusive for each deciding run that ended so, whatever the policy makes of it
 * (rollback, approval, or passing an inconclusive run), so people see the values behind the decision.
 */
function* notifyGateVerdicts(
  run: RolloutRun,
  phase: GatePhase,
  specs: readonly GateSpec[],
  finished: readonly (GateRunResult | undefined)[],
): Generator<Task, void, unknown> {
  for (const [i, g] of specs.entries()) {
    const r = finished[i];
    if (g.dryRun || !r || (r.run.phase !== 'fail' && r.run.phase !== 'inconclusive')) continue;
    const kind = r.run.phase === 'fail' ? 'gateFailed' : 'gateInconclusive';
    yield* notify(run, kind, gateEventFacts(g, r.run, phase));
  }
}

/** The phase's runs for the status: finished ones as they ended, the others running or stopped. */
function phaseView(
  specs: readonly GateSpec[],
  finished: readonly (GateRunResult | undefined)[],
  decision: PhaseDecision,
): GateRunView[] {
  return specs.map((g, i) => {
    const r = finished[i];
    if (r) return r;
    const stopped = decision.stop.includes(g.name);
    const message = stopped
      ? `stopped: gate ${decision.decidedBy ?? ''} decided the phase first`
      : 'measuring';
    return { name: g.name, run: { ...startRun(g), message }, ...(stopped ? { stopped } : {}) };
  });
}

/** The approval the policy (or an inconclusive gate) asks for, then the bake; a promote skips either. */
export function* approvalAndBake(run: RolloutRun, approvalNeeded: string[]): Generator<Task, void, unknown> {
  const { plan, recorder, signals } = run;
  if (approvalNeeded.length > 0) recorder.note(`approval needed: ${approvalNeeded.join('; ')}`);
  if (plan.approval.required || approvalNeeded.length > 0) {
    const expiresAt = run.now() + plan.approval.timeoutMs;
    const links = yield* run.call('createApprovalLinks', { rolloutId: run.input.rolloutId, expiresAt });
    // Enter the phase only with the link in hand: a reader never sees a wait it cannot act on.
    recorder.enter('WaitingApproval');
    recorder.approvalPending(links.pageUrl, new Date(expiresAt).toISOString());
    // What the request and its reminder say: the page, the expiry, who may decide, what a timeout does.
    const asked = {
      expiresAt: new Date(expiresAt).toISOString(),
      approvers: plan.approval.approvers,
      onTimeout: plan.approval.onTimeout,
      ...(approvalNeeded.length ? { reason: approvalNeeded.join('; ') } : {}),
      links: { approvalPage: links.pageUrl },
    };
    yield* notify(run, 'waitingApproval', asked);
    // The expiry stays where the link says, however long the notification took.
    const waitUntil = (at: number) =>
      signals.wait(Math.max(0, at - run.now()), { promotable: true, approval: true });
    const remindAt = anyoneWants(run, 'approvalReminder')
      ? reminderAt(expiresAt - plan.approval.timeoutMs, expiresAt, plan.approval.remindBeforeMs)
      : undefined;
    let outcome = yield* waitUntil(remindAt ?? expiresAt);
    if (remindAt !== undefined && outcome.kind === 'elapsed') {
      // Nobody decided yet: the reminder's timer won the race against the decision.
      yield* notify(run, 'approvalReminder', asked);
      outcome = yield* waitUntil(expiresAt);
    }
    if (outcome.kind === 'approval') {
      recorder.approvalDecided(outcome.decision);
      const { approver: by, comment, decision } = outcome.decision;
      yield* notify(run, decision === 'approve' ? 'approved' : 'rejected', {
        by,
        ...(comment ? { comment } : {}),
      });
      if (decision === 'reject') {
        throw new StopRollout(`rejected by ${by}${comment ? `: ${comment}` : ''}`);
      }
    } else if (outcome.kind === 'promoted') {
      recorder.approvalSkipped(signals.promotedBy);
    } else {
      recorder.approvalTimedOut();
      yield* notify(run, 'timedOut', { onTimeout: plan.approval.onTimeout });
      // A wait that a gate demanded is never ended by a timeout: nobody judged what the gate could not.
      if (plan.approval.onTimeout === 'rollback' || approvalNeeded.length > 0) {
        throw new StopRollout(`approval timed out after ${plan.approval.timeoutMs / 1000}s`);
      }
    }
  }
  if (plan.bakeMs > 0) {
    recorder.enter('Baking');
    const outcome = yield* signals.wait(plan.bakeMs, { promotable: true });
    if (outcome.kind === 'promoted') recorder.note(`bake skipped by ${signals.promotedBy}`);
  }
}

/** Green holds production; blue stays warm for an instant rollback while the watch runs as a child. */
export function* watch(
  run: RolloutRun,
  strategy: Strategy,
  at: { green: string; blue: string; revision: RevisionInfo },
): Generator<Task, void, unknown> {
  const { context, input, plan, recorder, signals } = run;
  if (plan.watch.durationMs <= 0) return;
  recorder.enter('Watching');
  const flag = strategy.watchCheck();
  const child = startChild(
    context,
    'watch',
    {
      rolloutId: input.rolloutId,
      app: run.app,
      green: at.green,
      blue: at.blue,
      fqdn: at.revision.fqdn,
      smokeTarget: smokeTarget(run, at.revision),
      smoke: plan.smoke,
      gates: plan.gates.filter((g) => g.phases.includes('watch')),
      intervalMs: Math.max(plan.watch.intervalMs, 1000),
      until: run.now() + plan.watch.durationMs,
      iteration: 0,
      ...(flag ? { flag } : {}),
    },
    watchInstanceId(input.rolloutId),
  );
  yield* signals.unlessAborted(child.task);
  const watched = child.result();
  if (watched.gates) recorder.setGates(watched.gates);
  if (!watched.ok) {
    for (const r of watched.gates?.results ?? []) {
      const spec = plan.gates.find((g) => g.name === r.name);
      if (!spec || r.dryRun || (r.verdict !== 'fail' && r.verdict !== 'inconclusive')) continue;
      yield* notify(
        run,
        r.verdict === 'fail' ? 'gateFailed' : 'gateInconclusive',
        gateEventFacts(spec, r, 'watch'),
      );
    }
    throw new StopRollout(`post-promotion watch failed: ${watched.reason}`);
  }
}

/** Old revisions off, after the point of no return: one left active costs money, not correctness. */
export function* retireOldRevisions(run: RolloutRun, green: string): Generator<Task, string[], unknown> {
  try {
    yield* run.call('retireRevisions', {
      app: run.app,
      keep: run.plan.cleanup.keepRevisions,
      protect: [green],
    });
    return [];
  } catch (e) {
    return [`retire old revisions: ${firstLine(errorMessage(e))}`];
  }
}

/** Undoes what the rollout did, newest first, and says how it ended. */
export function* rollBack(run: RolloutRun, reason: string): Generator<Task, RolloutResult, unknown> {
  run.recorder.enter('RollingBack', reason);
  const leftToDo = yield* run.saga.compensate();
  if (leftToDo.length > 0) {
    run.recorder.finish('RollbackFailed', reason, leftToDo);
    yield* notify(run, 'rollbackFailed', { reason, leftToDo });
    return { outcome: 'RollbackFailed', reason, green: run.green, leftToDo };
  }
  run.recorder.finish('RolledBack', reason);
  yield* notify(run, 'rolledBack', { reason });
  return { outcome: 'RolledBack', reason, green: run.green };
}
