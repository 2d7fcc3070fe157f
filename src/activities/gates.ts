import { errorMessage } from '../domain/errors';
import { conditionUses, parseCondition } from '../domain/gates/condition';
import { gateQueryOf } from '../domain/gates/query';
import { toMeasuredNumber, toWireMeasurement, type MeasureTarget } from '../domain/gates/types';
import type { AppRef, RolloutPorts } from '../domain/ports';
import type { GateSpec } from '../domain/rollout/types';
import type { ActivityHandlers } from './contract';

/** The gate's conditions compare against blue: then blue is measured the same way, over the same window. */
function needsBaseline(gate: GateSpec): boolean {
  return [gate.successCondition, gate.failureCondition].some((text) => {
    if (!text) return false;
    const parsed = parseCondition(text);
    return parsed.ok && conditionUses(parsed.condition).has('baseline');
  });
}

function targetOf(app: AppRef, revision: string, windowMs: number): MeasureTarget {
  return {
    resourceId: `/subscriptions/${app.subscriptionId}/resourceGroups/${app.resourceGroup}/providers/Microsoft.App/containerApps/${app.name}`,
    appName: app.name,
    revision,
    windowMs,
  };
}

export function gateActivities(ports: RolloutPorts): Pick<ActivityHandlers, 'measureGate'> {
  return {
    /**
     * One measurement of one gate for green (and blue as the baseline). A provider failure is a measurement
     * with an error, not a failed activity: the gate's consecutiveErrorLimit decides what errors mean.
     */
    measureGate: async (input) => {
      const at = ports.now().toISOString();
      try {
        const query = gateQueryOf(input.gate);
        const provider = ports.gateProviders()[query.provider];
        const [green, blue] = await Promise.all([
          provider.measure(query, targetOf(input.app, input.revision, input.gate.intervalMs)),
          needsBaseline(input.gate)
            ? provider.measure(query, targetOf(input.app, input.baselineRevision, input.gate.intervalMs))
            : undefined,
        ]);
        // Infinities as strings: raw, JSON would turn them into null, which reads as no data.
        const baseline = toMeasuredNumber(blue?.value);
        return { ...toWireMeasurement(green), ...(baseline !== undefined ? { baseline } : {}), at };
      } catch (e) {
        return { error: errorMessage(e).split('\n')[0] ?? 'measurement failed', at };
      }
    },
  };
}
