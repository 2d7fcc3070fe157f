import type { Task } from 'durable-functions';
import {
  mayChangeProduction,
  overrideApplies,
  type Override,
  type ProductionGate,
} from '../domain/changeControl';
import {
  guardrailFindings,
  labelFqdn,
  refusals,
  rolloutLabels,
  type GuardrailFinding,
  type LabelNames,
  type SmokeTarget,
} from '../domain/guardrails';
import type { AppSnapshot, RevisionInfo } from '../domain/ports';
import { Events } from '../names';
import { undoAttempt } from './retry';
import type { RolloutRun } from './run';
import { StopRollout } from './stop';

/**
 * Change control and guardrails inside the rollout. Deterministic: the time is the orchestration's
 * replay-safe clock, the stops come from an activity, every wait is a durable timer, so a rollout waiting
 * for Monday costs nothing until Monday. The rules travel in the input, frozen at admission.
 */

/** With no window opening to wait for (an emergency stop), a paused rollout looks again this often. */
export const recheckMs = 5 * 60_000;

/** What the guardrails decided for this run, and what it has waiting for it. */
interface RunState {
  override?: Override;
  changed?: Task;
  findings: GuardrailFinding[];
  /** What smoke checks and the Labels-mode rollout need of the snapshot. */
  seen?: { ingressFqdn?: string; targetLabel?: string; labels: LabelNames };
}

const states = new WeakMap<RolloutRun, RunState>();

function stateOf(run: RolloutRun): RunState {
  let s = states.get(run);
  if (!s) {
    const override = run.input.changeControl?.override;
    s = { findings: [], ...(override ? { override } : {}) };
    states.set(run, s);
  }
  return s;
}

/** The external event that says a stop was lifted or an override given; one waiter at a time. */
function changedTask(run: RolloutRun): Task {
  const s = stateOf(run);
  return (s.changed ??= run.context.df.waitForExternalEvent(Events.changeControlChanged));
}

/** Takes a raised changeControlChanged: an override in it (built by the trigger) applies from now on. */
function consumeChanged(run: RolloutRun): void {
  const s = stateOf(run);
  if (!s.changed?.isCompleted) return;
  const data = s.changed.result as { override?: Override } | undefined;
  s.changed = undefined;
  const o = data?.override;
  if (
    o &&
    typeof o.by === 'string' &&
    typeof o.reason === 'string' &&
    overrideApplies(o, run.input.rolloutId)
  ) {
    s.override = o;
    recordOverride(run, o);
  }
}

function recordOverride(run: RolloutRun, o: Override): void {
  const cc = (run.recorder.status.changeControl ??= {});
  const list = (cc.overrides ??= []);
  if (!list.some((x) => x.at === o.at && x.by === o.by)) list.push(o);
  run.recorder.setChangeControl(cc);
}

function* waitUntil(run: RolloutRun, until: number | undefined): Generator<Task, void, unknown> {
  const { context, signals } = run;
  const timer = context.df.createTimer(new Date(until ?? run.now() + recheckMs));
  const changed = changedTask(run);
  const winner = yield context.df.Task.any([timer, signals.abort, changed]);
  if (winner !== timer) timer.cancel();
  signals.throwIfAborted();
  consumeChanged(run);
}

/**
 * Before anything: the admission's verdict. A wait sleeps on a durable timer until the next opening (an
 * abort ends it, nothing has changed yet); run-outside and override verdicts are recorded.
 */
export function* awaitAdmission(run: RolloutRun): Generator<Task, void, unknown> {
  const admitted = run.input.changeControl?.admission;
  if (!admitted) return;
  const { verdict, until, reason, rule } = admitted;
  run.recorder.setChangeControl({
    ...run.recorder.status.changeControl,
    admission: { verdict, ...(until ? { until } : {}), reason, rule },
  });
  if (admitted.override) recordOverride(run, admitted.override);
  run.recorder.note(`change control: ${verdict} (${rule})`);
  if (verdict !== 'wait' || !until) return;
  const at = Date.parse(until);
  // The first production change checks again; the wait only keeps the rollout from starting early.
  while (run.now() < at && !stateOf(run).override) yield* waitUntil(run, at);
}

/**
 * Guardrails, read from the snapshot before anything changes: every finding goes in the status; a
 * refusal stops the rollout (nothing to undo yet).
 */
export function guardrails(run: RolloutRun, snapshot: AppSnapshot): GuardrailFinding[] {
  const settings = run.plan.guardrails;
  if (!settings) return [];
  const plan = run.plan;
  const findings = guardrailFindings({
    policy: {
      app: { name: plan.app.name, ...(plan.containerName ? { container: plan.containerName } : {}) },
      strategy: { type: plan.strategy.type },
      validation: { smoke: plan.smoke, ...(plan.dependencies ? { dependencies: plan.dependencies } : {}) },
      cleanup: { keepRevisions: plan.cleanup.keepRevisions },
      guardrails: settings,
    },
    snapshot,
    image: run.input.image,
    revisionSuffix: run.input.revisionSuffix,
  });
  const s = stateOf(run);
  s.findings = findings;
  s.seen = {
    ...(snapshot.ingressFqdn ? { ingressFqdn: snapshot.ingressFqdn } : {}),
    ...(snapshot.targetLabel ? { targetLabel: snapshot.targetLabel } : {}),
    labels: rolloutLabels(snapshot.traffic),
  };
  if (findings.length > 0) {
    run.recorder.setGuardrails(findings);
    run.recorder.note(`guardrails: ${findings.map((f) => `${f.kind} ${f.outcome}`).join(', ')}`);
  }
  const refused = refusals(findings);
  if (refused.length > 0) {
    throw new StopRollout(
      `refused by guardrails before any change: ${refused.map((f) => `${f.setting}: ${f.message}; fix: ${f.fix}`).join(' | ')}`,
    );
  }
  return findings;
}

const adjusting = (run: RolloutRun, kind: GuardrailFinding['kind']) =>
  stateOf(run).findings.some((f) => f.kind === kind && f.outcome === 'adjust');

/** Labels revision mode kept (guardrails.labelsMode: useLabels): the switch to Multiple is skipped. */
export function keepsRevisionMode(run: RolloutRun): boolean {
  return adjusting(run, 'labelsMode');
}

/**
 * Labels revision mode kept: the rollout's two labels (green's, and blue's while it is kept warm), the app's
 * own target label to write back, and the host green is validated at (its label's FQDN).
 */
export function labelRollout(
  run: RolloutRun,
): { labels: LabelNames; targetLabel?: string; greenFqdn?: string } | undefined {
  const seen = stateOf(run).seen;
  if (!keepsRevisionMode(run) || !seen) return undefined;
  const greenFqdn = labelFqdn(seen.ingressFqdn, run.app.name, seen.labels.green);
  return {
    labels: seen.labels,
    ...(seen.targetLabel ? { targetLabel: seen.targetLabel } : {}),
    ...(greenFqdn ? { greenFqdn } : {}),
  };
}

/** Labels revision mode kept: green's deploy sets the target label to the rollout's green label. */
export function greenTargetLabel(run: RolloutRun): { targetLabel?: string } {
  const labels = labelRollout(run);
  return labels ? { targetLabel: labels.labels.green } : {};
}

/**
 * Where smoke checks reach green: its label's FQDN in Labels mode (else its revision FQDN), through
 * guardrails.probeEndpoint when the policy sets one.
 */
export function smokeTarget(run: RolloutRun, revision: RevisionInfo): SmokeTarget {
  const fqdn = labelRollout(run)?.greenFqdn ?? revision.fqdn;
  const probe = run.plan.guardrails?.probeEndpoint;
  return {
    ...(fqdn ? { fqdn } : {}),
    ...(revision.fqdn ? { revisionFqdn: revision.fqdn } : {}),
    revision: revision.name,
    app: run.app.name,
    ...(probe ? { probeEndpoint: probe } : {}),
  };
}

/** Green's minimum replicas when the app would scale it to zero (guardrails.scaleToZero: holdOneReplica). */
export function greenScale(run: RolloutRun): { minReplicas?: number } {
  return adjusting(run, 'scaleToZero') ? { minReplicas: 1 } : {};
}

/**
 * The guardrails' changes before the mode switch: session affinity off (its undo puts it back), in the
 * order the what-if plan lists them.
 */
export function* beforeModeSwitch(run: RolloutRun): Generator<Task, void, unknown> {
  if (!adjusting(run, 'stickySessions')) return;
  run.saga.add({
    what: 'session affinity back to sticky',
    run: () =>
      run.call('setSessionAffinity', { app: run.app, affinity: 'sticky', singleMode: true }, undoAttempt),
  });
  yield* run.call('setSessionAffinity', { app: run.app, affinity: 'none' });
}

/**
 * Everything between the snapshot and the deploy, in the what-if plan's order: guardrails (a refusal
 * stops here), the production-change check, the guardrails' changes, the switch to Multiple revision
 * mode (not for an app kept in Labels mode), and a cleanup near the revision limit.
 */
export function* prepare(run: RolloutRun, snapshot: AppSnapshot): Generator<Task, void, unknown> {
  guardrails(run, snapshot);
  yield* beforeProductionChange(run, 'deploy');
  yield* beforeModeSwitch(run);
  if (!keepsRevisionMode(run)) {
    const mode = yield* run.call('ensureMultipleRevisionMode', run.app);
    if (mode.changed) run.recorder.note(`revision mode changed from ${snapshot.revisionMode} to Multiple`);
  }
  yield* beforeDeploy(run);
}

/** Near the revision limit (guardrails.revisionLimit: cleanup): retire per cleanup.keepRevisions before the deploy. */
export function* beforeDeploy(run: RolloutRun): Generator<Task, void, unknown> {
  if (!stateOf(run).findings.some((f) => f.kind === 'revisionLimit' && f.adjustment?.when === 'beforeDeploy'))
    return;
  const retired = yield* run.call('retireRevisions', {
    app: run.app,
    keep: run.plan.cleanup.keepRevisions,
    protect: [],
  });
  if (retired.deactivated.length > 0)
    run.recorder.note(`revision limit: retired ${retired.deactivated.join(', ')} first`);
}

/**
 * After the point of no return: what the guardrails changed goes back. Session affinity returns with
 * Single mode; the scale is revision-scope, so putting minReplicas back would create one more revision:
 * it is left to the operator, named in leftToDo.
 */
export function* afterFinalise(run: RolloutRun): Generator<Task, string[], unknown> {
  const left: string[] = [];
  if (adjusting(run, 'stickySessions')) {
    try {
      yield* run.call('setSessionAffinity', { app: run.app, affinity: 'sticky', singleMode: true });
    } catch {
      left.push('put session affinity back: az containerapp ingress sticky-sessions set --affinity sticky');
    }
  }
  const scale = stateOf(run).findings.find((f) => f.kind === 'scaleToZero' && f.outcome === 'adjust');
  if (scale) {
    left.push(
      `green runs with minReplicas 1 (the app had ${String(scale.value)}); to scale to zero again: az containerapp update --min-replicas ${String(scale.value)} (creates a new revision)`,
    );
  }
  return left;
}

/**
 * Before each production change (deploy, traffic step, flip, finalise): may it happen now? Closed
 * production or an emergency stop pauses here, on a durable timer to the next opening, or until the
 * stop is lifted (an event), with a recheck every five minutes; an abort rolls back.
 */
export function* beforeProductionChange(run: RolloutRun, before: string): Generator<Task, void, unknown> {
  const { input, plan } = run;
  const global = input.changeControl?.global;
  for (;;) {
    consumeChanged(run);
    run.signals.throwIfAborted();
    const stops = yield* run.call('emergencyStopsInForce', run.app);
    const s = stateOf(run);
    const gate = mayChangeProduction(run.context.df.currentUtcDateTime, plan.changeControl, global, {
      stops,
      ...(s.override ? { override: s.override } : {}),
      rolloutId: input.rolloutId,
    });
    if (gate.allowed) {
      if (gate.verdict !== 'open' || run.recorder.status.changeControl?.gate?.verdict === 'pause')
        record(run, gate, before);
      return;
    }
    record(run, gate, before);
    yield* waitUntil(run, gate.until ? Date.parse(gate.until) : undefined);
  }
}

function record(run: RolloutRun, gate: ProductionGate, before: string): void {
  const at = run.context.df.currentUtcDateTime.toISOString();
  const cc = (run.recorder.status.changeControl ??= {});
  const previous = cc.gate;
  cc.gate = {
    verdict: gate.verdict,
    ...(gate.until ? { until: gate.until } : {}),
    reason: gate.reason,
    rule: gate.rule,
    before,
    at,
  };
  // One timeline note per change of verdict, not per recheck.
  if (previous?.verdict !== gate.verdict || previous.rule !== gate.rule || previous.before !== before) {
    run.recorder.note(
      gate.verdict === 'pause'
        ? `paused before ${before}: ${gate.reason}`
        : gate.verdict === 'open'
          ? `resumed: ${before}`
          : `${before} outside change control (${gate.rule})`,
    );
  }
  run.recorder.setChangeControl(cc);
}
