import type { GateHistoryEntry, GateReport, GateSpec } from '../rollout/types';
import { measurementHistoryLimit, type GateRunProgress, type PhaseRun } from './assess';
import type { MeasuredNumber, WireMeasurement } from './types';

/** One measurement as the gate step took it (the activity stamps the time); JSON-safe, infinities included. */
export interface GateMeasurement extends WireMeasurement {
  baseline?: MeasuredNumber;
  at: string;
}

/** A gate's run as its instance returns it, and as the watch carries it. */
export interface GateRunResult {
  name: string;
  run: GateRunProgress;
  /** When the run finished (orchestration clock, ISO 8601). */
  finishedAt?: string;
}

/** A gate's run as the status shows it: finished, still running, or stopped because a sibling failed. */
export interface GateRunView extends GateRunResult {
  stopped?: boolean;
}

/** What `combinePhaseRuns` reads of a gate's run. */
export function phaseRunOf(
  gate: Pick<GateSpec, 'name' | 'onInconclusive' | 'dryRun'>,
  r?: GateRunResult,
): PhaseRun {
  return {
    name: gate.name,
    phase: r?.run.phase ?? 'running',
    ...(r ? { message: r.run.message } : {}),
    dryRun: gate.dryRun ?? false,
    onInconclusive: gate.onInconclusive,
    ...(r?.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
  };
}

/** Measurements the status keeps over all gates: 10 each for up to 4 gates, fewer each beyond. */
const statusHistoryBudget = 40;

/**
 * The status view of gate runs: each gate's verdict, its latest measurement and its recent history. The
 * report's verdict is the deciding gates' worst; a dry-run gate is shown, never counted.
 */
export function gateReport(runs: readonly GateRunView[]): GateReport {
  const perGate = Math.max(
    1,
    Math.min(measurementHistoryLimit, Math.floor(statusHistoryBudget / Math.max(runs.length, 1))),
  );
  const deciding = runs.filter((r) => !r.run.dryRun).map((r) => r.run.phase);
  const verdict = deciding.includes('fail')
    ? 'fail'
    : deciding.includes('inconclusive')
      ? 'inconclusive'
      : 'pass';
  return {
    verdict,
    results: runs.map((r) => {
      const last = r.run.history.at(-1);
      return {
        name: r.name,
        verdict: r.run.phase !== 'running' ? r.run.phase : r.stopped ? 'stopped' : 'running',
        message: r.run.message,
        ...(last?.value !== undefined ? { value: last.value } : {}),
        ...(last?.baseline !== undefined ? { baseline: last.baseline } : {}),
        ...(last?.at !== undefined ? { at: last.at } : {}),
        ...(r.run.dryRun ? { dryRun: true } : {}),
        history: r.run.history.slice(-perGate).map((m): GateHistoryEntry => ({
          ...(m.at !== undefined ? { at: m.at } : {}),
          ...(m.value !== undefined ? { value: m.value } : {}),
          ...(m.baseline !== undefined ? { baseline: m.baseline } : {}),
          ...(m.sampleSize !== undefined ? { sampleSize: m.sampleSize } : {}),
          verdict: m.verdict,
          // A provider's error can be long (a stack, an HTML page): the status keeps its start.
          ...(m.error !== undefined ? { error: m.error.slice(0, 120) } : {}),
        })),
      };
    }),
  };
}
