import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { call } from '../activities/contract';
import type { AppSnapshot, RevisionInfo, TrafficEntry } from '../domain/ports';
import { errorMessage } from '../domain/errors';
import type { ControlRecord } from '../domain/flag/control';
import { assessFlip, assessMock } from '../domain/flag/validation';
import { assessReadiness, nextPollDelay } from '../domain/rollout/readiness';
import type {
  ApprovalDecision,
  Compensation,
  ControlRequest,
  FlagActivityInput,
  GatePhase,
  RolloutInput,
  RolloutResult,
} from '../domain/rollout/types';
import { stepTraffic, withLabel } from '../domain/rollout/traffic';
import { gateReport, type GateRunResult } from '../domain/gates/report';
import { Events, Labels, Orchestrators, gateRunInstanceId, watchInstanceId } from '../names';
import type { GateRunInput } from './gateRun';
import { RolloutRecorder } from './recorder';
import { compensationRetry, stepRetry } from './retry';
import type { WatchInput, WatchResult } from './watch';

/** Thrown inside the orchestrator to stop the forward path; caught once and turned into a rollback. */
class StopRollout extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Operator signals. Each waiter is created once and reused: durable-js hands a raised event to the most
 * recently tracked waiter of that name, so fresh waiters per wait would let stale ones swallow events.
 */
class Signals {
  private abortTask?: Task;
  private promoteTask?: Task;
  private approvalTask?: Task;
  promoted?: ControlRequest;

  constructor(private readonly context: OrchestrationContext) {}

  get abort(): Task {
    return (this.abortTask ??= this.context.df.waitForExternalEvent(Events.abort));
  }
  get promote(): Task {
    return (this.promoteTask ??= this.context.df.waitForExternalEvent(Events.promote));
  }
  get approval(): Task {
    return (this.approvalTask ??= this.context.df.waitForExternalEvent(Events.approval));
  }

  /** Throws StopRollout when an abort has been raised. */
  throwIfAborted(): void {
    if (this.abortTask?.isCompleted) {
      const req = this.abortTask.result as ControlRequest | undefined;
      throw new StopRollout(`aborted by ${req?.by ?? 'an operator'}${req?.reason ? `: ${req.reason}` : ''}`);
    }
  }

  notePromote(): void {
    if (!this.promoted && this.promoteTask?.isCompleted)
      this.promoted = this.promoteTask.result as ControlRequest;
  }
}

type WaitOutcome =
  { kind: 'elapsed' } | { kind: 'promoted' } | { kind: 'approval'; decision: ApprovalDecision };

/**
 * Waits `ms` on a durable timer, unless an abort (throws), a promote (skips) or, when asked, an
 * approval decision arrives first.
 */
function* wait(
  context: OrchestrationContext,
  signals: Signals,
  ms: number,
  opts: { promotable: boolean; approval?: boolean },
): Generator<Task, WaitOutcome, unknown> {
  signals.throwIfAborted();
  signals.notePromote();
  if (opts.promotable && signals.promoted) return { kind: 'promoted' };
  if (opts.approval && signals.approval.isCompleted) {
    return { kind: 'approval', decision: signals.approval.result as ApprovalDecision };
  }
  if (ms <= 0 && !opts.approval) return { kind: 'elapsed' };
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + ms));
  const tasks: Task[] = [timer, signals.abort];
  if (opts.promotable) tasks.push(signals.promote);
  if (opts.approval) tasks.push(signals.approval);
  const winner = yield context.df.Task.any(tasks);
  if (winner !== timer) timer.cancel();
  signals.throwIfAborted();
  signals.notePromote();
  if (winner === signals.promote && opts.promotable) return { kind: 'promoted' };
  if (opts.approval && winner === signals.approval) {
    return { kind: 'approval', decision: signals.approval.result as ApprovalDecision };
  }
  return { kind: 'elapsed' };
}

export const rolloutOrchestrator: OrchestrationHandler = function* (
  context: OrchestrationContext,
): Generator<Task, RolloutResult, unknown> {
  const input = context.df.getInput<RolloutInput>();
  const { plan } = input;
  const app = plan.app;
  const recorder = new RolloutRecorder(context, input);
  const signals = new Signals(context);
  const trafficPlan = plan.strategy.type === 'traffic' ? plan.strategy : undefined;
  /** Flag strategy: what every flag activity is given. */
  const flag: FlagActivityInput | undefined =
    plan.strategy.type === 'flag' ? { app, strategy: plan.strategy, rolloutId: input.rolloutId } : undefined;
  /** Flag strategy: the epoch the control record is at, as this rollout last set it. */
  let epoch = 0;
  /** Gate runs started so far: numbers their child instances. */
  let gateRunSeq = 0;
  /** Inconclusive gates whose policy says a person decides: the approval step becomes required. */
  const approvalDemanded: string[] = [];
  // Saga as data: each mutating step registers its undo first (unshift), so rollback runs newest first.
  const compensations: Compensation[] = [];
  let snapshot: AppSnapshot | undefined;
  let green: string | undefined;
  let result: RolloutResult;

  try {
    // 1. Snapshot: the exact point rollback returns to.
    snapshot = yield* call(context, 'snapshotApp', app, stepRetry);
    const baseline: TrafficEntry[] = snapshot.traffic;
    let blueRevision: string;
    let flagSnapshot: ControlRecord | undefined;
    if (flag) {
      // The control record, not traffic, says who processes: it is the rollback point of a flag rollout.
      const candidate = snapshot.latestReadyRevisionName ?? heaviest(baseline);
      if (!candidate) throw new StopRollout(`app '${app.name}' has no ready revision to keep processing`);
      flagSnapshot = yield* call(
        context,
        'snapshotFlags',
        {
          ...flag,
          blue: candidate,
        },
        stepRetry,
      );
      recorder.setFlags(flagSnapshot);
      if (!flagSnapshot.active) {
        throw new StopRollout(
          `the control record of '${app.name}' names no active revision: set one before rolling out (nothing processes production now)`,
        );
      }
      blueRevision = flagSnapshot.active;
      epoch = flagSnapshot.epoch;
      recorder.setBlue([blueRevision]);
    } else {
      const heaviestRevision = heaviest(baseline) ?? snapshot.latestReadyRevisionName;
      recorder.setBlue(baseline.filter((t) => t.weight > 0).map((t) => t.revisionName));
      if (baseline.length === 0 || !heaviestRevision) {
        throw new StopRollout(
          `app '${app.name}' has no ingress traffic to shift: enable ingress, or use the flag strategy for workloads without HTTP ingress`,
        );
      }
      blueRevision = heaviestRevision;
    }

    // 2. Multiple revision mode, so blue and green can be active together.
    // Not undone on rollback: switching back to Single would deactivate the restored blue's peers, and
    // Multiple mode with the snapshot's exact traffic serves exactly what was served before.
    const mode = yield* call(context, 'ensureMultipleRevisionMode', app, stepRetry);
    if (mode.changed) recorder.note(`revision mode changed from ${snapshot.revisionMode} to Multiple`);

    // 3. Deploy green at 0%. Undo is registered before the call: a retried or half-done deploy still gets undone.
    recorder.enter('Deploying');
    green = `${app.name}--${input.revisionSuffix}`;
    if (flagSnapshot) {
      // Runs as: flags back (blue processes, green stops), then green off, then its temp keys gone.
      compensations.unshift({ kind: 'dropMockOutputs', revisionName: green });
      compensations.unshift({ kind: 'deactivateRevision', revisionName: green });
      compensations.unshift({ kind: 'restoreFlags', snapshot: flagSnapshot });
    } else {
      compensations.unshift({ kind: 'deactivateRevision', revisionName: green });
      compensations.unshift({ kind: 'restoreTraffic', traffic: baseline });
    }
    const deployed = yield* call(
      context,
      'deployGreen',
      {
        app,
        request: {
          image: input.image,
          revisionSuffix: input.revisionSuffix,
          containerName: plan.containerName,
        },
      },
      stepRetry,
    );
    green = deployed.revisionName;
    recorder.setGreen(green);
    if (flag) {
      // Green starts in standby (no entry); mock mode points it at the temporary Redis only.
      const record = yield* call(
        context,
        'setRevisionFlags',
        {
          ...flag,
          revision: green,
          mode: 'mock',
          expectEpoch: epoch,
        },
        stepRetry,
      );
      recorder.setFlags(record);
    } else {
      const labelled = withLabel(withLabel(baseline, Labels.blue, blueRevision), Labels.green, green);
      yield* setTraffic(labelled);
    }

    // 4. Ready: provisioned, running, healthy (fails fast on a failed or degraded revision).
    recorder.enter('WaitingReady');
    const revision = yield* waitUntilReady(green);

    // 5. Validate against green's own URL: smoke checks, dependencies, pre-promotion gates.
    recorder.enter('Validating');
    if (flag) yield* validateMock(green, flag);
    yield* smoke(revision);
    yield* gates('prePromotion', blueRevision);

    // 6. Approval and/or bake.
    yield* approvalAndBake();

    // 7. Promote, step by step.
    recorder.enter('Promoting');
    const steps = trafficPlan?.steps ?? [];
    if (flag) {
      // One fenced flip: epoch + 1, green prod/prod, blue standby. The restore compensation is the flip back.
      const flipped = yield* call(
        context,
        'flipFlags',
        {
          ...flag,
          to: green,
          expectEpoch: epoch,
        },
        stepRetry,
      );
      epoch = flipped.epoch;
      recorder.setFlags(flipped);
      yield* verifyFlip(green, epoch, flag.strategy.flipDeadlineMs, 'flip');
    }
    for (let i = 0; i < steps.length; i++) {
      const weight = steps[i] ?? 100;
      recorder.setStep(i, steps.length, weight);
      const traffic = withLabel(
        withLabel(stepTraffic(baseline, green, weight), Labels.blue, blueRevision),
        Labels.green,
        green,
      );
      yield* setTraffic(traffic);
      if (weight < 100) {
        yield* wait(context, signals, trafficPlan?.stepPauseMs ?? 0, { promotable: true });
        if (trafficPlan?.recheckSmokeEachStep) yield* smoke(revision);
        yield* gates('eachStep', blueRevision);
      }
    }

    // 8. Watch: green holds all traffic, blue stays warm for an instant rollback.
    if (plan.watch.durationMs > 0) {
      recorder.enter('Watching');
      const watchInput: WatchInput = {
        rolloutId: input.rolloutId,
        app,
        green,
        blue: blueRevision,
        fqdn: revision.fqdn,
        smoke: plan.smoke,
        gates: plan.gates.filter((g) => g.phases.includes('watch')),
        intervalMs: Math.max(plan.watch.intervalMs, 1000),
        until: context.df.currentUtcDateTime.getTime() + plan.watch.durationMs,
        iteration: 0,
        ...(flag ? { flag: { strategy: flag.strategy, epoch } } : {}),
      };
      const child = context.df.callSubOrchestrator(
        Orchestrators.watch,
        watchInput,
        watchInstanceId(input.rolloutId),
      );
      const winner = yield context.df.Task.any([child, signals.abort]);
      signals.throwIfAborted();
      const watched = (winner as Task).result as WatchResult;
      if (watched.gates) recorder.setGates(watched.gates);
      if (!watched.ok) throw new StopRollout(`post-promotion watch failed: ${watched.reason}`);
    }

    // 9. Finalise: after the cleanup delay (abort still rolls back to the warm blue), retire blue.
    recorder.enter('Finalising');
    yield* wait(context, signals, plan.cleanup.deactivateAfterMs, { promotable: true });
    if (!flag) {
      const final = withLabel(stepTraffic(baseline, green, 100), Labels.blue, green).filter(
        (t) => t.weight > 0 || (t.label !== undefined && t.label !== Labels.green),
      );
      yield* setTraffic(final);
    }
    // From here on the new revision is production: there is nothing left to compensate.
    compensations.length = 0;
    const leftToDo: string[] = [];
    if (flag) {
      try {
        yield* call(
          context,
          'dropMockOutputs',
          {
            ...flag,
            revision: green,
          },
          stepRetry,
        );
      } catch (e) {
        leftToDo.push(`delete ${green}'s keys on the temporary Redis: ${firstLine(errorMessage(e))}`);
      }
    }
    try {
      yield* call(
        context,
        'retireRevisions',
        {
          app,
          keep: plan.cleanup.keepRevisions,
          protect: [green],
        },
        stepRetry,
      );
    } catch (e) {
      // Promotion stands; an old revision left active costs money, not correctness.
      leftToDo.push(`retire old revisions: ${firstLine(errorMessage(e))}`);
    }
    recorder.finish(
      'Succeeded',
      flag
        ? `${green} is the only revision processing production (epoch ${epoch})`
        : `${green} serves 100% of traffic`,
      leftToDo,
    );
    result = { outcome: 'Succeeded', green, ...(leftToDo.length ? { leftToDo } : {}) };
  } catch (e) {
    const reason = e instanceof StopRollout ? e.reason : `step failed: ${firstLine(errorMessage(e))}`;
    result = yield* rollback(reason);
  }

  yield* call(
    context,
    'finishRollout',
    {
      rolloutId: input.rolloutId,
      app,
      outcome: result.outcome,
    },
    compensationRetry,
  );
  return result;

  // ---- steps ----

  function* setTraffic(traffic: TrafficEntry[]): Generator<Task, void, unknown> {
    yield* call(context, 'setTraffic', { app, traffic }, stepRetry);
    recorder.setTraffic(traffic);
  }

  function* waitUntilReady(revisionName: string): Generator<Task, RevisionInfo, unknown> {
    const deadline = context.df.currentUtcDateTime.getTime() + plan.readiness.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const rev = yield* call(
        context,
        'getRevision',
        {
          app,
          revisionName,
        },
        stepRetry,
      );
      const readiness = assessReadiness(rev);
      if (readiness.state === 'ready') {
        recorder.setReadiness({ name: 'readiness', ok: true, message: `${revisionName} is ready` });
        return rev;
      }
      recorder.setReadiness({ name: 'readiness', ok: false, message: readiness.message });
      if (readiness.state === 'failed') throw new StopRollout(readiness.message);
      const now = context.df.currentUtcDateTime.getTime();
      if (now >= deadline) {
        throw new StopRollout(
          `${revisionName} not ready within ${plan.readiness.timeoutMs / 1000}s: ${readiness.message}`,
        );
      }
      const delay = Math.min(nextPollDelay(plan.readiness.pollIntervalMs, attempt), deadline - now);
      yield* wait(context, signals, delay, { promotable: false });
    }
  }

  /** Mock validation: look at what green wrote to the temporary Redis until it passes, fails or runs out of time. */
  function* validateMock(revisionName: string, flagInput: FlagActivityInput): Generator<Task, void, unknown> {
    const spec = flagInput.strategy.mock;
    const deadline = context.df.currentUtcDateTime.getTime() + spec.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const obs = yield* call(
        context,
        'observeMock',
        {
          ...flagInput,
          revision: revisionName,
        },
        stepRetry,
      );
      const report = assessMock(spec, obs, context.df.currentUtcDateTime.toISOString());
      recorder.setMock(report);
      if (report.verdict === 'pass') return;
      if (report.verdict === 'fail')
        throw new StopRollout(`mock validation failed on ${revisionName}: ${report.message}`);
      const now = context.df.currentUtcDateTime.getTime();
      if (now >= deadline) {
        throw new StopRollout(
          `mock validation did not pass within ${spec.deadlineMs / 1000}s on ${revisionName}: ${report.message}`,
        );
      }
      const delay = Math.min(nextPollDelay(plan.readiness.pollIntervalMs, attempt), deadline - now);
      yield* wait(context, signals, delay, { promotable: false });
    }
  }

  /**
   * Waits until `active` holds the production lease at `atEpoch`, has written since, and nobody else
   * processes. Plain timers, not abortable waits: a flip is never left half-verified, and compensation
   * (which also verifies) must not be cut short by an abort.
   */
  function* verifyFlip(
    active: string,
    atEpoch: number,
    deadlineMs: number,
    what: 'flip' | 'flip back',
  ): Generator<Task, void, unknown> {
    if (!flag) return;
    const deadline = context.df.currentUtcDateTime.getTime() + deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const obs = yield* call(context, 'observeFlip', flag, stepRetry);
      const check = assessFlip({ active, epoch: atEpoch }, obs);
      recorder.setFlip({ name: what, ok: check.verdict === 'pass', message: check.message });
      if (check.verdict === 'pass') return;
      const now = context.df.currentUtcDateTime.getTime();
      if (check.verdict === 'fail' || now >= deadline) {
        throw new StopRollout(
          `${what} to ${active} not confirmed${check.verdict === 'fail' ? '' : ` within ${deadlineMs / 1000}s`}: ${check.message}`,
        );
      }
      const delay = Math.min(nextPollDelay(flipPollMs, attempt), deadline - now);
      yield context.df.createTimer(new Date(now + delay));
    }
  }

  function* smoke(revision: RevisionInfo): Generator<Task, void, unknown> {
    if (plan.smoke.length === 0 && !plan.dependencies) return;
    const report = yield* call(
      context,
      'runSmokeChecks',
      {
        fqdn: revision.fqdn,
        checks: plan.smoke,
        dependencies: plan.dependencies,
      },
      stepRetry,
    );
    recorder.setSmoke(report);
    if (!report.passed) {
      const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
      throw new StopRollout(`smoke checks failed on ${revision.name}: ${failed.join('; ')}`);
    }
  }

  /**
   * Runs the phase's gates, each as its own child instance, in parallel. A failed gate stops the rollout;
   * an inconclusive one does what the gate says: fail, pass, or (before promotion) pause for a person.
   */
  function* gates(phase: GatePhase, blue: string): Generator<Task, void, unknown> {
    const specs = plan.gates.filter((g) => g.phases.includes(phase));
    if (specs.length === 0 || !green) return;
    const runs = specs.map((gate) =>
      context.df.callSubOrchestrator(
        Orchestrators.gateRun,
        { rolloutId: input.rolloutId, app, phase, gate, green, blue } satisfies GateRunInput,
        gateRunInstanceId(input.rolloutId, gateRunSeq++, gate.name),
      ),
    );
    const all = context.df.Task.all(runs);
    yield context.df.Task.any([all, signals.abort]);
    signals.throwIfAborted();
    // A gate run that failed outright (not a failed gate: its instance) stops the rollout with its error.
    if (all.isFaulted) throw all.result;
    const results = all.result as GateRunResult[];
    recorder.setGates(gateReport(results));
    const failed = results.filter((r) => r.state === 'fail');
    const problems = failed.map((r) => `${r.name}: ${r.message}`);
    for (const r of results.filter((x) => x.state === 'inconclusive')) {
      const onInconclusive = specs.find((g) => g.name === r.name)?.onInconclusive ?? 'fail';
      if (onInconclusive === 'pass')
        recorder.note(`gate ${r.name} inconclusive, passed by policy: ${r.message}`);
      else if (onInconclusive === 'pause' && phase === 'prePromotion') {
        approvalDemanded.push(`gate ${r.name} inconclusive: ${r.message}`);
      } else problems.push(`${r.name}: inconclusive: ${r.message}`);
    }
    if (problems.length > 0) {
      throw new StopRollout(
        `${phase} gates ${failed.length > 0 ? 'failed' : 'inconclusive'}: ${problems.join('; ')}`,
      );
    }
  }

  function* approvalAndBake(): Generator<Task, void, unknown> {
    if (approvalDemanded.length > 0) recorder.note(`approval needed: ${approvalDemanded.join('; ')}`);
    if (plan.approval.required || approvalDemanded.length > 0) {
      const expiresAt = context.df.currentUtcDateTime.getTime() + plan.approval.timeoutMs;
      const links = yield* call(
        context,
        'createApprovalLinks',
        {
          rolloutId: input.rolloutId,
          expiresAt,
        },
        stepRetry,
      );
      // Enter the phase only with the link in hand: a reader never sees a wait it cannot act on.
      recorder.enter('WaitingApproval');
      recorder.approvalPending(links.pageUrl, new Date(expiresAt).toISOString());
      const outcome = yield* wait(context, signals, plan.approval.timeoutMs, {
        promotable: true,
        approval: true,
      });
      if (outcome.kind === 'approval') {
        recorder.approvalDecided(outcome.decision);
        if (outcome.decision.decision === 'reject') {
          throw new StopRollout(
            `rejected by ${outcome.decision.approver}${outcome.decision.comment ? `: ${outcome.decision.comment}` : ''}`,
          );
        }
      } else if (outcome.kind === 'promoted') {
        recorder.approvalSkipped(signals.promoted?.by ?? 'an operator');
      } else {
        recorder.approvalTimedOut();
        // A wait that a gate demanded is never ended by a timeout: nobody judged what the gate could not.
        if (plan.approval.onTimeout === 'rollback' || approvalDemanded.length > 0) {
          throw new StopRollout(`approval timed out after ${plan.approval.timeoutMs / 1000}s`);
        }
      }
    }
    if (plan.bakeMs > 0) {
      recorder.enter('Baking');
      const outcome = yield* wait(context, signals, plan.bakeMs, { promotable: true });
      if (outcome.kind === 'promoted')
        recorder.note(`bake skipped by ${signals.promoted?.by ?? 'an operator'}`);
    }
  }

  function* rollback(reason: string): Generator<Task, RolloutResult, unknown> {
    recorder.enter('RollingBack', reason);
    const leftToDo: string[] = [];
    for (const step of compensations) {
      try {
        yield* compensate(step);
      } catch (e) {
        // Keep going: restoring traffic matters more than tidying up, and the operator gets the full list.
        leftToDo.push(`${describe(step)}: ${firstLine(errorMessage(e))}`);
      }
    }
    if (leftToDo.length > 0) {
      recorder.finish('RollbackFailed', reason, leftToDo);
      return { outcome: 'RollbackFailed', reason, green, leftToDo };
    }
    recorder.finish('RolledBack', reason);
    return { outcome: 'RolledBack', reason, green };
  }

  function* compensate(step: Compensation): Generator<Task, void, unknown> {
    switch (step.kind) {
      case 'restoreTraffic':
        yield* call(
          context,
          'setTraffic',
          {
            app,
            traffic: step.traffic,
          },
          compensationRetry,
        );
        recorder.setTraffic(step.traffic);
        return;
      case 'deactivateRevision':
        yield* call(
          context,
          'deactivateRevision',
          {
            app,
            revisionName: step.revisionName,
            missingOk: true,
          },
          compensationRetry,
        );
        return;
      case 'restoreFlags': {
        if (!flag) return;
        const restored = yield* call(
          context,
          'restoreFlags',
          {
            ...flag,
            snapshot: step.snapshot,
          },
          compensationRetry,
        );
        epoch = restored.epoch;
        recorder.setFlags(restored);
        // Symmetric to the flip: blue must be seen processing again, not just told to.
        if (step.snapshot.active && flag) {
          yield* verifyFlip(step.snapshot.active, restored.epoch, flag.strategy.flipDeadlineMs, 'flip back');
        }
        return;
      }
      case 'dropMockOutputs':
        if (!flag) return;
        yield* call(
          context,
          'dropMockOutputs',
          {
            ...flag,
            revision: step.revisionName,
          },
          compensationRetry,
        );
        return;
    }
  }
};

/** First look at a flip soon after it; the backoff takes it from there. */
const flipPollMs = 1_000;

function heaviest(traffic: TrafficEntry[]): string | undefined {
  let best: TrafficEntry | undefined;
  for (const t of traffic) if (t.weight > 0 && (!best || t.weight > best.weight)) best = t;
  return best?.revisionName;
}

function describe(step: Compensation): string {
  switch (step.kind) {
    case 'restoreTraffic':
      return `restore traffic to ${step.traffic.map((t) => `${t.revisionName}=${t.weight}${t.label ? `(${t.label})` : ''}`).join(', ')}`;
    case 'deactivateRevision':
      return `deactivate revision ${step.revisionName}`;
    case 'restoreFlags':
      return `restore the control record (active ${step.snapshot.active ?? 'none'}) and see it process`;
    case 'dropMockOutputs':
      return `delete ${step.revisionName}'s keys on the temporary Redis`;
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? s;
}

df.app.orchestration(Orchestrators.rollout, rolloutOrchestrator);
