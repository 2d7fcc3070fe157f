import type { GateHistoryEntry, GatePhase, GateSpec } from '../rollout/types';
import type { GateValue } from './events';

/** Measurements an event shows: the latest few are what a person reads; the status keeps the rest. */
const valuesShown = 5;

/** The facts of a gateFailed / gateInconclusive event beyond those every event has. */
export interface GateEventFacts {
  gate: string;
  phase: GatePhase;
  condition: string;
  limits: string;
  values: GateValue[];
  message: string;
}

/** A finished run as a gate step returns it, or as the watch's report shows it. */
export interface FinishedGateRun {
  message: string;
  history?: readonly GateHistoryEntry[];
}

/** What a gateFailed / gateInconclusive event says of a finished run: values measured against thresholds. */
export function gateEventFacts(spec: GateSpec, run: FinishedGateRun, phase: GatePhase): GateEventFacts {
  const values = (run.history ?? []).slice(-valuesShown).map((m): GateValue => ({
    value: m.value ?? (m.error !== undefined ? 'error' : null),
    verdict: m.verdict,
    ...(m.baseline !== undefined ? { baseline: m.baseline } : {}),
    ...(m.at !== undefined ? { at: m.at } : {}),
  }));
  const conditions = [
    `success: ${spec.successCondition}`,
    ...(spec.failureCondition ? [`failure: ${spec.failureCondition}`] : []),
  ];
  const limits = [
    `count ${spec.count}`,
    `failureLimit ${spec.failureLimit}`,
    `inconclusiveLimit ${spec.inconclusiveLimit}`,
    ...(spec.minSampleSize !== undefined ? [`minSampleSize ${spec.minSampleSize}`] : []),
  ];
  return {
    gate: spec.name,
    phase,
    condition: conditions.join('; '),
    limits: limits.join(', '),
    values,
    message: run.message,
  };
}
