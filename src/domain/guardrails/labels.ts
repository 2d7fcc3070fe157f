import type { TrafficEntry } from '../ports/containerApps';
import { stepTraffic, withLabel, withoutLabel } from '../rollout/traffic';

/**
 * A rollout through an app kept in Labels revision mode (guardrails.labelsMode: useLabels). In that mode
 * ACA gives every new revision the app's `targetLabel` and shuts down revisions no label refers to; the
 * main FQDN splits by the weights of the (labelled) traffic entries, and each label has its own URL,
 * `<app>---<label>.<environment domain>`. So: green is deployed with the target label set to the green
 * label (never a label carrying production weight, which would hand green that traffic at once), is
 * validated at its label's URL, and promotion moves the production labels (the weighted entries) to green,
 * with blue kept warm under the blue label until finalise. Rollback writes the snapshot's traffic and
 * target label back exactly.
 */
export interface LabelNames {
  green: string;
  blue: string;
}

/** Green's traffic at a step: below 100% as in Multiple mode (green's label carries its share). */
export function labelsStepTraffic(
  baseline: TrafficEntry[],
  blue: string,
  green: string,
  weight: number,
  names: LabelNames,
): TrafficEntry[] {
  if (weight < 100) {
    return withLabel(withLabel(stepTraffic(baseline, green, weight), names.blue, blue), names.green, green);
  }
  return labelsPromoted(baseline, blue, green, names);
}

/**
 * At 100%: every weighted entry of the snapshot (the production labels) now names green with its weight
 * and label; green keeps its own label; blue stays referenced by the blue label, so ACA keeps it running
 * for an instant rollback.
 */
export function labelsPromoted(
  baseline: TrafficEntry[],
  blue: string,
  green: string,
  names: LabelNames,
): TrafficEntry[] {
  const moved: TrafficEntry[] = [];
  let unlabelled = 0;
  for (const t of withoutLabel(withoutLabel(baseline, names.green), names.blue)) {
    if (t.weight > 0 && t.label === undefined) unlabelled += t.weight;
    else moved.push(t.weight > 0 ? { ...t, revisionName: green } : { ...t });
  }
  if (unlabelled > 0) moved.push({ revisionName: green, weight: unlabelled });
  return withLabel(withLabel(moved, names.green, green), names.blue, blue);
}

/**
 * After finalise: the production labels stay on green; the rollout's own two labels go, so the app ends
 * with exactly the labels it had. Blue is left with no label, and ACA shuts it down.
 */
export function labelsFinal(
  baseline: TrafficEntry[],
  blue: string,
  green: string,
  names: LabelNames,
): TrafficEntry[] {
  return withoutLabel(withoutLabel(labelsPromoted(baseline, blue, green, names), names.green), names.blue);
}

/**
 * The rollout's two labels, chosen from the snapshot so they never take over one of the app's own labels
 * (an app that does blue-green by hand often has labels 'blue' and 'green'): 'green' and 'blue' when free,
 * else 'greenlight-green' and 'greenlight-blue' (then with a number).
 */
export function rolloutLabels(baseline: TrafficEntry[]): LabelNames {
  const used = new Set(baseline.map((t) => t.label).filter((l): l is string => l !== undefined));
  const free = (base: string): string => {
    for (const candidate of [base, `greenlight-${base}`]) if (!used.has(candidate)) return candidate;
    for (let i = 2; ; i++) if (!used.has(`greenlight-${base}-${i}`)) return `greenlight-${base}-${i}`;
  };
  return { green: free('green'), blue: free('blue') };
}
