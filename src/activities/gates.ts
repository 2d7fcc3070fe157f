import * as df from 'durable-functions';
import type { GateReport, GateSpec } from '../domain/rollout/types';
import { Activities } from '../names';

/**
 * The gate step. Metric providers plug in behind this seam; a gate whose provider is not available
 * reports inconclusive (never a silent pass), which stops the rollout.
 */
df.app.activity(Activities.evaluateGates, {
  handler: (input: { phase: string; gates: GateSpec[] }): GateReport => {
    const at = new Date().toISOString();
    const results = input.gates.map((g) => ({
      name: g.name,
      verdict: 'inconclusive' as const,
      message: `provider '${g.provider}' is not available in this deployment`,
      at,
    }));
    return { verdict: results.length ? 'inconclusive' : 'pass', results };
  },
});
