import {
  admission,
  freezesAhead,
  mayChangeProduction,
  nextOpening,
  type Admission,
  type ChangeControlRules,
  type EmergencyStop,
  type Override,
  type ProductionGate,
} from '../changeControl';
import {
  blueOf,
  guardrailFindings,
  labelsFinal,
  labelsStepTraffic,
  refusals,
  rolloutLabels,
  type GuardrailFinding,
} from '../guardrails';
import type { Policy } from '../policy/schema';
import type { AppSnapshot, RevisionScope, TrafficEntry } from '../ports/containerApps';
import { revisionSuffixFor } from '../revisionSuffix';
import { stepTraffic, withLabel } from '../rollout/traffic';

/**
 * What-if: the plan a real rollout of this image would follow on this app, from the policy and a
 * snapshot alone. Pure: no ARM, no Redis, no clock (the caller passes `now`). The ARM writes come in
 * the order a real run makes them, with their bodies, so a dry run can be compared call by call.
 */
export interface WhatIfInput {
  policy: Policy;
  image: string;
  digest?: string;
  snapshot: AppSnapshot;
  now: Date;
  global?: ChangeControlRules;
  /** Stops in force for this app. */
  stops?: EmergencyStop[];
  override?: Override;
  /** Traffic label names the rollout uses (the orchestrator's `Labels`). */
  labels?: { blue: string; green: string };
  /** How far ahead freezes are listed; default 30 days. */
  freezeHorizonMs?: number;
}

/** One ARM write: method, path under the app's resource id, JSON body as sent (wire shape). */
export interface ArmWrite {
  method: 'PATCH' | 'POST';
  /** `''` for the app itself, or e.g. `/revisions/web--v1/deactivate`. */
  path: string;
  body?: Record<string, unknown>;
  why: string;
}

export type PlanStep =
  | { kind: 'arm'; phase: string; write: ArmWrite }
  | { kind: 'changeControl'; phase: string; gate: ProductionGate }
  | { kind: 'check'; phase: string; what: string }
  | { kind: 'gate'; phase: string; gates: string[] }
  | { kind: 'wait'; phase: string; what: string; ms: number }
  | { kind: 'flag'; phase: string; what: string };

export interface WhatIfPlan {
  policy: string;
  app: AppSnapshot['app'];
  image: string;
  revisionSuffix: string;
  revisionName: string;
  blue?: string;
  /** Would a real run start now, wait, be refused, or run outside the rules. */
  admission: Admission;
  changeControl: {
    windows: { layer: string; text: string }[];
    freezes: { layer: string; name: string; start: string; end: string; reason: string }[];
    nextOpening?: string;
    stops: EmergencyStop[];
  };
  findings: GuardrailFinding[];
  /** True when a real run would stop before any change: refused admission or a refusing guardrail. */
  refused: boolean;
  refusedBecause: string[];
  steps: PlanStep[];
  /** The ARM writes of `steps`, in order. */
  writes: ArmWrite[];
}

function wireTraffic(entries: TrafficEntry[]): Record<string, unknown>[] {
  return entries.map((t) => ({
    revisionName: t.revisionName,
    weight: t.weight,
    ...(t.label ? { label: t.label } : {}),
  }));
}

function sameTraffic(a: TrafficEntry[], b: TrafficEntry[]): boolean {
  const key = (t: TrafficEntry) => `${t.revisionName}\u0000${t.weight}\u0000${t.label ?? ''}`;
  const x = a.map(key).sort();
  const y = b.map(key).sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
}

/** Green's template in wire shape: the app's template with the image, suffix and guardrail changes. */
function greenTemplateBody(
  template: RevisionScope | undefined,
  image: string,
  suffix: string,
  containerName: string | undefined,
  findings: GuardrailFinding[],
): Record<string, unknown> {
  const containers = template?.containers ?? [];
  const index = containerName ? containers.findIndex((c) => c.name === containerName) : 0;
  const hold = findings.find((f) => f.kind === 'scaleToZero' && f.outcome === 'adjust');
  return {
    revisionSuffix: suffix,
    containers: containers.map((c, i) => ({
      name: c.name,
      image: i === index ? image : c.image,
      ...(c.env.length > 0 ? { env: c.env } : {}),
      ...(c.resources ? { resources: c.resources } : {}),
      ...(c.probes.length > 0 ? { probes: c.probes } : {}),
    })),
    scale: { ...template?.scale, ...(hold ? { minReplicas: 1 } : {}) },
  };
}

export function whatIf(input: WhatIfInput): WhatIfPlan {
  const { policy, image, snapshot, now } = input;
  const labels = input.labels ?? { blue: 'blue', green: 'green' };
  const suffix = revisionSuffixFor(image, input.digest);
  const green = `${policy.app.name}--${suffix}`;
  const cc = policy.changeControl;
  const context = { stops: input.stops ?? [], ...(input.override ? { override: input.override } : {}) };
  const admitted = admission(now, cc, input.global, context);
  const findings = guardrailFindings({ policy, snapshot, image, revisionSuffix: suffix });
  const blocking = refusals(findings);
  const refusedBecause = [
    ...(admitted.verdict === 'reject' ? [`${admitted.rule}: ${admitted.reason}`] : []),
    ...blocking.map((f) => `${f.kind} (${f.setting}): ${f.message}`),
  ];
  const layers = [input.global, cc].filter((r): r is ChangeControlRules => r !== undefined);
  const opens = admitted.verdict === 'wait' ? nextOpening(now.getTime(), layers) : undefined;
  const blue = blueOf(snapshot)?.name ?? snapshot.latestReadyRevisionName;

  const steps: PlanStep[] = [];
  const arm = (phase: string, write: ArmWrite) => steps.push({ kind: 'arm', phase, write });
  const adjust = (when: string) =>
    findings.filter((f) => f.outcome === 'adjust' && f.adjustment?.when === when);
  // Production changes happen when production is open: a wait starts the run at the next opening.
  const startAt = admitted.verdict === 'wait' && admitted.until ? new Date(admitted.until) : now;
  const gateAt = () => mayChangeProduction(startAt, cc, input.global, context);

  if (refusedBecause.length === 0) {
    const labelsMode = findings.some((f) => f.kind === 'labelsMode' && f.outcome === 'adjust');
    // Labels mode kept: green deploys under the rollout's green label and promotion moves the labels.
    const own = labelsMode ? rolloutLabels(snapshot.traffic) : undefined;
    // The rollout checks change control before its first write, as before every production change.
    steps.push({ kind: 'changeControl', phase: 'Preparing', gate: gateAt() });
    for (const f of adjust('beforeModeSwitch')) {
      if (f.adjustment?.patch)
        arm('Preparing', {
          method: 'PATCH',
          path: '',
          body: f.adjustment.patch,
          why: `guardrail ${f.kind}: ${f.message}`,
        });
    }
    if (snapshot.revisionMode !== 'Multiple' && !labelsMode) {
      arm('Preparing', {
        method: 'PATCH',
        path: '',
        body: { properties: { configuration: { activeRevisionsMode: 'Multiple' } } },
        why: `revision mode ${snapshot.activeRevisionsMode ?? snapshot.revisionMode} to Multiple, so blue and green run side by side`,
      });
    }
    for (const f of adjust('beforeDeploy')) {
      for (const name of retired(snapshot, policy.cleanup.keepRevisions, [])) {
        arm('Preparing', {
          method: 'POST',
          path: `/revisions/${name}/deactivate`,
          why: `guardrail ${f.kind}: ${f.adjustment?.note ?? ''}`,
        });
      }
    }
    const existing = snapshot.revisions.find((r) => r.name === green);
    if (existing) {
      if (!existing.active)
        arm('Deploying', {
          method: 'POST',
          path: `/revisions/${green}/activate`,
          why: `${green} exists with this image: activated, not redeployed`,
        });
    } else {
      arm('Deploying', {
        method: 'PATCH',
        path: '',
        body: {
          properties: {
            template: greenTemplateBody(snapshot.template, image, suffix, policy.app.container, findings),
            ...(snapshot.traffic.length > 0 || own
              ? {
                  configuration: {
                    ...(own ? { targetLabel: own.green } : {}),
                    ...(snapshot.traffic.length > 0
                      ? { ingress: { traffic: wireTraffic(snapshot.traffic) } }
                      : {}),
                  },
                }
              : {}),
          },
        },
        why: `deploy ${green} at 0%; today's traffic pinned to revision names so green gets none until promoted${own ? `; target label '${own.green}', so green takes that label and not the app's` : ''}`,
      });
    }
    const baseline = snapshot.traffic;
    let current = baseline;
    const setTraffic = (phase: string, next: TrafficEntry[], why: string, targetLabel?: string) => {
      // The adapter skips a write that changes nothing; so does the plan.
      if (sameTraffic(current, next) && targetLabel === undefined) return;
      arm(phase, {
        method: 'PATCH',
        path: '',
        body: {
          properties: {
            configuration: {
              ...(targetLabel !== undefined ? { targetLabel } : {}),
              ingress: { traffic: wireTraffic(next) },
            },
          },
        },
        why,
      });
      current = next;
    };
    const traffic = policy.strategy.type === 'traffic' ? policy.strategy : undefined;
    if (traffic && blue && own) {
      setTraffic(
        'Deploying',
        labelsStepTraffic(baseline, blue, green, 0, own),
        `labels: ${own.blue} on ${blue}, ${own.green} on ${green}${snapshot.targetLabel ? `; target label '${snapshot.targetLabel}' back` : ''}`,
        snapshot.targetLabel,
      );
    } else if (traffic && blue) {
      setTraffic(
        'Deploying',
        withLabel(withLabel(baseline, labels.blue, blue), labels.green, green),
        `labels: ${labels.blue} on ${blue}, ${labels.green} on ${green}`,
      );
    } else if (!traffic) {
      steps.push({
        kind: 'flag',
        phase: 'Deploying',
        what: `control record: ${green} in mock mode on the temporary Redis`,
      });
    }
    steps.push({
      kind: 'check',
      phase: 'WaitingReady',
      what: `${green} provisioned, running and healthy within ${policy.validation.readiness.timeout} ms`,
    });
    if (!traffic)
      steps.push({ kind: 'check', phase: 'Validating', what: 'mock outputs on the temporary Redis' });
    for (const s of policy.validation.smoke) {
      steps.push({
        kind: 'check',
        phase: 'Validating',
        what: `smoke ${s.method} ${s.path} expects ${s.expectStatus.join('|')} within ${s.latencyBudget} ms`,
      });
    }
    const gatesIn = (phase: string) =>
      policy.gates.filter((g) => (g.phases as string[]).includes(phase)).map((g) => g.name);
    if (gatesIn('prePromotion').length > 0)
      steps.push({ kind: 'gate', phase: 'Validating', gates: gatesIn('prePromotion') });
    if (policy.approval.required)
      steps.push({
        kind: 'wait',
        phase: 'AwaitingApproval',
        what: `approval by ${policy.approval.approvers.join(', ') || 'anyone with the link'}`,
        ms: policy.approval.timeout,
      });
    if (policy.bake > 0) steps.push({ kind: 'wait', phase: 'Baking', what: 'bake', ms: policy.bake });
    if (traffic && blue) {
      for (const weight of traffic.steps) {
        steps.push({ kind: 'changeControl', phase: 'Promoting', gate: gateAt() });
        setTraffic(
          'Promoting',
          own
            ? labelsStepTraffic(baseline, blue, green, weight, own)
            : withLabel(
                withLabel(stepTraffic(baseline, green, weight), labels.blue, blue),
                labels.green,
                green,
              ),
          own && weight >= 100 ? `promote: production label(s) to ${green}` : `promote: ${green} ${weight}%`,
        );
        if (weight < 100) {
          if (traffic.stepPause > 0)
            steps.push({ kind: 'wait', phase: 'Promoting', what: 'step pause', ms: traffic.stepPause });
          if (traffic.recheckSmokeEachStep && policy.validation.smoke.length > 0)
            steps.push({ kind: 'check', phase: 'Promoting', what: 'smoke checks again' });
          if (gatesIn('eachStep').length > 0)
            steps.push({ kind: 'gate', phase: 'Promoting', gates: gatesIn('eachStep') });
        }
      }
    } else if (!traffic) {
      steps.push({ kind: 'changeControl', phase: 'Promoting', gate: gateAt() });
      steps.push({
        kind: 'flag',
        phase: 'Promoting',
        what: `fenced flip: ${green} processes production, ${blue ?? 'blue'} stands by`,
      });
    }
    if (policy.watch.duration > 0) {
      steps.push({ kind: 'wait', phase: 'Watching', what: 'watch', ms: policy.watch.duration });
      if (gatesIn('watch').length > 0)
        steps.push({ kind: 'gate', phase: 'Watching', gates: gatesIn('watch') });
    }
    if (policy.cleanup.deactivateAfter > 0)
      steps.push({
        kind: 'wait',
        phase: 'Finalising',
        what: 'cleanup delay',
        ms: policy.cleanup.deactivateAfter,
      });
    if (traffic && blue && own) {
      steps.push({ kind: 'changeControl', phase: 'Finalising', gate: gateAt() });
      setTraffic(
        'Finalising',
        labelsFinal(baseline, blue, green, own),
        `the app's own labels only; ${own.blue} and ${own.green} dropped`,
      );
    } else if (traffic && blue) {
      steps.push({ kind: 'changeControl', phase: 'Finalising', gate: gateAt() });
      const final = withLabel(stepTraffic(baseline, green, 100), labels.blue, green).filter(
        (t) => t.weight > 0 || (t.label !== undefined && t.label !== labels.green),
      );
      setTraffic('Finalising', final, `${labels.blue} label to ${green}; ${labels.green} label dropped`);
    }
    // Only what is app-scope goes back by itself: minReplicas is revision-scope (putting it back would
    // create a revision), so the rollout leaves that to the operator and says so in leftToDo.
    for (const f of adjust('beforeModeSwitch')) {
      if (f.adjustment?.restore)
        arm('Finalising', {
          method: 'PATCH',
          path: '',
          body: f.adjustment.restore.patch,
          why: `guardrail ${f.kind}: put back as it was`,
        });
    }
    for (const name of retired(snapshot, policy.cleanup.keepRevisions, [green], current)) {
      arm('Finalising', {
        method: 'POST',
        path: `/revisions/${name}/deactivate`,
        why: `retire: beyond cleanup.keepRevisions ${policy.cleanup.keepRevisions}`,
      });
    }
  }

  const freezes = freezesAhead(now.getTime(), layers, input.freezeHorizonMs ?? 30 * 86_400_000);
  return {
    policy: policy.name,
    app: snapshot.app,
    image,
    revisionSuffix: suffix,
    revisionName: green,
    ...(blue ? { blue } : {}),
    admission: admitted,
    changeControl: {
      windows: layers.flatMap((l) => l.windows.map((w) => ({ layer: l.layer, text: w.text }))),
      freezes: freezes.map((f) => ({
        layer: f.layer,
        name: f.name,
        start: new Date(f.start).toISOString(),
        end: new Date(f.end).toISOString(),
        reason: f.reason,
      })),
      ...(opens !== undefined ? { nextOpening: new Date(opens).toISOString() } : {}),
      stops: input.stops ?? [],
    },
    findings,
    refused: refusedBecause.length > 0,
    refusedBecause,
    steps,
    writes: steps.flatMap((s) => (s.kind === 'arm' ? [s.write] : [])),
  };
}

/**
 * The revisions the retire step deactivates (as the retireRevisions activity decides): active ones
 * beyond the newest `keep` (green, created now, is the newest), unless protected or still carrying
 * traffic or a label.
 */
function retired(
  snapshot: AppSnapshot,
  keep: number,
  protect: string[],
  traffic: TrafficEntry[] = snapshot.traffic,
): string[] {
  const carrying = new Set(traffic.filter((t) => t.weight > 0 || t.label).map((t) => t.revisionName));
  const active = snapshot.revisions
    .filter((r) => r.active && !protect.includes(r.name))
    .sort((a, b) => (b.createdTime ?? '').localeCompare(a.createdTime ?? ''));
  const kept = new Set([
    ...protect,
    ...active.slice(0, Math.max(0, keep - protect.length)).map((r) => r.name),
  ]);
  return active.filter((r) => !kept.has(r.name) && !carrying.has(r.name)).map((r) => r.name);
}
