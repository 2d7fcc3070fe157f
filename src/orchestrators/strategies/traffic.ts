import type { RetryOptions } from 'durable-functions';
import { labelsFinal, labelsStepTraffic } from '../../domain/guardrails';
import type { TrafficEntry } from '../../domain/ports';
import { describeTraffic, heaviestRevision, stepTraffic, withLabel } from '../../domain/rollout/traffic';
import type { TrafficStrategyPlan } from '../../domain/rollout/types';
import { Labels } from '../../names';
import { recordAudit, nextAuditNumber } from '../audit';
import { afterFinalise, beforeProductionChange, labelRollout } from '../changeControl';
import { notify } from '../notify';
import { stepRetry, undoAttempt } from '../retry';
import type { RolloutRun } from '../run';
import { deactivate, deployGreen, gates, nameGreen, smoke } from '../steps';
import { StopRollout } from '../stop';
import { stepGate } from '../release/member';
import { immediately, type Step, type Strategy } from './strategy';

/** Blue-green by ingress traffic: green at 0% with a label, then the policy's steps up to 100%. */
export function trafficStrategy(run: RolloutRun, plan: TrafficStrategyPlan): Strategy {
  /** The snapshot's exact traffic, labels included: what rollback restores and what steps share out. */
  let baseline: TrafficEntry[] = [];

  function* setTraffic(traffic: TrafficEntry[], retry: RetryOptions = stepRetry, targetLabel?: string): Step {
    const before = run.recorder.status.traffic ?? baseline;
    yield* run.call(
      'setTraffic',
      { app: run.app, traffic, ...(targetLabel !== undefined ? { targetLabel } : {}) },
      retry,
    );
    run.recorder.setTraffic(traffic);
    const step = `traffic:${nextAuditNumber(run)}`;
    yield* recordAudit(run, { kind: 'traffic.written', step, before, after: traffic });
  }
  const labelled = (traffic: TrafficEntry[], blue: string, green: string): TrafficEntry[] =>
    withLabel(withLabel(traffic, Labels.blue, blue), Labels.green, green);
  /** Green at `weight`: in Labels mode (kept), through the app's labels; else by weight with our two labels. */
  const step = (weight: number, blue: string, green: string): TrafficEntry[] => {
    const labels = labelRollout(run);
    return labels
      ? labelsStepTraffic(baseline, blue, green, weight, labels.labels)
      : labelled(stepTraffic(baseline, green, weight), blue, green);
  };

  const strategy: Strategy = {
    snapshot(snapshot) {
      baseline = snapshot.traffic;
      const blue = heaviestRevision(baseline) ?? snapshot.latestReadyRevisionName;
      run.recorder.setBlue(baseline.filter((t) => t.weight > 0).map((t) => t.revisionName));
      if (baseline.length === 0 || !blue) {
        throw new StopRollout(
          `app '${run.app.name}' has no ingress traffic to shift: enable ingress, or use the flag strategy for workloads without HTTP ingress`,
        );
      }
      return immediately(blue);
    },

    *deploy(blue) {
      run.saga.add(deactivate(run, nameGreen(run)), strategy.restore());
      const green = yield* deployGreen(run);
      const labels = labelRollout(run);
      // Labels mode: green took the green label as the deploy's target label; the app's own goes back at
      // once, so no later revision (or a newer rollout's snapshot) ever sees the rollout's.
      if (labels) yield* setTraffic(step(0, blue, green), stepRetry, labels.targetLabel);
      else yield* setTraffic(labelled(baseline, blue, green));
      return green;
    },

    validate: () => immediately(undefined),

    *promote(green, blue, revision) {
      for (let i = 0; i < plan.steps.length; i++) {
        // A release member in lockstep takes each step only when the release says so.
        yield* stepGate(run, i);
        const weight = plan.steps[i] ?? 100;
        run.recorder.setStep(i, plan.steps.length, weight);
        yield* beforeProductionChange(run, `traffic step ${weight}%`);
        yield* setTraffic(step(weight, blue, green));
        yield* notify(run, 'stepAdvanced', {
          step: i + 1,
          steps: plan.steps.length,
          weight,
          fromWeight: i > 0 ? (plan.steps[i - 1] ?? 0) : 0,
          via: 'traffic',
        });
        if (weight < 100) {
          yield* run.signals.wait(plan.stepPauseMs, { promotable: true });
          if (plan.recheckSmokeEachStep) yield* smoke(run, revision);
          yield* gates(run, 'eachStep', green, blue);
        }
      }
    },

    watchCheck: () => undefined,

    *finalise(green) {
      yield* beforeProductionChange(run, 'finalise');
      const labels = labelRollout(run);
      if (labels) {
        // The app's own labels only, production's on green.
        const blue = heaviestRevision(baseline) ?? '';
        yield* setTraffic(labelsFinal(baseline, blue, green, labels.labels));
        return;
      }
      // Green, now production, carries the blue label; entries left with neither weight nor another label go.
      const final = withLabel(stepTraffic(baseline, green, 100), Labels.blue, green).filter(
        (t) => t.weight > 0 || (t.label !== undefined && t.label !== Labels.green),
      );
      yield* setTraffic(final);
    },

    tidy: () => afterFinalise(run),

    restore: () => ({
      what: `restore traffic to ${describeTraffic(baseline)}`,
      run: () => setTraffic(baseline, undoAttempt, labelRollout(run)?.targetLabel),
    }),

    summary: (green) => `${green} serves 100% of traffic`,
  };
  return strategy;
}
